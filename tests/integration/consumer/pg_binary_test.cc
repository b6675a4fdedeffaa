// The consumer stages rows with binary COPY when the stage is typed as the contract maps: every
// contract type's binary form must store exactly what the text form stores (a real PostgreSQL
// reads both), fail the same values with the same SQLSTATE, and decline the values it cannot
// encode exactly (then the group is staged as text).
#include "consumer/pg_binary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/error.h"
#include "consumer/pg_text.h"
#include "consumer/target_schema.h"
#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::ColumnMeta;
using event::ColumnType;
using event::Row;
using event::Value;

std::vector<ColumnMeta> EveryType() {
  return {
      {"ID", ColumnType::kInt64, 0, 0, 0, false, -5, {}},
      {"I32", ColumnType::kInt32, 0, 0, 0, true, 4, {}},
      {"DEC", ColumnType::kDecimal, 20, 4, 0, true, 3, {}},
      {"BIGDEC", ColumnType::kDecimalText, 0, 0, 0, true, 3, {}},
      {"F32", ColumnType::kFloat32, 0, 0, 0, true, 7, {}},
      {"F64", ColumnType::kFloat64, 0, 0, 0, true, 8, {}},
      {"VC", ColumnType::kString, 0, 0, 12, true, 12, {}},
      {"TXT", ColumnType::kString, 0, 0, 0, true, -1, {}},
      {"BIN", ColumnType::kBytes, 0, 0, 0, true, -3, {}},
      {"D", ColumnType::kDate, 0, 0, 0, true, 91, {}},
      {"TS", ColumnType::kTimestamp, 0, 0, 0, true, 93, {}},
      {"TSTZ", ColumnType::kTimestampTz, 0, 0, 0, true, 93, {}},
      {"B", ColumnType::kBoolean, 0, 0, 0, true, -7, {}},
      {"U", ColumnType::kUuid, 0, 0, 0, true, -11, {}},
      {"OTHER", ColumnType::kOther, 0, 0, 0, true, 1111, {}},
  };
}

std::string CreateSql(const std::string& name, const std::vector<ColumnMeta>& columns) {
  std::string sql = "CREATE TABLE " + name + " (";
  for (size_t c = 0; c < columns.size(); ++c) {
    sql += (c > 0 ? ", " : "") + consumer::TargetColumnName(columns[c].name) + " " +
           event::PostgresType(columns[c]);
  }
  return sql + ")";
}

std::string TextLine(const std::vector<ColumnMeta>& columns, const Row& row) {
  std::string line;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (c > 0) line.push_back('\t');
    consumer::AppendCopyValue(line, columns[c], row[c]);
  }
  return line + "\n";
}

// The binary row, or "" when a value has no binary form.
std::string BinaryRow(const std::vector<ColumnMeta>& columns, const Row& row) {
  std::string out;
  consumer::AppendBinaryFieldCount(out, static_cast<int16_t>(columns.size()));
  for (size_t c = 0; c < columns.size(); ++c) {
    if (!consumer::AppendBinaryValue(out, columns[c], row[c])) return {};
  }
  return out;
}

std::string Binary(const std::string& rows) {
  std::string data;
  consumer::AppendBinaryCopyHeader(data);
  data += rows;
  consumer::AppendBinaryCopyTrailer(data);
  return data;
}

// A row of `columns` with id `id`, every other column NULL but column `c` = `value`.
Row RowWith(size_t width, int64_t id, size_t c, Value value) {
  Row row(width);
  row[0] = id;
  row[c] = std::move(value);
  return row;
}

TEST_F(ConsumerTest, BinaryStagingStoresWhatTextStagingStores) {
  const std::vector<ColumnMeta> columns = EveryType();
  for (const ColumnMeta& column : columns) {
    EXPECT_TRUE(consumer::BinaryCopyFits(column.type, consumer::CanonicalPgType(column)))
        << column.name;
  }
  pg::Connection db(url_, "test");
  db.Exec(CreateSql("via_text", columns));
  db.Exec(CreateSql("via_binary", columns));
  const size_t width = columns.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::pair<size_t, Value>> values = {
      // integers
      {1, int64_t{0}},
      {1, int64_t{-2147483648}},
      {1, int64_t{2147483647}},
      // numeric(20,4): rounding past the scale, zeros, signs, exponents, point forms
      {2, std::string("0")},
      {2, std::string("-0.00")},
      {2, std::string("12.34565")},
      {2, std::string("-12.34564")},
      {2, std::string("1e3")},
      {2, std::string("1.5E-2")},
      {2, std::string(".5")},
      {2, std::string("5.")},
      {2, std::string("+7")},
      {2, std::string("0000123.4500")},
      {2, std::string("9999999999999999.9999")},
      {2, std::string("-0.00005")},
      {2, std::string("0.00005")},
      // numeric without typmod: big, tiny, trailing zeros kept in the scale
      {3, std::string("123456789012345678901234567890123456789012345678901234567890")},
      {3, std::string("-0.000000000000000000000000000000000000000001")},
      {3, std::string("1.000000")},
      {3, std::string("100000000")},
      {3, std::string("1e-20")},
      {3, std::string("-7.25e+40")},
      {3, std::string("10000.0001")},
      {3, std::string("0.0001")},
      // real and double
      {4, 1.5},
      {4, -0.0},
      {4, nan},
      {4, inf},
      {4, -inf},
      {4, 3.4028234663852886e38},
      {4, 1.401298464324817e-45},
      {5, 0.1},
      {5, -0.0},
      {5, nan},
      {5, -inf},
      {5, 2.2250738585072014e-308},
      {5, 4.9406564584124654e-324},
      {5, 1.7976931348623157e308},
      // text: COPY's special characters, Unicode, trailing spaces within and over the length
      {6, std::string("tab\there")},
      {6, std::string("back\\slash")},
      {6, std::string("ñandú €")},
      {6, std::string("twelve chars")},
      {6, std::string("twelve chars   ")},
      {7, std::string("line\nbreak\r\n")},
      {7, std::string("\\N")},
      {7, std::string("")},
      {7, std::string(2100, 'x')},
      // bytes, including NUL and high bytes
      {8, std::string("\0\x01\xff\\\n", 5)},
      {8, std::string()},
      // dates and timestamps around both epochs
      {9, int64_t{0}},
      {9, int64_t{10957}},
      {9, int64_t{-1}},
      {9, int64_t{-719162}},
      {9, int64_t{2932896}},
      {10, int64_t{0}},
      {10, int64_t{946684800000000}},
      {10, int64_t{-1}},
      {10, int64_t{1795000000123456}},
      {10, int64_t{-62135596800000000}},
      {11, int64_t{0}},
      {11, int64_t{-123456789}},
      {11, int64_t{1795000000000001}},
      // boolean, uuid, other
      {12, true},
      {12, false},
      {13, std::string("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")},
      {13, std::string("A0EEBC999C0B4EF8BB6D6BB9BD380A11")},
      {14, std::string("{\"json\": [1, 2]}")},
  };
  std::string text;
  std::string binary;
  int64_t id = 0;
  for (auto& [c, value] : values) {
    ++id;
    const Row row = RowWith(width, id, c, value);
    text += TextLine(columns, row);
    const std::string record = BinaryRow(columns, row);
    ASSERT_FALSE(record.empty()) << "no binary form for value " << id << " of " << columns[c].name;
    binary += record;
  }
  // A row with every column set.
  ++id;
  Row full = {id,
              int64_t{42},
              std::string("-3.1416"),
              std::string("2.5e1"),
              0.25,
              -1e100,
              std::string("abc"),
              std::string("def"),
              std::string("\x10\x20", 2),
              int64_t{20000},
              int64_t{1795000000000000},
              int64_t{1795000000000000},
              false,
              std::string("00000000-0000-0000-0000-000000000001"),
              std::string("x")};
  text += TextLine(columns, full);
  binary += BinaryRow(columns, full);
  EXPECT_EQ(db.CopyIn("COPY via_text FROM STDIN", text), id);
  EXPECT_EQ(db.CopyIn("COPY via_binary FROM STDIN (FORMAT binary)", Binary(binary)), id);
  const std::string read = "SELECT string_agg(t::text, E'\\n' ORDER BY id) FROM ";
  const std::string via_text(db.Exec(read + "via_text t").Get(0, 0));
  EXPECT_EQ(std::string(db.Exec(read + "via_binary t").Get(0, 0)), via_text);
  // The comparison compares something: rounding and scale as numeric_in gives them.
  EXPECT_EQ(std::string(db.Exec("SELECT string_agg(dec::text, ' ' ORDER BY id) FROM via_binary "
                                "WHERE id BETWEEN 4 AND 11")
                            .Get(0, 0)),
            "0.0000 0.0000 12.3457 -12.3456 1000.0000 0.0150 0.5000 5.0000");
  EXPECT_EQ(std::string(db.Exec("SELECT bigdec::text FROM via_binary WHERE bigdec = 1").Get(0, 0)),
            "1.000000");
}

TEST_F(ConsumerTest, BinaryStagingFailsTheValuesTextStagingFails) {
  const std::vector<ColumnMeta> columns = EveryType();
  pg::Connection db(url_, "test");
  db.Exec(CreateSql("via_text", columns));
  db.Exec(CreateSql("via_binary", columns));
  const size_t width = columns.size();
  const std::vector<std::pair<size_t, Value>> bad = {
      {6, std::string("thirteen char")},       // over varchar(12): 22001
      {2, std::string("12345678901234567")},   // over numeric(20,4): 22003
      {7, std::string("bad \xc3\x28 utf-8")},  // 22021
      {9, int64_t{3'000'000'000}},             // beyond int32 days: declined
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    const Row row = RowWith(width, 1, bad[i].first, bad[i].second);
    std::string text_code = "none";
    std::string binary_code = "none";
    try {
      db.CopyIn("COPY via_text FROM STDIN", TextLine(columns, row));
    } catch (const Error& e) {
      text_code = e.code();
    }
    const std::string record = BinaryRow(columns, row);
    if (record.empty()) {
      binary_code = "declined";
    } else {
      try {
        db.CopyIn("COPY via_binary FROM STDIN (FORMAT binary)", Binary(record));
      } catch (const Error& e) {
        binary_code = e.code();
      }
    }
    if (i < 3) {
      EXPECT_NE(text_code, "none") << i;
      EXPECT_EQ(binary_code, text_code) << i;
    } else {
      EXPECT_EQ(binary_code, "declined") << i;
    }
  }
  // NUL in text: our own 22021 before PostgreSQL sees it, in both forms.
  const Row nul = RowWith(width, 1, 7, std::string("a\0b", 3));
  try {
    TextLine(columns, nul);
    ADD_FAILURE() << "text accepted a NUL";
  } catch (const PermanentError& e) {
    EXPECT_EQ(e.code(), "22021");
  }
  try {
    BinaryRow(columns, nul);
    ADD_FAILURE() << "binary accepted a NUL";
  } catch (const PermanentError& e) {
    EXPECT_EQ(e.code(), "22021");
  }
}

TEST(PgBinary, DeclinesWhatItCannotEncodeExactly) {
  ColumnMeta f32{"F", ColumnType::kFloat32, 0, 0, 0, true, 7, {}};
  ColumnMeta i32{"I", ColumnType::kInt32, 0, 0, 0, true, 4, {}};
  ColumnMeta u{"U", ColumnType::kUuid, 0, 0, 0, true, -11, {}};
  std::string out;
  EXPECT_FALSE(consumer::AppendBinaryValue(out, f32, 0.1));  // not a float: text judges it
  EXPECT_FALSE(consumer::AppendBinaryValue(out, f32, 1e300));
  EXPECT_FALSE(consumer::AppendBinaryValue(out, i32, int64_t{2147483648}));
  EXPECT_FALSE(
      consumer::AppendBinaryValue(out, u, std::string("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}")));
  EXPECT_FALSE(consumer::AppendBinaryValue(out, u, std::string("not a uuid")));
  for (const char* text : {"NaN", "Infinity", " 1", "1 ", "", "-", ".", "1e", "1e+", "1.2.3",
                           "0x10", "1e1001", "12a"}) {
    EXPECT_FALSE(consumer::AppendBinaryNumeric(out, text)) << text;
  }
  EXPECT_EQ(out, "");
  EXPECT_FALSE(consumer::BinaryCopyFits(ColumnType::kInt32, "bigint"));
  EXPECT_FALSE(consumer::BinaryCopyFits(ColumnType::kString, "character(5)"));
  EXPECT_TRUE(consumer::BinaryCopyFits(ColumnType::kDecimal, "numeric(14,2)"));
}

}  // namespace
}  // namespace cdc::testing

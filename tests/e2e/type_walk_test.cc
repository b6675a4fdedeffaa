// Every PostgreSQL column type with its extreme values, through a real trigger and the whole
// pipeline (psqlODBC source -> cdc-producer -> dev broker -> cdc-consumer -> PostgreSQL replica),
// in both formats: the application's writes are never refused, and every value arrives exactly -
// or, where the contract cannot carry it, the row is dead-lettered with the reason while the
// table keeps streaming. The walked tables capture with before_image: every update's `before`
// is, value for value, the row's image before it (the insert's `after`); the example subscriber
// prints every event as the contract's JSON, infinities and five-digit years included.
#include <gtest/gtest.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "tests/e2e/replica_fixture.h"
#include "tests/harness/odbc_sources.h"

namespace cdc::testing {
namespace {

// The walk. Values are each type's extremes and the values the tester found changed or refused.
const std::vector<TypeCase>& Cases() {
  static const std::vector<TypeCase> kCases = {
      {"i2", "smallint", {"-32768", "32767", "0"}},
      {"i4", "integer", {"-2147483648", "2147483647"}},
      {"i8", "bigint", {"-9223372036854775808", "9223372036854775807"}},
      {"o", "oid", {"4294967295", "0"}},
      {"n",
       "numeric",
       {"'123456789012345678901234567890123456789012345678901234567890.123456789012345678901'",
        "'-0.000000000000000000000000000000000000000000000001'", "'1e1000'::numeric", "0"}},
      {"n12", "numeric(12,2)", {"'9999999999.99'", "'-9999999999.99'", "'0.01'"}},
      {"n50",
       "numeric(50,10)",
       {"'9999999999999999999999999999999999999999.9999999999'", "'-0.0000000001'"}},
      {"nneg", "numeric(5,-2)", {"9999900", "-100"}},
      {"r", "real", {"'3.4028235e38'", "'-1.4e-45'", "'NaN'", "'Infinity'", "'-0'", "'0.1'"}},
      {"d",
       "double precision",
       {"'1.7976931348623157e308'", "'5e-324'", "'NaN'", "'-Infinity'", "'-0'",
        "'0.30000000000000004'"}},
      {"m", "money", {"'-92233720368547758.08'", "'92233720368547758.07'", "0"}, "%s::numeric"},
      {"vc", "varchar", {"repeat('x', 100000)", "''", "'ünïcødé 🚀'"}},
      {"vc10", "varchar(10)", {"'0123456789'", "'ßßßßßßßßßß'"}},
      {"c5", "char(5)", {"'ab'", "'abcde'", "'  '"}},
      {"qc", "\"char\"", {"'z'"}},
      {"t", "text", {"repeat('é', 50000)", "E'line\\nbreak\\ttab|pipe\\\\ \"q\"'"}},
      {"nm", "name", {"repeat('n', 63)"}},
      {"ba", "bytea", {"'\\x00ff'::bytea", "''::bytea", "decode(repeat('ab', 50000), 'hex')"}},
      {"b", "boolean", {"true", "false"}},
      {"bt", "bit(3)", {"B'101'"}},
      {"vb", "varbit", {"B'1'", "repeat('10', 500)::varbit"}},
      {"dt",
       "date",
       {"'infinity'", "'-infinity'", "'4714-11-24 BC'", "'5874897-12-31'", "'0001-01-01'",
        "'12026-06-01'"}},
      {"tm", "time", {"'24:00:00'", "'00:00:00'", "'23:59:59.999999'"}},
      {"ttz", "timetz", {"'12:34:56.789+15:59'", "'00:00:00-15:59'"}},
      {"ts",
       "timestamp",
       {"'infinity'", "'-infinity'", "'4714-11-24 00:00:00 BC'", "'294246-12-31 23:59:59.999999'",
        "'0044-03-15 10:00:00.5 BC'", "'2026-12-07 05:00:00.000001'"}},
      {"tz",
       "timestamptz",
       {"'infinity'", "'-infinity'", "'4714-11-24 00:00:00+00 BC'",
        "'294246-12-31 23:59:59.999999+00'", "'2026-12-07 05:00:00.5+05:30'"}},
      {"iv", "interval", {"'178000000 years'", "'-178000000 years'", "'1 day -00:00:00.000001'"}},
      {"ivd", "interval day to second(2)", {"'1 day 02:03:04.56'"}},
      {"u",
       "uuid",
       {"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"}},
      {"j",
       "json",
       {R"('{"a":  [1, 2.5e300, "x"]}')", "('\"' || repeat('j', 100000) || '\"')::json"}},
      {"jb", "jsonb", {R"('{"b": 1, "a": [true, null, 1e-300]}')", "'[]'"}},
      {"x", "xml", {R"('<a b="1">t &amp; u</a>')"}},
      {"ia", "integer[]", {"'{1,NULL,-2147483648}'", "'{{1,2},{3,4}}'", "'[0:1]={5,6}'"}},
      {"ta", "text[]", {R"('{"a b","c,d","\\\"",NULL}')"}},
      {"ip", "inet", {"'::ffff:1.2.3.4/128'", "'10.0.0.1/8'"}},
      {"cd", "cidr", {"'10.0.0.0/8'"}},
      {"mac", "macaddr", {"'08:00:2b:01:02:03'"}},
      {"pt", "point", {"'(1e308,-1e308)'"}},
      {"bx", "box", {"'((0,0),(1,1))'"}},
      {"tsv", "tsvector", {"'a:1 b:2'"}},
      {"r4", "int4range", {"'empty'", "'[1,5)'", "'(,)'"}},
      {"tsr", "tstzrange", {"'[2026-01-01,infinity)'"}},
      {"mr", "int4multirange", {"'{[1,3),[5,7)}'"}},
      {"mo", "walk.mood", {"'happy'", "'sad'"}},
      {"pi", "walk.posint", {"2147483647"}},
      {"dv", "walk.short_text", {"'abcde'"}},
      // Arrays of domains: the base type's array (box's delimiter is ';'; a float or date array
      // cast to text would take the writer session's extra_float_digits and DateStyle).
      {"dba", "walk.dbox[]", {"ARRAY['((1,1),(0,0))'::box, '((3,3),(2,2))'::box]"}},
      {"dfa", "walk.dfloat[]", {"ARRAY[0.30000000000000004, 1e-320]::float8[]"}},
      {"pl", "pg_lsn", {"'FFFFFFFF/FFFFFFFF'"}},
      {"x8", "xid8", {"'18446744073709551615'"}},
      {"\"a.b c\"", "text", {"'a name with a dot and a space'"}},  // names stream too
  };
  return kCases;
}

size_t Rows(const std::vector<TypeCase>& cases) {
  size_t rows = 0;
  for (const TypeCase& c : cases) rows = std::max(rows, c.values.size());
  return rows;
}

// SQLite: every affinity and the declared types applications use, with what the replica must
// hold (format('%s') of its column) - SQLite enforces no declared length, width or type.
struct SqliteCase {
  std::string column;
  std::string type;
  std::vector<std::pair<std::string, std::string>> values;  // {SQL literal, replica text}
};

const std::vector<SqliteCase>& SqliteCases() {
  static const std::vector<SqliteCase> kCases = {
      {"i",
       "INTEGER",
       {{"9223372036854775807", "9223372036854775807"},
        {"-9223372036854775808", "-9223372036854775808"},
        {"0", "0"}}},
      {"ib", "INT UNSIGNED BIG", {{"9223372036854775807", "9223372036854775807"}}},
      {"vc", "VARCHAR(10)", {{"'longer than its declared ten'", "longer than its declared ten"}}},
      {"tx", "TEXT", {{"'ünïcødé 🚀 | \"q\"'", "ünïcødé 🚀 | \"q\""}, {"''", ""}}},
      {"dc", "DECIMAL(12,2)", {{"1.25", "1.25"}, {"9999999999.99", "9999999999.99"}}},
      {"nu",
       "NUMERIC",
       {{"9223372036854775807", "9223372036854775807"}, {"0.5", "0.5"}, {"-12", "-12"}}},
      {"re",
       "REAL",
       {{"0.1 + 0.2", "0.30000000000000004"},
        {"1.7976931348623157e308", "1.7976931348623157e+308"},
        {"4.9406564584124654e-324", "5e-324"}}},
      {"db", "DOUBLE PRECISION", {{"-1.5", "-1.5"}, {"0.1", "0.1"}}},
      {"fl", "FLOAT", {{"123456789.123456789", "123456789.12345679"}}},
      {"bo", "BOOLEAN", {{"1", "t"}, {"0", "f"}}},
      {"bl", "BLOB", {{"x'00ff10'", "\\x00ff10"}, {"x''", "\\x"}}},
      // SQLite keeps text and numbers in a BLOB column as they are: they arrive as their bytes.
      {"bt", "BLOB", {{"'cafe'", "\\x63616665"}, {"12", "\\x3132"}, {"'00'", "\\x3030"}}},
      {"dt", "DATE", {{"'2026-12-07'", "2026-12-07"}, {"'0001-01-01'", "0001-01-01"}}},
      {"ts", "TIMESTAMP", {{"'2026-12-07 05:00:00.123'", "2026-12-07 05:00:00.123"}}},
      {"dtt", "DATETIME", {{"'9999-12-31 23:59:59'", "9999-12-31 23:59:59"}}},
      {"js", "JSON", {{"'{\"a\": [1, 2]}'", "{\"a\": [1, 2]}"}}},
      {"cl", "CLOB", {{"'clob text'", "clob text"}}},
      {"nt", "", {{"'no declared type'", "no declared type"}, {"42", "42"}}},
      {"\"d.o.t\"", "TEXT", {{"'dotted'", "dotted"}}},  // sqliteodbc describes it as "t"
  };
  return kCases;
}

class TypeWalkTest : public ReplicaPipelineTest {};

TEST_P(TypeWalkTest, EveryPostgresTypeAndExtremeValueArrivesExactlyAndNoWriteIsRefused) {
  cluster_.CreateDatabase("src");
  std::string create = "CREATE TABLE walk.t (id integer PRIMARY KEY";
  for (const TypeCase& c : Cases()) create += ", " + c.column + " " + c.type;
  cluster_.Psql("src",
                "CREATE SCHEMA walk; CREATE TYPE walk.mood AS ENUM ('sad', 'happy'); "
                "CREATE DOMAIN walk.posint AS integer CHECK (VALUE > 0); "
                "CREATE DOMAIN walk.short_text AS varchar(5) CHECK (VALUE <> ''); "
                "CREATE DOMAIN walk.dbox AS box; CREATE DOMAIN walk.dfloat AS float8; "
                "CREATE COLLATION walk.ci (provider = icu, locale = 'und-u-ks-level2', "
                "deterministic = false); "
                "CREATE TABLE walk.icu (id text COLLATE walk.ci PRIMARY KEY, v integer); " +
                    create +
                    "); CREATE TABLE walk.dlq (id integer PRIMARY KEY, ts timestamp, n numeric)");
  WriteConfig(cluster_.OdbcConnectionString("src"),
              "    - name: walk.t\n      topic: cdc.walk.t\n      before_image: true\n"
              "    - name: walk.dlq\n      topic: cdc.walk.dlq\n"
              "    - name: walk.icu\n      topic: cdc.walk.icu\n");

  pqxx::connection app(cluster_.Url("src"));
  auto execute = [&](const std::string& sql) -> std::string {
    try {
      pqxx::work w(app);
      w.exec(sql);
      w.commit();
      return "";
    } catch (const std::exception& e) {
      return e.what();
    }
  };
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> values(Rows(Cases()));
  for (const TypeCase& c : Cases()) {
    columns.push_back(c.column);
    for (size_t row = 0; row < values.size(); ++row) {
      values[row].push_back(row < c.values.size() ? c.values[row] : "NULL");
    }
  }
  Workload("walk.t", columns, values, execute);
  // What the contract cannot carry: a timestamp past the microseconds' range, a numeric NaN.
  Workload(
      "walk.dlq", {"ts", "n"},
      {{"'294276-12-31 23:59:59.999999'", "1"}, {"'2026-01-01'", "'NaN'"}, {"'2026-01-01'", "3"}},
      execute);
  // A key change that a nondeterministic collation calls equal is a key change to the replica.
  for (const char* sql : {"INSERT INTO walk.icu VALUES ('Ab', 1), ('q', 2)",
                          "UPDATE walk.icu SET id = 'AB' WHERE id = 'ab'",
                          "UPDATE walk.icu SET id = 'Q', v = 9 WHERE id = 'q'"}) {
    const std::string error = execute(sql);
    if (!error.empty()) refusals_.push_back(error);
  }
  EXPECT_TRUE(refusals_.empty()) << refusals_.front();

  ExpectReplica("replica.t", "cdc.walk.t", Cases(), Render(cluster_, "src", "walk.t", Cases()));
  ExpectBeforeImages("cdc.walk.t", Rows(Cases()));
  EXPECT_GT(ExpectSubscriberMatchesTheContract("cdc.walk.t"), Rows(Cases()));
  EXPECT_TRUE(ReplicaIds("replica.icu", "AB,Q")) << TailFile(dir_.File("producer.log"));
  // The table kept streaming behind its dead letters: row 1, inserted with NaN (dead-lettered),
  // arrived with its valid update and went with its delete. Row 2's update to the out-of-range
  // value was dead-lettered, so the replica keeps its last good image; 0/1000 never had one.
  EXPECT_TRUE(ReplicaIds("replica.dlq", "2")) << TailFile(dir_.File("producer.log"));
  const std::vector<std::string> reasons = DeadLetters("walk.dlq");
  const auto count = [&](const std::string& text) {
    return std::count_if(reasons.begin(), reasons.end(), [&](const std::string& reason) {
      return reason.find(text) != std::string::npos;
    });
  };
  EXPECT_GE(count("294276-12-31 23:59:59.999999\\\" is not in range"), 2) << reasons.size();
  EXPECT_GE(count("\\\"NaN\\\" is not a decimal"), 2) << reasons.size();
}

TEST_P(TypeWalkTest, EverySqliteAffinityAndExtremeValueArrivesExactly) {
  SqliteSource source;
  odbc::Environment environment;
  odbc::Connection app(environment, source.ConnectionString() + "Timeout=20000;");
  std::string create = "CREATE TABLE t (id INTEGER PRIMARY KEY";
  std::vector<TypeCase> render;  // the replica's columns, rendered as they are
  std::vector<std::string> columns;
  size_t rows = 0;
  for (const SqliteCase& c : SqliteCases()) {
    create += ", " + c.column + " " + c.type;
    render.push_back({c.column, "", {}});
    columns.push_back(c.column);
    rows = std::max(rows, c.values.size());
  }
  app.Execute(create + ")");
  app.Execute("CREATE TABLE dlq (id INTEGER PRIMARY KEY, i INTEGER, d DECIMAL(12,2))");
  app.Execute("CREATE TABLE ut (id PRIMARY KEY, v INTEGER)");  // no declared type: 1 IS 1.0
  WriteConfig(source.ConnectionString(),
              "    - name: main.t\n      topic: cdc.main.t\n      before_image: true\n"
              "    - name: main.dlq\n      topic: cdc.main.dlq\n"
              "    - name: main.ut\n      topic: cdc.main.ut\n");

  std::vector<std::vector<std::string>> values(rows);
  std::vector<std::vector<std::string>> expected(rows);  // replica text per row, "NULL" for null
  for (const SqliteCase& c : SqliteCases()) {
    for (size_t row = 0; row < rows; ++row) {
      values[row].push_back(row < c.values.size() ? c.values[row].first : "NULL");
      expected[row].push_back(row < c.values.size() ? c.values[row].second : "");
    }
  }
  auto execute = [&](const std::string& sql) -> std::string {
    try {
      app.Execute(sql);
      return "";
    } catch (const std::exception& e) {
      return e.what();
    }
  };
  Workload("t", columns, values, execute);
  // Values the declared type cannot carry: text in an INTEGER column, a DECIMAL(12,2) holding
  // more fraction digits (SQLite enforces neither). Dead-lettered, never changed.
  Workload("dlq", {"i", "d"}, {{"'abc'", "1"}, {"1", "1.234"}, {"3", "3"}}, execute);
  for (const char* sql : {"INSERT INTO ut VALUES (1, 1)", "UPDATE ut SET id = 1.0 WHERE v = 1"}) {
    const std::string error = execute(sql);
    if (!error.empty()) refusals_.push_back(error);
  }
  EXPECT_TRUE(refusals_.empty()) << refusals_.front();

  // The expected final state: id 1000 holds row 1's values, id k >= 2 row k+1's.
  std::string rows_sql;
  auto add_row = [&](size_t id, size_t from) {
    rows_sql += std::string(rows_sql.empty() ? "" : ", ") + "(" + std::to_string(id);
    for (size_t c = 0; c < columns.size(); ++c) {
      const bool null = from >= SqliteCases()[c].values.size();
      std::string text = expected[from][c];
      std::string quoted = "'";
      for (char ch : text) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
      rows_sql += ", " + (null ? std::string("NULL::text") : quoted + "'::text");
    }
    rows_sql += ")";
  };
  for (size_t id = 2; id < rows; ++id) add_row(id, (id + 1) % rows);
  add_row(1000, 1);
  std::string names = "id";
  for (const std::string& column : columns) names += ", " + column;
  const std::string expected_json =
      Render(cluster_, "replica", "(VALUES " + rows_sql + ") v(" + names + ")", render);
  ExpectReplica("replica.t", "cdc.main.t", render, expected_json);
  ExpectBeforeImages("cdc.main.t", rows);
  EXPECT_GT(ExpectSubscriberMatchesTheContract("cdc.main.t"), rows);
  EXPECT_TRUE(ReplicaIds("replica.dlq", "2")) << TailFile(dir_.File("producer.log"));
  EXPECT_GE(DeadLetters("main.dlq").size(), 4u);
  EXPECT_TRUE(ReplicaIds("replica.ut", "1.0")) << TailFile(dir_.File("producer.log"));
}

INSTANTIATE_TEST_SUITE_P(Formats, TypeWalkTest, ::testing::Values("avro", "json"));

}  // namespace
}  // namespace cdc::testing

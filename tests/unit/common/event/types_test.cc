#include "common/event/types.h"

#include <gtest/gtest.h>
#include <sql.h>
#include <sqlext.h>

namespace cdc::event {
namespace {

struct MappingCase {
  const char* label;
  int sql_type;
  int64_t size;
  int digits;
  ColumnType expected;
  const char* postgres;
};

void PrintTo(const MappingCase& c, std::ostream* os) { *os << c.label; }

class OdbcTypeMapping : public ::testing::TestWithParam<MappingCase> {};

TEST_P(OdbcTypeMapping, MapsEveryRowOfTheTypeTable) {
  const MappingCase& c = GetParam();
  const ColumnMeta column = MapOdbcColumn("c", c.sql_type, c.size, c.digits, true);
  EXPECT_EQ(column.type, c.expected) << c.label << " -> " << ColumnTypeName(column.type);
  EXPECT_EQ(PostgresType(column), c.postgres) << c.label;
  EXPECT_EQ(column.source_sql_type, c.sql_type);
}

INSTANTIATE_TEST_SUITE_P(
    TypeTable, OdbcTypeMapping,
    ::testing::Values(
        MappingCase{"SMALLINT", SQL_SMALLINT, 5, 0, ColumnType::kInt32, "integer"},
        MappingCase{"INTEGER", SQL_INTEGER, 10, 0, ColumnType::kInt32, "integer"},
        MappingCase{"BIGINT", SQL_BIGINT, 19, 0, ColumnType::kInt64, "bigint"},
        MappingCase{"NUMERIC(12,2)", SQL_NUMERIC, 12, 2, ColumnType::kDecimal, "numeric(12,2)"},
        MappingCase{"DECIMAL(38,10)", SQL_DECIMAL, 38, 10, ColumnType::kDecimal, "numeric(38,10)"},
        MappingCase{"NUMBER(5,-2)", SQL_NUMERIC, 5, -2, ColumnType::kDecimal, "numeric(7,0)"},
        MappingCase{"NUMBER (no precision)", SQL_NUMERIC, 0, 0, ColumnType::kDecimalText,
                    "numeric"},
        MappingCase{"NUMERIC(50,5)", SQL_NUMERIC, 50, 5, ColumnType::kDecimalText, "numeric"},
        MappingCase{"REAL", SQL_REAL, 7, 0, ColumnType::kFloat32, "real"},
        MappingCase{"FLOAT", SQL_FLOAT, 15, 0, ColumnType::kFloat64, "double precision"},
        MappingCase{"DOUBLE", SQL_DOUBLE, 15, 0, ColumnType::kFloat64, "double precision"},
        MappingCase{"CHAR(3)", SQL_CHAR, 3, 0, ColumnType::kString, "varchar(3)"},
        MappingCase{"VARCHAR(40)", SQL_VARCHAR, 40, 0, ColumnType::kString, "varchar(40)"},
        MappingCase{"WCHAR(2)", SQL_WCHAR, 2, 0, ColumnType::kString, "varchar(2)"},
        MappingCase{"WVARCHAR(100)", SQL_WVARCHAR, 100, 0, ColumnType::kString, "varchar(100)"},
        MappingCase{"LONGVARCHAR (CLOB)", SQL_LONGVARCHAR, 2147483647, 0, ColumnType::kString,
                    "text"},
        MappingCase{"VARCHAR (unknown length)", SQL_VARCHAR, 0, 0, ColumnType::kString, "text"},
        MappingCase{"BINARY", SQL_BINARY, 16, 0, ColumnType::kBytes, "bytea"},
        MappingCase{"VARBINARY (RAW)", SQL_VARBINARY, 2000, 0, ColumnType::kBytes, "bytea"},
        MappingCase{"LONGVARBINARY (BLOB)", SQL_LONGVARBINARY, 0, 0, ColumnType::kBytes, "bytea"},
        MappingCase{"DATE", SQL_TYPE_DATE, 10, 0, ColumnType::kDate, "date"},
        MappingCase{"TIMESTAMP", SQL_TYPE_TIMESTAMP, 26, 6, ColumnType::kTimestamp, "timestamp"},
        MappingCase{"TIMESTAMP WITH TIME ZONE (ODBC 4)", 2014, 35, 6, ColumnType::kTimestampTz,
                    "timestamptz"},
        MappingCase{"DATETIMEOFFSET", -155, 34, 7, ColumnType::kTimestampTz, "timestamptz"},
        MappingCase{"BIT", SQL_BIT, 1, 0, ColumnType::kBoolean, "boolean"},
        MappingCase{"GUID", SQL_GUID, 36, 0, ColumnType::kUuid, "uuid"},
        MappingCase{"INTERVAL (anything else)", SQL_INTERVAL_DAY_TO_SECOND, 20, 6,
                    ColumnType::kOther, "text"}));

TEST(TableMeta, ColumnNamesTheReplicaCannotHoldAreNamed) {
  TableMeta table;
  table.schema = "s";
  table.table = "t";
  for (const char* name : {"id", "Note", "NOTE", "_cdc_seq", "_CDC_key", "a.b c", "_cdcx"}) {
    table.columns.emplace_back();
    table.columns.back().name = name;
  }
  table.columns.emplace_back();
  table.columns.back().name = std::string(63, 'k');  // the limit itself is fine
  table.columns.emplace_back();
  table.columns.back().name = std::string(62, 'k') + "\xc3\xa9";  // 64 bytes
  const std::vector<std::string> problems = ColumnNameProblems(table);
  ASSERT_EQ(problems.size(), 4u) << ::testing::PrintToString(problems);
  EXPECT_EQ(problems[0],
            "column \"NOTE\" of s.t: the replica names it \"note\", as it names \"Note\"");
  EXPECT_EQ(problems[1],
            "column \"_cdc_seq\" of s.t: names beginning with _cdc_ are reserved for the replica's "
            "metadata columns");
  EXPECT_NE(problems[2].find("\"_CDC_key\""), std::string::npos);
  EXPECT_NE(problems[3].find("64 bytes, over the replica's limit of 63"), std::string::npos);
}

TEST(TableMeta, FindsColumnsByName) {
  TableMeta table{"db", "SHOP", "ORDERS", {}, {0}};
  table.columns.resize(2);
  table.columns[0].name = "ID";
  table.columns[1].name = "NOTE";
  EXPECT_EQ(table.Find("NOTE"), 1u);
  EXPECT_FALSE(table.Find("note").has_value());  // exact, case-sensitive
  EXPECT_EQ(table.QualifiedName(), "SHOP.ORDERS");
}

}  // namespace
}  // namespace cdc::event

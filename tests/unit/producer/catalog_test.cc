// How catalog rows become event columns. On Oracle the rows are a fixture of what its ODBC
// driver reports, taken from sources (no Oracle runs here):
//   [docs]    Oracle ODBC Driver, "SQL data types" mapping tables (Oracle Database Development
//             Guide / Instant Client ODBC README): DATE -> SQL_TYPE_TIMESTAMP, NUMBER ->
//             SQL_DECIMAL, CLOB -> SQL_LONGVARCHAR, BLOB -> SQL_LONGVARBINARY, LONG ->
//             SQL_LONGVARCHAR, LONG RAW -> SQL_LONGVARBINARY, INTERVAL DAY TO SECOND ->
//             SQL_INTERVAL_DAY_TO_SECOND.
//   [scanner] duckdb/odbc-scanner's tests against the real driver: test/sql/oracle/
//             10_timestamp_with_time_zone.test and 11_timestamp_with_local_time_zone.test
//             (described as a plain TIMESTAMP, the value shifted to the session's TIME_ZONE),
//             04_float.test (FLOAT(126) described as a double).
//   [issue]   issue 30's review: NUMBER without precision reported as (38, NULL); INTERVAL makes
//             SQLNumResultCols fail; a trigger cannot use :NEW/:OLD of LONG or LONG RAW.
#include "producer/catalog.h"

#include <gtest/gtest.h>
#include <sql.h>
#include <sqlext.h>

#include "common/error.h"

namespace cdc::producer {
namespace {

using event::ColumnType;

CatalogColumn Oracle(const std::string& type_name, int sql_type, int64_t size,
                     std::optional<int> digits) {
  CatalogColumn column;
  column.name = "C";
  column.type_name = type_name;
  column.sql_type = sql_type;
  column.column_size = size;
  column.decimal_digits = digits.value_or(0);
  column.decimal_digits_null = !digits.has_value();
  return column;
}

TEST(OracleCatalog, TypesMapByTheNameTheDriverReports) {
  struct Case {
    CatalogColumn row;
    ColumnType type;
  };
  const std::vector<Case> cases = {
      {Oracle("VARCHAR2", SQL_VARCHAR, 40, std::nullopt), ColumnType::kString},     // [docs]
      {Oracle("DATE", SQL_TYPE_TIMESTAMP, 19, 0), ColumnType::kTimestamp},          // [docs]
      {Oracle("TIMESTAMP(6)", SQL_TYPE_TIMESTAMP, 26, 6), ColumnType::kTimestamp},  // [docs]
      {Oracle("TIMESTAMP(6) WITH TIME ZONE", SQL_TYPE_TIMESTAMP, 26, 6),            // [scanner]
       ColumnType::kTimestampTz},
      {Oracle("TIMESTAMP(9) WITH LOCAL TIME ZONE", SQL_TYPE_TIMESTAMP, 29, 9),  // [scanner]
       ColumnType::kTimestampTz},
      {Oracle("NUMBER", SQL_DECIMAL, 38, std::nullopt), ColumnType::kDecimalText},    // [issue]
      {Oracle("NUMBER", SQL_DECIMAL, 12, 2), ColumnType::kDecimal},                   // [docs]
      {Oracle("NUMBER", SQL_DECIMAL, 38, 0), ColumnType::kDecimal},                   // NUMBER(38)
      {Oracle("FLOAT", SQL_FLOAT, 126, std::nullopt), ColumnType::kDecimalText},      // [scanner]
      {Oracle("BINARY_DOUBLE", SQL_DOUBLE, 15, std::nullopt), ColumnType::kFloat64},  // [docs]
      {Oracle("CLOB", SQL_LONGVARCHAR, 2147483647, std::nullopt), ColumnType::kString},  // [docs]
      {Oracle("BLOB", SQL_LONGVARBINARY, 2147483647, std::nullopt), ColumnType::kBytes},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.row.type_name + " " + std::to_string(c.row.column_size) + "," +
                 (c.row.decimal_digits_null ? "NULL" : std::to_string(c.row.decimal_digits)));
    const event::ColumnMeta column = ColumnFromCatalog(SqlDialect::kOracle, c.row);
    EXPECT_EQ(column.type, c.type);
  }
  const event::ColumnMeta money =
      ColumnFromCatalog(SqlDialect::kOracle, Oracle("NUMBER", SQL_DECIMAL, 12, 2));
  EXPECT_EQ(money.precision, 12);
  EXPECT_EQ(money.scale, 2);
  // Elsewhere a NULL scale means nothing special (psqlODBC reports integers so).
  EXPECT_EQ(
      ColumnFromCatalog(SqlDialect::kPostgres, Oracle("NUMBER", SQL_DECIMAL, 12, std::nullopt))
          .type,
      ColumnType::kDecimal);
}

TEST(OracleCatalog, TypesATriggerOrTheDriverCannotHandleAreRefusedNamingTheColumn) {
  const std::vector<CatalogColumn> refused = {
      Oracle("LONG", SQL_LONGVARCHAR, 2147483647, std::nullopt),                 // [issue]
      Oracle("LONG RAW", SQL_LONGVARBINARY, 2147483647, std::nullopt),           // [issue]
      Oracle("INTERVAL DAY(2) TO SECOND(6)", SQL_INTERVAL_DAY_TO_SECOND, 0, 6),  // [issue]
      Oracle("INTERVAL YEAR(2) TO MONTH", SQL_INTERVAL_YEAR_TO_MONTH, 0, 0),     // [issue]
      Oracle("BFILE", SQL_LONGVARBINARY, 2147483647, std::nullopt),
      Oracle("XMLTYPE", SQL_LONGVARCHAR, 2147483647, std::nullopt),
      Oracle("JSON", SQL_LONGVARCHAR, 2147483647, std::nullopt),
      Oracle("SDO_GEOMETRY", 0, 0, std::nullopt),  // an object type: no ODBC type
  };
  for (const CatalogColumn& row : refused) {
    SCOPED_TRACE(row.type_name);
    try {
      ColumnFromCatalog(SqlDialect::kOracle, row);
      ADD_FAILURE() << "accepted";
    } catch (const PermanentError& e) {
      EXPECT_EQ(e.code(), "UNSUPPORTED_TYPE");
      EXPECT_NE(std::string(e.what()).find("column C (" + row.type_name + ")"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace cdc::producer

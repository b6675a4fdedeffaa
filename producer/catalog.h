// Table metadata from the source's ODBC catalog (SQLColumns, SQLPrimaryKeys), with the fix-ups
// each driver needs to report exact types (SQLite's declared DECIMAL(p,s) text, psqlODBC's
// unconstrained numeric, bool and timestamptz).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/event/types.h"
#include "common/odbc/odbc.h"
#include "common/sql_quote.h"
#include "producer/dialect.h"

namespace cdc::producer {

// One row of SQLColumns, as the driver reports it.
struct CatalogColumn {
  std::string name;
  int sql_type = 0;
  std::string type_name;
  int64_t column_size = 0;
  int decimal_digits = 0;
  bool decimal_digits_null = false;  // DECIMAL_DIGITS was NULL (Oracle's NUMBER without scale)
  bool nullable = true;
  int ordinal = 0;
  std::optional<int> pg_typmod;  // psqlODBC's extra TYPMOD column (-1 = unconstrained)
};

// The event column for a catalog row of `dialect` (pure; exposed for tests). On Oracle, keyed on
// the type name the driver reports: time-zone types become instants (the driver describes them
// as plain timestamps shifted to the session's time zone, which SessionSetup pins to UTC), NUMBER
// without a scale and FLOAT(p) exact decimal text, and a type a trigger cannot copy or the driver
// cannot read (LONG, LONG RAW, INTERVAL, BFILE, XMLTYPE, JSON, object and collection types)
// throws PermanentError("UNSUPPORTED_TYPE") naming the column.
event::ColumnMeta ColumnFromCatalog(SqlDialect dialect, const CatalogColumn& column);

// SQLite's column affinity for a declared type, by SQLite's rules (datatype3.html, 3.1):
// "INTEGER", "TEXT", "BLOB" (also no type), "REAL" or "NUMERIC".
std::string SqliteAffinity(std::string_view declared_type);

// A SQLite column as its declaration describes it, for DDL written for another database (which
// enforces what SQLite does not): INTEGER/SMALLINT/TINYINT as 32-bit, VARCHAR(n) with its length.
event::ColumnMeta SqliteDeclared(const event::ColumnMeta& column);

// Reads `name`'s columns in ordinal order and its primary key - of exactly that table: the
// catalog's search patterns (`_`, `%`) never pull in another table's columns. `key_override` (the
// config's key list) replaces the catalog's primary key. Throws PermanentError("TABLE") when the
// table does not exist or a name without a schema exists in several schemas,
// PermanentError("KEY") when it has no key (naming `key_setting`) or a key column does not exist.
event::TableMeta ReadTableMeta(odbc::Connection& connection, SqlDialect dialect,
                               const TableName& name, const std::vector<std::string>& key_override,
                               const std::string& key_setting);

// Only the columns (no key), e.g. of a change table.
std::vector<event::ColumnMeta> ReadColumns(odbc::Connection& connection, SqlDialect dialect,
                                           const TableName& name);

}  // namespace cdc::producer

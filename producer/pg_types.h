// PostgreSQL column types from pg_catalog. psqlODBC's SQLColumns reports many types as
// varchar(255) (unbounded varchar, json, jsonb, interval, arrays, ranges, enums...) and money as
// a float, so neither a change table's column nor the event type can be taken from it: both come
// from the exact type here. A domain counts as its base type (its constraints are the source
// table's business, and a constraint added to the domain later must not fail on old images kept
// in a change table).
#pragma once

#include <string>
#include <vector>

#include "common/event/types.h"
#include "common/odbc/odbc.h"

namespace cdc::producer {

struct PgColumnType {
  std::string column;     // attname
  std::string type_name;  // pg_type.typname of the (base) type: "int4", "_int4", "numeric", "mood"
  int typmod = -1;        // atttypmod (or the domain's typtypmod); -1 = no modifier
  std::string formatted;  // format_type(type, typmod): "character varying(10)", "integer[]"
};

// The columns of exactly `schema`.`table`, in attnum order (dropped columns skipped).
std::vector<PgColumnType> ReadPgColumnTypes(odbc::Connection& connection, const std::string& schema,
                                            const std::string& table);

// The event column for a PostgreSQL column of type `type` (pure). Integers, numeric (with or
// without typmod), float4/8, char/varchar (length from the typmod; text, name and citext
// unbounded), bytea, bool, date, timestamp, timestamptz and uuid map to their event types; money
// becomes exact decimal text (its change-table column is numeric); every other type travels as
// text (kOther). oid (unsigned 32-bit) is an int64.
event::ColumnMeta ColumnFromPgType(std::string name, const PgColumnType& type, int source_sql_type,
                                   bool nullable);

// The change-table column type for a PostgreSQL column: its exact type (so every value the
// table accepts, the change table accepts), except money, kept as numeric (exact, and readable
// without the session's lc_monetary).
std::string PgChangeColumnType(const event::ColumnMeta& column);

}  // namespace cdc::producer

// Is a change table and its trigger(s) up to date with its table? What `cdc-producer check`
// reports (and `run` logs at a table's start): columns the table has and the change table lacks
// (with before_image: their old-image columns too),
// retyped columns, and a trigger that is not the one `ddl` would generate now (e.g. one still
// copying a column dropped from the table: PostgreSQL and Oracle then refuse every write). A
// dropped column left in the change table is expected (null from then on). Oracle's trigger text
// is not compared (it cannot run here).
#pragma once

#include <string>
#include <vector>

#include "common/odbc/odbc.h"
#include "producer/ddl.h"
#include "producer/dialect.h"

namespace cdc::producer {

// PostgreSQL: `change_table` with the schema an unqualified name is created in (current_schema()),
// as `ddl` names it in the trigger function. Other dialects: unchanged.
TableName QualifiedChangeTable(odbc::Connection& connection, SqlDialect dialect,
                               TableName change_table);

// What differs, one line each (empty: up to date). Throws like ReadTableMeta.
std::vector<std::string> ChangeTableDrift(odbc::Connection& connection, SqlDialect dialect,
                                          const TableName& table, const TableName& change_table,
                                          const std::vector<std::string>& key_override,
                                          const std::string& key_setting,
                                          const CaptureOptions& options);

}  // namespace cdc::producer

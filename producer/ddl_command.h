// `cdc-producer ddl`: prints or applies the change tables and capture triggers of the configured
// tables, evolves existing ones, runs an --alter with them in one transaction, and on PostgreSQL
// installs the DDL guard (ddl_guard.h) where the role may.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "producer/dialect.h"
#include "producer/settings.h"

namespace cdc::producer {

struct DdlOptions {
  std::vector<std::string> tables;  // SCHEMA.TABLE; empty = every configured table
  bool apply = false;               // execute instead of printing
  // Write the statements for this dialect instead of the source's: the tables' columns are read
  // from the source (a copy with the same tables) and rendered for a database the tool cannot
  // reach, e.g. to review Oracle DDL or ship it in an init script. Print only.
  std::optional<SqlDialect> target_dialect;
  // Place the tables and change tables in this schema in the printed statements. Print only.
  std::string target_schema;
  // A schema change of the one selected table (e.g. "ALTER TABLE t DROP COLUMN c"), run with
  // the change table's evolution in one transaction: the triggers are dropped first, the
  // statement runs, the change table and triggers are generated from the table as it is then.
  // No write ever meets a trigger that names a dropped or renamed column. With --apply only;
  // not on Oracle (its DDL commits by itself).
  std::string alter;
};

// Prints (or with `apply` executes) the change-table DDL for the selected tables. Returns 0, or
// 1 when a table cannot be read or a statement fails. Throws ConfigError when `apply` is asked
// together with a target dialect other than the source's or a target schema, and when `alter`
// is asked without `apply`, for other than one table, or on Oracle.
int PrintOrApplyDdl(const ProducerSettings& settings, const DdlOptions& options,
                    const Logging& logging, std::ostream& out);

}  // namespace cdc::producer

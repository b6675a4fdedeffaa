// The producer's commands, wired from validated settings. main() parses the command line and
// the configuration and calls one of these; each returns the process exit code.
#pragma once

#include <iosfwd>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/log.h"
#include "producer/dialect.h"
#include "producer/settings.h"

namespace cdc::producer {

// Snapshot where needed, then stream every table until `stop`; flushes, writes the final
// checkpoints and returns 0 (1 after a fatal error). `on_fatal` is called from a worker thread
// that hit a fatal error so that main can request stop.
int RunProducer(const config::Config& config, const ProducerSettings& settings,
                const Logging& logging, std::stop_token stop,
                const std::function<void()>& on_fatal);

// Validates the source (connection, tables, change tables) and Kafka; prints a report to `out`.
// Returns 0 when everything is usable, else 1.
int CheckProducer(const config::Config& config, const ProducerSettings& settings,
                  const Logging& logging, std::ostream& out);

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

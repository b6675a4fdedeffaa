// PostgreSQL's DDL guard: an event trigger that refuses a plain ALTER TABLE which would break a
// capture trigger (drop, rename or retype a column the trigger function names) - the DBA's
// statement fails with the command to use instead, never the application's writes. Capture
// triggers carry kCaptureTriggerArgument; when one is created the guard records the table's
// columns (number, name, type) as the trigger's comment, and after every ALTER TABLE of a table
// with such a trigger it compares them. `ddl --apply --alter` drops the triggers before its
// ALTER, so it passes. Creating an event trigger needs a superuser (or a managed service's
// equivalent); without it `ddl --apply` says so and the table relies on `--alter`. SQLite needs
// no guard (it refuses to drop a column a trigger names and rewrites triggers on a rename).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/odbc/odbc.h"
#include "producer/ddl.h"

namespace cdc::producer {

// The argument the PostgreSQL capture trigger is created with (its function ignores it).
inline constexpr std::string_view kCaptureTriggerArgument = "cdc-capture";
// The guard's event trigger (one per database).
inline constexpr std::string_view kDdlGuardName = "cdc_capture_guard";

// The statements that install (or replace) the guard, its functions in `schema`, and record the
// columns of capture triggers that have no record yet (created before the guard was).
std::vector<DdlStatement> PostgresDdlGuard(const std::string& schema);

// The guard's state in the PostgreSQL source `connection` reaches: nullopt when absent, else
// pg_event_trigger.evtenabled ("D" disabled; "O", "R" or "A" enabled).
std::optional<std::string> DdlGuardState(odbc::Connection& connection);

// One line for `check`: whether plain ALTER TABLEs of captured tables are guarded.
std::string DdlGuardReport(odbc::Connection& connection);

}  // namespace cdc::producer

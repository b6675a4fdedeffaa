// PostgreSQL's DDL guard: event triggers that refuse a plain DDL statement which would break a
// capture trigger - drop, rename or retype a column it copies, or change its change table - so
// the DBA's statement fails with the command to use instead, never the application's writes.
// Capture triggers carry kCaptureTriggerArgument. Before each ALTER (TABLE, VIEW, TYPE, SCHEMA,
// ...) the guard notes what every capture trigger uses (the table's columns its change table
// has, the change table and its columns) and compares after it, so a change through a parent
// table, a composite type or a schema is caught too; any DROP (CASCADE included) that drops
// such a column or a change table is refused. `ddl --apply --alter` drops the table's triggers
// before its ALTER, so it passes; `SET LOCAL cdc.ddl_guard = off` lets a statement through.
// Creating event triggers needs a superuser (or a managed service's equivalent); without one
// `ddl --apply` says so and the tables rely on `--alter`. SQLite needs no guard (it refuses to
// drop a column a trigger names and rewrites triggers on a rename).
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
// The guard's event triggers (one set per database): this name, and with _start and _drop.
inline constexpr std::string_view kDdlGuardName = "cdc_capture_guard";

// The statements that install (or replace) the guard: its functions in schema cdc_ddl_guard
// (created, owned by the installing superuser, closed to other roles) and its event triggers.
std::vector<DdlStatement> PostgresDdlGuard();

// The guard's state in the PostgreSQL source `connection` reaches: nullopt when any of its event
// triggers is absent, "D" when any is disabled or fires only in replica mode, else "O".
std::optional<std::string> DdlGuardState(odbc::Connection& connection);

// One line for `check`: whether plain ALTER TABLEs of captured tables are guarded.
std::string DdlGuardReport(odbc::Connection& connection);

}  // namespace cdc::producer

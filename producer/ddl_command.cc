#include "producer/ddl_command.h"

#include <map>
#include <ostream>

#include "common/config/config.h"
#include "common/error.h"
#include "common/odbc/odbc.h"
#include "producer/catalog.h"
#include "producer/ddl.h"
#include "producer/ddl_guard.h"
#include "producer/drift.h"

namespace cdc::producer {

namespace {

// Installs (or replaces) PostgreSQL's DDL guard in one transaction of its own, before the
// tables' triggers are made (it records their columns as they are created); returns the line
// that reports it.
// A role that may not create event triggers leaves the guard as it is: one a superuser put in
// place guards this run's triggers too.
std::string InstallDdlGuard(odbc::Connection& connection, const Logger& logger) {
  std::string failure;
  connection.SetAutocommit(false);
  try {
    // An installed guard would check (and refuse) its own replacement.
    connection.Execute("SET LOCAL cdc.ddl_guard = off");
    for (const DdlStatement& statement : PostgresDdlGuard()) connection.Execute(statement.sql);
    connection.Commit();
  } catch (const Error& e) {
    connection.Rollback();
    failure = e.what();
  }
  connection.SetAutocommit(true);
  const std::optional<std::string> state = DdlGuardState(connection);
  if (state && *state != "D") {
    return "DDL guard: event trigger " + std::string(kDdlGuardName) +
           (failure.empty() ? " installed" : "") +
           " - a plain ALTER TABLE that drops, renames or retypes a captured column is refused "
           "(run it with --alter)\n";
  }
  const std::string why =
      state ? "event triggers " + std::string(kDdlGuardName) + "[_start|_drop] are disabled"
            : "it could not be installed - creating event triggers needs a superuser: " +
                  failure.substr(0, failure.find('\n'));
  logger.Warn("no DDL guard: run ALTER TABLE of captured tables with ddl --apply --alter",
              {{"reason", why}});
  return "-- warning: no DDL guard (" + why +
         "): a plain ALTER TABLE that drops, renames or retypes a captured column makes every "
         "write to the table fail until ddl --apply; run such statements with --alter\n";
}

}  // namespace

int PrintOrApplyDdl(const ProducerSettings& settings, const DdlOptions& options,
                    const Logging& logging, std::ostream& out) {
  const Logger logger = logging.Get("ddl");
  std::vector<TableSettings> selected;
  if (options.tables.empty()) {
    selected = settings.tables;
  } else {
    for (const std::string& name : options.tables) {
      if (const TableSettings* table = settings.FindTable(name)) {
        selected.push_back(*table);
      } else {
        TableSettings extra;
        extra.name = name;
        extra.source.table = TableName::Parse(name);
        extra.source.change_table = TableName::Parse(name + "_CT");
        extra.source.key_setting = "--table " + name;
        selected.push_back(extra);
      }
    }
  }
  odbc::Environment environment;
  odbc::Connection connection(environment, WithSourceDefaults(settings.connection));
  const SqlDialect dialect = settings.dialect.value_or(DialectFromDbmsName(connection.DbmsName()));
  const SqlDialect target = options.target_dialect.value_or(dialect);
  // Another database's DDL describes tables the tool cannot see there: always the "create" form.
  const bool foreign = target != dialect || !options.target_schema.empty();
  if (foreign && options.apply) {
    throw config::ConfigError({"ddl: --apply cannot be combined with --dialect " +
                               std::string(SqlDialectName(target)) +
                               (options.target_schema.empty() ? "" : " or --schema") +
                               " (the statements are for another database; print and run them "
                               "there)"});
  }
  auto placed = [&](TableName name) {
    if (!options.target_schema.empty()) name.schema = options.target_schema;
    return name;
  };
  // PostgreSQL: an unqualified change table is named by the schema CREATE TABLE puts it in,
  // since the trigger function's fixed search_path finds only qualified names.
  auto placed_change_table = [&](TableName name) {
    name = placed(std::move(name));
    return foreign ? name : QualifiedChangeTable(connection, dialect, std::move(name));
  };
  if (!options.alter.empty() &&
      (!options.apply || options.tables.size() != 1 || dialect == SqlDialect::kOracle)) {
    throw config::ConfigError(
        {"ddl: --alter needs --apply and exactly one --table, and a source whose DDL is "
         "transactional (PostgreSQL, SQLite; on Oracle run the ALTER, then ddl --apply)"});
  }
  const bool guarded = dialect == SqlDialect::kPostgres && !foreign && !selected.empty();
  // Reported after the tables: the first line stays the first table's.
  const std::string guard_report =
      guarded && options.apply ? InstallDdlGuard(connection, logger) : "";
  if (!options.apply && target == SqlDialect::kPostgres) {
    // As ddl --apply does: its own statements pass the DDL guard (producer/DESIGN.md).
    out << "SET cdc.ddl_guard = off;\n\n";
  }
  int rc = 0;
  for (const TableSettings& table : selected) {
    const TableName table_name = placed(table.source.table);
    TableName change_table;  // placed_change_table's, once read (it may fail like the rest)
    // The statements for the table as the catalog shows it now (inside the transaction, after
    // an --alter: as it altered it). An existing change table is evolved, not recreated.
    std::optional<std::vector<event::ColumnMeta>> existing;
    auto generate = [&] {
      event::TableMeta meta = ReadTableMeta(connection, dialect, table.source.table,
                                            table.source.key, table.source.key_setting);
      existing.reset();
      if (!foreign) {
        std::vector<event::ColumnMeta> columns =
            ReadColumns(connection, dialect, table.source.change_table);
        if (!columns.empty()) existing = std::move(columns);
      } else {
        for (event::ColumnMeta& column : meta.columns) {
          if (dialect == SqlDialect::kSqlite) column = SqliteDeclared(column);
          column.db_type.reset();
        }
      }
      return ChangeTableDdl(target, table_name, meta, change_table, existing, table.source.capture);
    };
    try {
      // The replica names the table after it, lower-cased (unless consumer.table_map maps it):
      // PostgreSQL would cut a longer name, and the consumer dead-letters its events.
      if (!table.replica_mapped && !foreign &&
          table.source.table.table.size() > event::kMaxReplicaNameBytes) {
        throw PermanentError("NAME", "table name \"" + table.source.table.table + "\" is " +
                                         std::to_string(table.source.table.table.size()) +
                                         " bytes, over the replica's limit of 63: map it to a "
                                         "shorter name in consumer.table_map");
      }
      change_table = placed_change_table(table.source.change_table);
      if (!options.apply) {
        out << DdlScript(target, table_name, generate());
        continue;
      }
      // One transaction where DDL is transactional: no change slips between a trigger's drop
      // and its re-creation, and a failure leaves nothing half-applied.
      const bool transactional = dialect != SqlDialect::kOracle;
      std::vector<DdlStatement> statements;
      if (options.alter.empty()) statements = generate();
      if (transactional) connection.SetAutocommit(false);
      try {
        // The table first, as the application's writers take it (then the change table, in
        // the trigger): evolving a change table cannot deadlock with them. An --alter takes
        // the lock its ALTER TABLE needs at once.
        if (dialect == SqlDialect::kPostgres && (existing || !options.alter.empty())) {
          connection.Execute("LOCK TABLE " + table_name.Quoted(dialect) +
                             (options.alter.empty() ? " IN SHARE ROW EXCLUSIVE MODE"
                                                    : " IN ACCESS EXCLUSIVE MODE"));
        }
        if (!options.alter.empty()) {
          // Without its triggers the table can be altered in any way (SQLite refuses to drop
          // a column a trigger names); no write can happen before they are back.
          for (const DdlStatement& drop : DropCaptureTriggers(dialect, table_name, change_table)) {
            connection.Execute(drop.sql);
          }
          // The other captured tables must come out as they went in: an ALTER of one of them
          // would leave its trigger naming what it changed.
          auto others = [&] {
            std::map<std::string, std::vector<std::string>> drift;
            for (const TableSettings& other : settings.tables) {
              if (other.name == table.name) continue;
              try {
                drift[other.name] = ChangeTableDrift(
                    connection, dialect, other.source.table, other.source.change_table,
                    other.source.key, other.source.key_setting, other.source.capture);
              } catch (const Error& e) {
                drift[other.name] = {e.what()};
              }
            }
            return drift;
          };
          const auto before = others();
          connection.Execute(options.alter);
          for (const auto& [name, drift] : others()) {
            if (drift != before.at(name)) {
              throw PermanentError("ALTER", "the statement changed " + name + ", not only " +
                                                table.name + ": --alter evolves the --table " +
                                                "table only; alter " + name + " with --table " +
                                                name);
            }
          }
          statements = generate();
        }
        // ddl's own statements (a change-table column retyped) pass the DDL guard.
        if (dialect == SqlDialect::kPostgres) connection.Execute("SET LOCAL cdc.ddl_guard = off");
        for (const DdlStatement& statement : statements) {
          try {
            connection.Execute(statement.sql);
          } catch (const Error& e) {
            if (statement.if_it_fails.empty()) throw;
            throw PermanentError("DDL", std::string(e.what()) + " - " + statement.if_it_fails);
          }
        }
        if (transactional) connection.Commit();
      } catch (const Error&) {
        if (transactional) {
          connection.Rollback();
          connection.SetAutocommit(true);
        }
        throw;
      }
      if (transactional) connection.SetAutocommit(true);
      out << (options.alter.empty() ? "" : "altered " + table.name + " and ") << "applied "
          << statements.size() << " statements: change table "
          << table.source.change_table.ToString() << (existing ? " (evolved)" : " (created)")
          << " for " << table.name << "\n";
    } catch (const Error& e) {
      rc = 1;
      out << "-- " << table.name << ": FAILED: " << e.what() << "\n";
      logger.Error("ddl failed", {{"table", table.name}, {"error", e.what()}});
    }
  }
  out << guard_report;
  if (guarded && !options.apply) {
    out << "-- DDL guard (needs a superuser; optional): refuses a plain ALTER TABLE that drops, "
           "renames or retypes a captured column\n";
    for (const DdlStatement& statement : PostgresDdlGuard()) {
      out << statement.sql << ";\n\n";
    }
  }
  return rc;
}

}  // namespace cdc::producer

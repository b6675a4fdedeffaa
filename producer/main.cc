// cdc-producer: polls change tables over ODBC and publishes keyed change events to Kafka.
#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/error.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/shutdown.h"
#include "common/version.h"
#include "producer/backfill.h"
#include "producer/ddl_command.h"
#include "producer/dialect.h"
#include "producer/producer_app.h"
#include "producer/settings.h"

namespace {

constexpr const char* kDescription =
    R"(cdc-producer: change tables over ODBC -> keyed change events in Kafka.

Commands:
  run       snapshot tables that have no checkpoint, then stream until SIGTERM/SIGINT
  check     validate the config, reach the source and Kafka, verify the change tables
  ddl       print (or --apply) the change-table DDL for the configured tables; --dialect
            and --schema print it for another database (e.g. Oracle) from a copy of the tables
  snapshot  backfill: ask the running producer to re-publish one table's rows into its topic
            (in step with its stream) and follow it until done

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.)";

struct Loaded {
  cdc::config::Config config;
  cdc::producer::ProducerSettings settings;
};

// Loads and validates the configuration; prints every problem and returns nullopt on error.
std::optional<Loaded> Load(const std::string& path) {
  try {
    cdc::config::Config config = cdc::config::Config::Load(
        path, cdc::config::ProjectSchema(), cdc::config::Config::ProcessEnvironment());
    cdc::producer::ProducerSettings settings = cdc::producer::ProducerSettings::FromConfig(config);
    return Loaded{std::move(config), std::move(settings)};
  } catch (const cdc::config::ConfigError& e) {
    std::cerr << "cdc-producer: configuration error in " << path << ":\n";
    for (const std::string& problem : e.problems()) std::cerr << "  " << problem << "\n";
  } catch (const cdc::Error& e) {
    std::cerr << "cdc-producer: configuration error in " << path << ": " << e.what() << "\n";
  }
  return std::nullopt;
}

cdc::Logging MakeLogging(const cdc::config::Config& config) {
  return cdc::Logging(cdc::ParseLogFormat(config.GetString("log.format")),
                      cdc::ParseLogLevel(config.GetString("log.level")));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "cdc-producer");
  app.set_version_flag("--version", std::string("cdc-producer ") + cdc::kVersion);
  app.require_subcommand(1);
  std::string config_path;
  cdc::producer::DdlOptions ddl_options;
  std::string ddl_dialect;
  std::string snapshot_table;
  std::string snapshot_producer;

  CLI::App* run = app.add_subcommand("run", "snapshot where needed, then stream until SIGTERM");
  run->add_option("--config", config_path, "configuration file (YAML)")->required();
  CLI::App* check = app.add_subcommand("check", "validate config, source, change tables, Kafka");
  check->add_option("--config", config_path, "configuration file (YAML)")->required();
  CLI::App* ddl = app.add_subcommand("ddl", "print or apply the change-table DDL");
  ddl->add_option("--config", config_path, "configuration file (YAML)")->required();
  ddl->add_option("--table", ddl_options.tables,
                  "SCHEMA.TABLE (repeatable; default: every configured table)");
  ddl->add_flag("--apply", ddl_options.apply, "execute the statements instead of printing them");
  ddl->add_option("--dialect", ddl_dialect,
                  "print the DDL for this database (oracle|postgres|sqlite) instead of the "
                  "source's; the columns are read from the source, a copy with the same tables")
      ->check(CLI::IsMember({"oracle", "postgres", "sqlite"}));
  ddl->add_option("--schema", ddl_options.target_schema,
                  "place the tables and change tables in this schema in the printed DDL");
  ddl->add_option("--alter", ddl_options.alter,
                  "with --apply and one --table: run this ALTER TABLE on the table and evolve its "
                  "change table and trigger(s) in the same transaction (PostgreSQL, SQLite)");
  CLI::App* snapshot = app.add_subcommand("snapshot", "re-snapshot one table into its topic");
  snapshot->add_option("--config", config_path, "configuration file (YAML)")->required();
  snapshot->add_option("--table", snapshot_table, "a configured table (SCHEMA.TABLE)")->required();
  snapshot->add_option("--producer", snapshot_producer,
                       "HOST:PORT of the running producer's status endpoint (default: "
                       "producer.metrics_listen)");

  // The description lists the commands; CLI11 would list them again.
  for (CLI::App* command : app.get_subcommands({})) command->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : cdc::config::kConfigErrorExitCode;
  }

  std::optional<cdc::ShutdownSignals> shutdown;
  if (*run || *snapshot) shutdown.emplace();  // before any thread starts
  std::optional<Loaded> loaded = Load(config_path);
  if (!loaded) return cdc::config::kConfigErrorExitCode;
  const cdc::Logging logging = MakeLogging(loaded->config);
  try {
    if (*run) {
      return cdc::producer::RunProducer(loaded->config, loaded->settings, logging,
                                        shutdown->token(), [&] { shutdown->RequestStop(); });
    }
    if (*check) {
      return cdc::producer::CheckProducer(loaded->config, loaded->settings, logging, std::cout);
    }
    if (*ddl) {
      if (!ddl_dialect.empty())
        ddl_options.target_dialect = cdc::producer::ParseDialect(ddl_dialect);
      return cdc::producer::PrintOrApplyDdl(loaded->settings, ddl_options, logging, std::cout);
    }
    const cdc::producer::TableSettings* table = loaded->settings.FindTable(snapshot_table);
    if (table == nullptr) {
      std::cerr << "cdc-producer: --table: \"" << snapshot_table
                << "\" is not in producer.tables\n";
      return cdc::config::kConfigErrorExitCode;
    }
    std::optional<cdc::HostPort> address;
    if (!snapshot_producer.empty()) {
      try {
        address = cdc::ParseHostPort(snapshot_producer);
      } catch (const cdc::Error& e) {
        std::cerr << "cdc-producer: --producer: " << e.what() << "\n";
        return cdc::config::kConfigErrorExitCode;
      }
    }
    return cdc::producer::FollowBackfill(cdc::producer::ProducerAddress(loaded->settings, address),
                                         table->name, logging.Get("snapshot"), shutdown->token(),
                                         std::cerr);
  } catch (const cdc::config::ConfigError& e) {
    std::cerr << "cdc-producer: configuration error:\n";
    for (const std::string& problem : e.problems()) std::cerr << "  " << problem << "\n";
    return cdc::config::kConfigErrorExitCode;
  } catch (const std::exception& e) {
    logging.Get("producer").Error("cdc-producer failed", {{"error", e.what()}});
    return 1;
  }
}

// cdc-api: the read API over the replicated tables and the pipeline's status.
#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>

#include "api/openapi.h"
#include "api/pool.h"
#include "api/read_api.h"
#include "api/registry_api.h"
#include "api/server.h"
#include "api/settings.h"
#include "api/table_catalog.h"
#include "common/clock.h"
#include "common/config/config.h"
#include "common/error.h"
#include "common/kafka/settings.h"
#include "common/log.h"
#include "common/metrics/registry.h"
#include "common/redact.h"
#include "common/registry/topic_registry.h"
#include "common/shutdown.h"
#include "common/version.h"

namespace {

constexpr const char* kDescription =
    R"(cdc-api: HTTP/JSON reads of the replicated tables, a change feed and the pipeline status.

Commands:
  run   serve until SIGTERM/SIGINT

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.)";

int Run(const cdc::config::Config& config, const cdc::api::ApiSettings& settings,
        const cdc::Logging& logging, std::stop_token stop) {
  const cdc::Logger logger = logging.Get("api");
  cdc::SystemClock clock;
  cdc::metrics::Registry registry;
  cdc::api::ConnectionPool pool(settings.postgres_url, settings.pool_size,
                                settings.statement_timeout, logging.Get("postgres"));
  cdc::api::TableCatalog catalog(settings.target_schema);
  cdc::api::ReadApi api(settings, pool, catalog, clock);
  // The embedded registry's schemas, for standard clients (a reader made at the first request).
  const cdc::kafka::KafkaSettings kafka = cdc::kafka::KafkaSettings::FromConfig(config);
  cdc::api::RegistryApi schemas(config.GetString("kafka.schema_registry_url").empty()
                                    ? cdc::api::RegistryApi::Open([&kafka, &config, &logging] {
                                        return std::make_unique<cdc::registry::TopicRegistry>(
                                            kafka, config.GetString("kafka.schemas_topic"),
                                            logging.Get("registry"), std::chrono::seconds(5),
                                            cdc::registry::TopicRegistry::Mode::kReader);
                                      })
                                    : cdc::api::RegistryApi::Open(),
                                clock);
  cdc::api::ApiServer server(settings, api, schemas, pool, registry,
                             cdc::api::OpenApiJson(cdc::api::OpenApiYaml()), logging.Get("access"),
                             clock);
  const uint16_t port = server.Start();
  logger.Info("listening", {{"pipeline", config.GetString("pipeline.name")},
                            {"address", settings.listen.host + ":" + std::to_string(port)},
                            {"postgres", cdc::RedactSecrets(settings.postgres_url)},
                            {"auth", settings.tokens.empty() ? "off" : "bearer"},
                            {"threads", settings.threads},
                            {"pool_size", settings.pool_size}});
  std::cout << "listening=" << settings.listen.host << ":" << port << std::endl;
  while (!stop.stop_requested()) clock.SleepFor(std::chrono::seconds(1), stop);
  server.Stop();
  logger.Info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "cdc-api");
  app.set_version_flag("--version", std::string("cdc-api ") + cdc::kVersion);
  app.require_subcommand(1);
  std::string config_path;
  CLI::App* run = app.add_subcommand("run", "serve until SIGTERM");
  run->add_option("--config", config_path, "configuration file (YAML)")->required();
  // The description lists the commands; CLI11 would list them again.
  for (CLI::App* command : app.get_subcommands({})) command->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : cdc::config::kConfigErrorExitCode;
  }
  cdc::ShutdownSignals shutdown;  // before any thread starts
  std::optional<cdc::config::Config> config;
  std::optional<cdc::api::ApiSettings> settings;
  try {
    config.emplace(cdc::config::Config::Load(config_path, cdc::config::ProjectSchema(),
                                             cdc::config::Config::ProcessEnvironment()));
    settings.emplace(cdc::api::ApiSettings::FromConfig(*config));
  } catch (const cdc::config::ConfigError& e) {
    std::cerr << "cdc-api: configuration error in " << config_path << ":\n";
    for (const std::string& problem : e.problems()) std::cerr << "  " << problem << "\n";
    return cdc::config::kConfigErrorExitCode;
  } catch (const cdc::Error& e) {
    std::cerr << "cdc-api: configuration error in " << config_path << ": " << e.what() << "\n";
    return cdc::config::kConfigErrorExitCode;
  }
  const cdc::Logging logging(cdc::ParseLogFormat(config->GetString("log.format")),
                             cdc::ParseLogLevel(config->GetString("log.level")));
  try {
    return Run(*config, *settings, logging, shutdown.token());
  } catch (const std::exception& e) {
    logging.Get("api").Error("cdc-api failed", {{"error", e.what()}});
    return 1;
  }
}

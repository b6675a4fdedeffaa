// cdc-consumer: applies change events from Kafka to PostgreSQL, idempotently.
#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/error.h"
#include "common/log.h"
#include "common/pg/dead_letters.h"
#include "common/shutdown.h"
#include "common/version.h"
#include "consumer/consumer_app.h"
#include "consumer/dlq_commands.h"
#include "consumer/settings.h"

namespace {

constexpr const char* kDescription =
    R"(cdc-consumer: change events in Kafka -> replicated tables in PostgreSQL.

Commands:
  run          consume and apply until SIGTERM/SIGINT
  check        validate the config, reach PostgreSQL and Kafka
  replay       rewind the stored offsets of the input topics, then run
  dlq list     show dead letters
  dlq redrive  re-apply dead letters once their cause is fixed
  dlq discard  give up dead letters that can never apply (kept, with the reason)

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.)";

struct Loaded {
  cdc::config::Config config;
  cdc::consumer::ConsumerSettings settings;
};

std::optional<Loaded> Load(const std::string& path) {
  try {
    cdc::config::Config config = cdc::config::Config::Load(
        path, cdc::config::ProjectSchema(), cdc::config::Config::ProcessEnvironment());
    cdc::consumer::ConsumerSettings settings = cdc::consumer::ConsumerSettings::FromConfig(config);
    return Loaded{std::move(config), std::move(settings)};
  } catch (const cdc::config::ConfigError& e) {
    std::cerr << "cdc-consumer: configuration error in " << path << ":\n";
    for (const std::string& problem : e.problems()) std::cerr << "  " << problem << "\n";
  } catch (const cdc::Error& e) {
    std::cerr << "cdc-consumer: configuration error in " << path << ": " << e.what() << "\n";
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "cdc-consumer");
  app.set_version_flag("--version", std::string("cdc-consumer ") + cdc::kVersion);
  app.require_subcommand(1);
  std::string config_path;
  bool from_beginning = false;
  std::string from_timestamp;
  std::vector<std::string> topics;
  int64_t limit = 50;
  int64_t id = 0;
  bool all = false;

  CLI::App* run = app.add_subcommand("run", "consume and apply until SIGTERM");
  run->add_option("--config", config_path, "configuration file (YAML)")->required();
  CLI::App* check = app.add_subcommand("check", "validate config, PostgreSQL and Kafka");
  check->add_option("--config", config_path, "configuration file (YAML)")->required();
  CLI::App* replay = app.add_subcommand("replay", "rewind the input topics, then run");
  replay->add_option("--config", config_path, "configuration file (YAML)")->required();
  CLI::Option* beginning =
      replay->add_flag("--from-beginning", from_beginning, "from each partition's first message");
  CLI::Option* timestamp = replay->add_option("--from-timestamp", from_timestamp,
                                              "from the first message at or after this UTC time");
  beginning->excludes(timestamp);
  replay->add_option("--topic", topics, "a topic to replay (repeatable; default: every input)");
  CLI::App* dlq = app.add_subcommand("dlq", "dead letters");
  dlq->require_subcommand(1);
  CLI::App* list = dlq->add_subcommand("list", "show dead letters, newest first");
  list->add_option("--config", config_path, "configuration file (YAML)")->required();
  list->add_option("--limit", limit, "at most this many")->check(CLI::Range(1, 1'000'000));
  CLI::App* redrive = dlq->add_subcommand("redrive", "re-apply dead letters");
  redrive->add_option("--config", config_path, "configuration file (YAML)")->required();
  CLI::Option* id_option = redrive->add_option("--id", id, "one dead letter");
  CLI::Option* all_option = redrive->add_flag("--all", all, "every open dead letter");
  id_option->excludes(all_option);
  CLI::App* discard = dlq->add_subcommand("discard", "give up dead letters (kept for audit)");
  discard->add_option("--config", config_path, "configuration file (YAML)")->required();
  int64_t discard_id = 0;
  bool discard_all = false;
  std::string discard_table;
  std::string reason;
  CLI::Option* discard_id_option = discard->add_option("--id", discard_id, "one dead letter");
  CLI::Option* discard_all_option =
      discard->add_flag("--all", discard_all, "every open dead letter (of --table)");
  CLI::Option* discard_table_option =
      discard->add_option("--table", discard_table, "with --all: of this target table only");
  discard->add_option("--reason", reason, "why it can never apply (kept)")->required();
  discard_id_option->excludes(discard_all_option);
  discard_table_option->needs(discard_all_option);

  // The description lists the commands; CLI11 would list them again.
  for (CLI::App* command : app.get_subcommands({})) command->group("");
  try {
    app.parse(argc, argv);
    if (*replay && !from_beginning && from_timestamp.empty()) {
      throw CLI::ValidationError("replay", "give --from-beginning or --from-timestamp");
    }
    if (*redrive && id_option->count() == 0 && !all) {
      throw CLI::ValidationError("dlq redrive", "give --id N or --all");
    }
    if (*discard && discard_id_option->count() == 0 && !discard_all) {
      throw CLI::ValidationError("dlq discard", "give --id N or --all");
    }
    if (*discard && (reason.find_first_not_of(" \t\n") == std::string::npos ||
                     reason.size() > cdc::pg::kMaxDiscardReason)) {
      throw CLI::ValidationError("dlq discard", "--reason must say why, in at most 1000 bytes");
    }
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : cdc::config::kConfigErrorExitCode;
  }

  std::optional<cdc::ShutdownSignals> shutdown;
  if (*run || *replay) shutdown.emplace();  // before any thread starts
  std::optional<Loaded> loaded = Load(config_path);
  if (!loaded) return cdc::config::kConfigErrorExitCode;
  const cdc::Logging logging(cdc::ParseLogFormat(loaded->config.GetString("log.format")),
                             cdc::ParseLogLevel(loaded->config.GetString("log.level")));
  // SIGTERM ends the process within 10 s: batches are committed or rolled back in PostgreSQL
  // first, so what may still hang after 8 s (librdkafka tearing down a consumer whose offset
  // commits wait for an unreachable coordinator) holds nothing that matters.
  std::optional<cdc::ShutdownDeadline> deadline;
  if (shutdown) {
    deadline.emplace(
        shutdown->token(), std::chrono::seconds(8),
        [&logging] {
          logging.Get("consumer")
              .Warn(
                  "shutdown did not finish within 8 s (Kafka unreachable?); exiting now. "
                  "PostgreSQL is consistent: every batch was committed or is rolled back.");
        },
        0);
  }
  try {
    if (*run) {
      return cdc::consumer::RunConsumer(loaded->config, loaded->settings, logging,
                                        shutdown->token());
    }
    if (*check) {
      return cdc::consumer::CheckConsumer(loaded->config, loaded->settings, logging, std::cout);
    }
    if (*replay) {
      cdc::consumer::ReplayRequest request;
      if (!from_timestamp.empty()) request.from_timestamp = from_timestamp;
      request.topics = topics;
      return cdc::consumer::ReplayConsumer(loaded->config, loaded->settings, request, logging,
                                           shutdown->token(), std::cout);
    }
    if (*list) return cdc::consumer::ListDeadLetters(loaded->settings, limit, std::cout);
    if (*discard) {
      cdc::consumer::DiscardRequest request;
      if (!discard_all) request.id = discard_id;
      if (!discard_table.empty()) request.table = discard_table;
      request.reason = reason;
      return cdc::consumer::DiscardDeadLetters(loaded->settings, request, logging, std::cout);
    }
    return cdc::consumer::RedriveDeadLetters(loaded->config, loaded->settings,
                                             all ? std::nullopt : std::optional<int64_t>(id),
                                             logging, std::cout);
  } catch (const cdc::config::ConfigError& e) {
    std::cerr << "cdc-consumer: configuration error:\n";
    for (const std::string& problem : e.problems()) std::cerr << "  " << problem << "\n";
    return cdc::config::kConfigErrorExitCode;
  } catch (const std::exception& e) {
    logging.Get("consumer").Error("cdc-consumer failed", {{"error", e.what()}});
    return 1;
  }
}

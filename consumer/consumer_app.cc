#include "consumer/consumer_app.h"

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <thread>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/event/decoder.h"
#include "common/json/codec.h"
#include "common/kafka/consumer.h"
#include "common/metrics/registry.h"
#include "common/metrics/status_server.h"
#include "common/pg/connection.h"
#include "common/redact.h"
#include "common/registry/factory.h"
#include "consumer/applier.h"
#include "consumer/consumer_loop.h"
#include "consumer/consumer_metrics.h"
#include "consumer/dead_letters.h"
#include "consumer/group_lag.h"
#include "consumer/group_lock.h"
#include "consumer/migrations.h"
#include "consumer/offsets.h"
#include "consumer/record_decoder.h"
#include "consumer/replay.h"
#include "consumer/target_catalog.h"

namespace cdc::consumer {
namespace {

using std::chrono::milliseconds;

const BackoffPolicy kStartupBackoff{milliseconds(500), milliseconds(10'000), 2.0, std::nullopt};

// Runs `step` until it succeeds, retrying transient failures (PostgreSQL or Kafka not up yet).
// Returns false when stopped first.
bool StartupStep(const std::function<void()>& step, const char* what, SystemClock& clock,
                 std::stop_token stop, const Logger& logger,
                 const BackoffPolicy& policy = kStartupBackoff) {
  try {
    RetryTransient(step, policy, clock, stop, [&](const TransientError& e, auto) {
      logger.Warn(std::string(what) + " not ready; retrying", {{"error", e.what()}});
    });
    return true;
  } catch (const TransientError&) {
    if (stop.stop_requested()) return false;
    throw;
  }
}

// The topics a replay rewinds: the requested ones, else the configured list, else every topic
// the consumer has applied (cdc.tables).
std::vector<std::string> ReplayTopics(pg::Connection& connection, const ConsumerSettings& settings,
                                      const std::vector<std::string>& requested) {
  if (!requested.empty()) return requested;
  if (!settings.topics.empty()) return settings.topics;
  std::vector<std::string> topics;
  const pg::Result rows =
      connection.Exec("SELECT DISTINCT topic FROM cdc.tables WHERE target_schema = $1 ORDER BY 1",
                      {settings.target_schema});
  for (int i = 0; i < rows.rows(); ++i) {
    std::string topic(rows.Get(i, 0));
    if (settings.IsInputTopic(topic)) topics.push_back(std::move(topic));
  }
  return topics;
}

// Runs the consumer loop as a member of the group (`replay` false), or as a replay that holds
// the group exclusively; `before_run` (the replay's rewind) runs once the lock is held.
int RunLoop(const config::Config& config, const ConsumerSettings& settings, const Logging& logging,
            std::stop_token outer_stop, std::ostream* progress, bool replay,
            const std::function<void(SystemClock&)>& before_run) {
  const Logger logger = logging.Get("consumer");
  std::stop_source stop_run;  // the caller's stop, or a replay that lost its lock
  std::stop_callback forward(outer_stop, [&stop_run] { stop_run.request_stop(); });
  const std::stop_token stop = stop_run.get_token();
  SystemClock clock;
  metrics::Registry registry;
  ConsumerMetrics metrics(registry);
  std::mutex loop_mutex;
  ConsumerLoop* loop = nullptr;
  const GroupLag* lag = nullptr;
  metrics::StatusServer status(
      registry,
      [&]() -> metrics::Readiness {
        std::lock_guard lock(loop_mutex);
        if (loop == nullptr) return {false, "starting"};
        metrics::Readiness readiness = loop->Readiness();
        // Ready (a member without partitions is fine: there may be more members than
        // partitions), but say so while records wait in the group's topics.
        if (readiness.ready && loop->assigned() == 0 && lag != nullptr && lag->total() > 0) {
          readiness.warning = "this member holds no partitions while " +
                              std::to_string(lag->total()) +
                              " records of the group's topics wait (other members hold them, or"
                              " a rebalance is under way)";
        }
        return readiness;
      },
      logging.Get("status"));
  // A replay may run next to whatever else listens on the configured port (a consumer of another
  // group with the same configuration, another replay): then it takes a free port.
  try {
    status.Start(settings.metrics_listen);
  } catch (const FatalError& e) {
    if (!replay || settings.metrics_listen.port == 0) throw;
    logger.Warn("the status port is in use; the replay's status endpoint takes a free port",
                {{"error", e.what()}});
    status.Start(HostPort{settings.metrics_listen.host, 0});
  }
  logger.Info(replay ? "replay starting" : "consumer starting",
              {{"pipeline", settings.pipeline},
               {"group", settings.group_id},
               {"postgres", RedactSecrets(settings.postgres_url)},
               {"metrics", settings.metrics_listen.host + ":" + std::to_string(status.port())}});

  if (!StartupStep(
          [&] {
            pg::Connection connection(settings.postgres_url, "cdc-consumer", logger);
            ApplyMigrations(connection, logger);
          },
          "PostgreSQL", clock, stop, logger)) {
    return 0;
  }
  ConsumerSettings run_settings = settings;
  GroupLock group_lock(settings.postgres_url, settings.group_id, logger);
  if (replay) {
    const std::string members = group_lock.TryExclusive();
    if (!members.empty()) {
      throw FatalError("GROUP_RUNNING",
                       "consumer group " + settings.group_id +
                           " is in use (running members, or another replay); stop its members"
                           " before a replay (it re-applies as the group's only member; start"
                           " them again once it has caught up). Holding it: " +
                           members);
    }
  } else {
    if (!StartupStep(
            [&] {
              const std::string holder = group_lock.TryJoin();
              if (!holder.empty()) {
                throw TransientError("55P03", "a replay of consumer group " + settings.group_id +
                                                  " is running (" + holder +
                                                  "); this consumer starts when it has ended");
              }
            },
            "consumer group lock", clock, stop, logger,
            // A waiting member starts within a second of the replay's end.
            BackoffPolicy{milliseconds(1000), milliseconds(1000), 1.0, std::nullopt})) {
      return 0;
    }
    run_settings.member_rewinds = group_lock.joined_rewinds();
  }
  GroupLockKeeper keeper(group_lock, replay, clock, stop_run, logger);
  const kafka::KafkaSettings kafka = kafka::KafkaSettings::FromConfig(config);
  std::unique_ptr<registry::SchemaRegistry> schemas;
  if (!StartupStep(
          [&] {
            schemas = registry::MakeSchemaRegistry(config, kafka, clock, logging.Get("registry"));
          },
          "Kafka", clock, stop, logger)) {
    return 0;
  }
  if (before_run) before_run(clock);
  if (stop.stop_requested()) return 0;
  event::EventDecoder decoder(*schemas, settings.format);
  DeadLetterPublisher dead_letters(kafka, settings.dlq_topic, settings.group_id,
                                   logging.Get("dlq"));
  const GroupLag group_lag(run_settings, kafka, metrics, clock, logging.Get("lag"));
  ConsumerLoop consumer_loop(run_settings, kafka, decoder, dead_letters, metrics, clock, logger,
                             progress, &group_lag);
  {
    std::lock_guard lock(loop_mutex);
    loop = &consumer_loop;
    lag = &group_lag;
  }
  int rc = 0;
  try {
    consumer_loop.Run(stop);
  } catch (const Error& e) {
    logger.Error("consumer failed", {{"code", e.code()}, {"error", e.what()}});
    rc = 1;
  }
  {
    std::lock_guard lock(loop_mutex);
    loop = nullptr;
    lag = nullptr;
  }
  status.Stop();
  return keeper.lost() ? 1 : rc;
}

}  // namespace

int RunConsumer(const config::Config& config, const ConsumerSettings& settings,
                const Logging& logging, std::stop_token stop) {
  return RunLoop(config, settings, logging, stop, nullptr, false, nullptr);
}

int ReplayConsumer(const config::Config& config, const ConsumerSettings& settings,
                   const ReplayRequest& request, const Logging& logging, std::stop_token stop,
                   std::ostream& progress) {
  const Logger logger = logging.Get("replay");
  std::optional<int64_t> from_ms;
  if (request.from_timestamp) {
    try {
      from_ms = ParseReplayTime(*request.from_timestamp);
    } catch (const Error& e) {
      throw config::ConfigError({std::string("--from-timestamp: ") + e.what()});
    }
  }
  for (const std::string& topic : request.topics) {
    if (!settings.IsInputTopic(topic)) {
      throw config::ConfigError(
          {"--topic: \"" + topic + "\" is not an input topic of group " + settings.group_id});
    }
  }
  return RunLoop(config, settings, logging, stop, &progress, true, [&](SystemClock& clock) {
    StartupStep(
        [&] {
          pg::Connection connection(settings.postgres_url, "cdc-consumer-replay", logger);
          const std::vector<std::string> topics =
              ReplayTopics(connection, settings, request.topics);
          const kafka::KafkaSettings kafka = kafka::KafkaSettings::FromConfig(config);
          kafka::Consumer reader(kafka, settings.group_id, nullptr, logger);
          const std::vector<kafka::TopicPartition> offsets =
              ReplayOffsets(reader, topics, from_ms, logger);
          // Each partition's replay is done at the log's end as of now: until then /ready says
          // so, in this process and in any consumer of the group started before it is done.
          std::map<PartitionKey, int64_t> until;
          int64_t total = 0;
          for (const kafka::TopicPartition& p : offsets) {
            const int64_t high = reader.Watermarks(p.topic, p.partition, milliseconds(5000)).second;
            until[{p.topic, p.partition}] = high;
            total += std::max<int64_t>(0, high - p.offset);
          }
          RewindOffsets(connection, settings.group_id, offsets, until,
                        GroupLock::ApplicationName("cdc-consumer-replay"));
          try {
            reader.Commit(offsets);
          } catch (const Error& e) {
            logger.Warn("Kafka offsets not rewound (PostgreSQL's were)", {{"error", e.what()}});
          }
          progress << "replay: rewound " << offsets.size() << " partitions of " << topics.size()
                   << " topics; " << total << " records to re-apply" << std::endl;
        },
        "replay", clock, stop, logger);
  });
}

int CheckConsumer(const config::Config& config, const ConsumerSettings& settings,
                  const Logging& logging, std::ostream& out) {
  const Logger logger = logging.Get("check");
  bool ok = true;
  out << "config: ok (group " << settings.group_id << ", input "
      << (settings.topics.empty() ? "pattern " + settings.topic_pattern
                                  : std::to_string(settings.topics.size()) + " topics")
      << ", target schema " << settings.target_schema << ", dead letters to " << settings.dlq_topic
      << ")\n";
  try {
    pg::Connection connection(settings.postgres_url, "cdc-consumer-check", logger);
    const std::string version(connection.Exec("SHOW server_version").Get(0, 0));
    const pg::Result exists = connection.Exec("SELECT to_regclass('cdc.schema_migrations')");
    std::string migrated = "not created yet (run creates it)";
    if (!exists.IsNull(0, 0)) {
      migrated = "version " +
                 std::string(connection
                                 .Exec("SELECT COALESCE(max(version), 0) FROM"
                                       " cdc.schema_migrations")
                                 .Get(0, 0)) +
                 " of " + std::to_string(Migrations().size());
    }
    out << "postgres: ok (" << RedactSecrets(settings.postgres_url) << ", server " << version
        << ", cdc schema " << migrated << ")\n";
  } catch (const Error& e) {
    out << "postgres: FAILED: " << e.what() << "\n";
    ok = false;
  }
  try {
    const kafka::KafkaSettings kafka = kafka::KafkaSettings::FromConfig(config);
    kafka::Consumer probe(kafka, settings.group_id + ".check", nullptr, logger);
    const std::vector<std::string> topics =
        settings.topics.empty() ? std::vector<std::string>{} : settings.topics;
    std::string detail;
    for (const std::string& topic : topics) {
      const size_t partitions = probe.Partitions(topic, milliseconds(10'000)).size();
      detail += " " + topic + "=" +
                (partitions == 0 ? std::string("missing") : std::to_string(partitions) + "p");
    }
    if (topics.empty()) probe.Partitions(settings.dlq_topic, milliseconds(10'000));
    out << "kafka: ok (" << kafka.bootstrap_servers << ";"
        << (detail.empty() ? " pattern " + settings.topic_pattern : detail) << ")\n";
  } catch (const Error& e) {
    out << "kafka: FAILED: " << e.what() << "\n";
    ok = false;
  }
  out << (ok ? "check: ok" : "check: FAILED") << std::endl;
  return ok ? 0 : 1;
}

}  // namespace cdc::consumer

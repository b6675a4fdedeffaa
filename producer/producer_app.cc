#include "producer/producer_app.h"

#include <unistd.h>

#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/backoff.h"
#include "common/error.h"
#include "common/event/temporal.h"
#include "common/kafka/admin.h"
#include "common/kafka/consumer.h"
#include "common/metrics/status_server.h"
#include "common/odbc/odbc.h"
#include "common/registry/factory.h"
#include "producer/backfill.h"
#include "producer/catalog.h"
#include "producer/checkpoint.h"
#include "producer/ddl.h"
#include "producer/ddl_guard.h"
#include "producer/drift.h"
#include "producer/loss_watch.h"
#include "producer/publisher.h"
#include "producer/table_stream.h"

namespace cdc::producer {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kStartupTimeout{30'000};
constexpr auto kShutdownBudget = seconds(8);  // SIGTERM -> exit well within 10 s

std::string NowText(const Clock& clock) {
  return event::FormatTimestampTz(
      std::chrono::duration_cast<std::chrono::microseconds>(clock.WallNow().time_since_epoch())
          .count());
}

// Creates missing topics where the broker has the Admin API; otherwise says that auto-creation
// is relied on. One failed attempt is enough to know.
void EnsureTopics(const kafka::KafkaSettings& kafka, const ProducerSettings& settings,
                  const Logger& logger) {
  const std::string group = "cdc-producer-admin-" + std::to_string(getpid());
  kafka::Consumer probe(kafka, group, nullptr, logger);
  std::vector<kafka::TopicSpec> topics;
  for (const TableSettings& table : settings.tables) {
    topics.push_back(
        {table.topic, settings.topic_partitions, settings.topic_replication_factor, {}});
  }
  topics.push_back({settings.checkpoint_topic,
                    1,
                    settings.topic_replication_factor,
                    {{"cleanup.policy", "compact"}}});
  topics.push_back({settings.stream.dead_letter_topic, 1, settings.topic_replication_factor, {}});
  for (const kafka::TopicSpec& spec : topics) {
    if (!probe.Partitions(spec.name, kStartupTimeout).empty()) continue;
    try {
      kafka::CreateTopic(kafka, spec, seconds(5), logger);
      logger.Info("topic created", {{"topic", spec.name}, {"partitions", spec.partitions}});
    } catch (const TransientError& e) {
      logger.Info(
          "the broker did not create topics through the Admin API; relying on "
          "auto-creation on first publish",
          {{"topic", spec.name}, {"error", e.what()}});
      break;
    }
  }
  probe.Close();
}

// The tables' and the checkpoint topic's metadata, loaded before the first publish so that it
// goes out at once (see kafka::Producer::LoadTopicMetadata).
void LoadTopicMetadata(Publisher& publisher, const ProducerSettings& settings,
                       const Logger& logger) {
  std::vector<std::string> topics = {settings.checkpoint_topic};
  for (const TableSettings& table : settings.tables) topics.push_back(table.topic);
  if (!publisher.LoadTopicMetadata(topics, milliseconds(5'000))) {
    logger.Warn("topic metadata did not arrive in time; the first events may wait for it");
  }
}

// The tables whose checkpoint covers messages the broker no longer holds: the last message it
// had confirmed in a partition of their topic is gone (a topic re-created or a cluster restored
// while the producer was down, or a loss the running producer found after it wrote the
// checkpoint). Throws TransientError when the broker cannot say.
std::set<std::string> TablesPastLostMessages(const kafka::KafkaSettings& kafka,
                                             const ProducerSettings& settings,
                                             const std::map<std::string, TablePosition>& positions,
                                             const Logger& logger) {
  ConfirmedTips tips;
  std::map<std::pair<std::string, int32_t>, std::string> tables;
  for (const TableSettings& table : settings.tables) {
    const auto found = positions.find(table.name);
    if (found == positions.end()) continue;
    for (const auto& [partition, tip] : found->second.tips) {
      tips[{table.topic, partition}] = tip;
      tables[{table.topic, partition}] = table.name;
    }
  }
  if (tips.empty()) return {};
  const std::string group = "cdc-producer-check-" + std::to_string(getpid());
  kafka::Consumer reader(kafka, group, nullptr, logger);
  std::set<std::string> past;
  const std::vector<LostMessages> lost = FindLostMessages(reader, tips, kStartupTimeout);
  for (const LostMessages& l : lost) past.insert(tables.at({l.topic, l.partition}));
  if (!lost.empty()) {
    std::string names;
    for (const std::string& table : past) names += (names.empty() ? "" : ", ") + table;
    logger.Error(
        "the broker no longer holds messages that checkpoints cover; those tables publish their"
        " change tables again from the start (see README, Operations: the broker lost data)",
        {{"tables", names}, {"lost", LossWatch::Describe(lost)}});
  }
  return past;
}

// Writes each table's confirmed position when it changed since the last write.
class CheckpointWriter {
 public:
  CheckpointWriter(Publisher& publisher, const ProducerSettings& settings, const Clock& clock,
                   Logger logger)
      : publisher_(publisher), settings_(settings), clock_(clock), logger_(std::move(logger)) {}

  void Add(size_t index, const std::string& table, const std::string& topic,
           const TablePosition& loaded) {
    tables_.push_back({index, table, topic, loaded});
  }
  void WriteChanged() {
    for (Entry& entry : tables_) {
      TablePosition position = publisher_.ledger(entry.index).Confirmed();
      // The partitions this run confirmed nothing in keep the tips of the previous record.
      position.tips = entry.written.tips;
      for (const auto& [partition, tip] : publisher_.TipsOf(entry.topic)) {
        position.tips[partition] = tip;
      }
      if (position == entry.written) continue;
      try {
        publisher_.PublishUntracked(
            settings_.checkpoint_topic, CheckpointKey(settings_.pipeline, entry.table),
            EncodeCheckpoint(settings_.pipeline, entry.table, position, NowText(clock_)));
        entry.written = position;
      } catch (const TransientError& e) {
        logger_.Warn("checkpoint not written yet", {{"table", entry.table}, {"error", e.what()}});
      }
    }
  }

 private:
  struct Entry {
    size_t index;
    std::string table;
    std::string topic;
    TablePosition written;
  };
  Publisher& publisher_;
  const ProducerSettings& settings_;
  const Clock& clock_;
  const Logger logger_;
  std::vector<Entry> tables_;
};

}  // namespace

int RunProducer(const config::Config& config, const ProducerSettings& settings,
                const Logging& logging, std::stop_token stop,
                const std::function<void()>& on_fatal) {
  const Logger logger = logging.Get("producer");
  SystemClock clock;
  metrics::Registry registry;
  ProducerMetrics metrics(registry);
  std::vector<std::unique_ptr<TableStream>> streams;
  std::mutex streams_mutex;
  metrics::StatusServer status(
      registry,
      [&]() -> metrics::Readiness {
        std::lock_guard lock(streams_mutex);
        if (streams.empty()) return {false, "starting", ""};
        std::string reasons;
        std::string warnings;
        for (const auto& stream : streams) {
          const TableHealth health = stream->health();
          if (!health.ok)
            reasons += (reasons.empty() ? "" : "; ") + stream->name() + ": " + health.error;
          if (!health.warning.empty())
            warnings += (warnings.empty() ? "" : "; ") + stream->name() + ": " + health.warning;
        }
        return {reasons.empty(), reasons, warnings};
      },
      logging.Get("status"));
  AddBackfillCommands(status, [&](const std::string& table) -> std::optional<TableStream*> {
    std::lock_guard lock(streams_mutex);
    if (streams.size() < settings.tables.size()) return std::nullopt;  // still starting
    for (const auto& stream : streams) {
      if (stream->name() == table) return stream.get();
    }
    return nullptr;
  });
  status.Start(settings.metrics_listen);
  logger.Info("producer starting",
              {{"pipeline", settings.pipeline},
               {"tables", static_cast<int64_t>(settings.tables.size())},
               {"metrics", settings.metrics_listen.host + ":" + std::to_string(status.port())}});

  const kafka::KafkaSettings kafka = kafka::KafkaSettings::FromConfig(config);
  std::map<std::string, TablePosition> positions;
  std::set<std::string> past_lost;
  std::unique_ptr<registry::SchemaRegistry> schemas;
  // Kafka may not be up yet: retry the start-up reads until it is (or until stopped).
  RetryTransient(
      [&] {
        positions = LoadCheckpoints(kafka, settings.checkpoint_topic, settings.pipeline,
                                    kStartupTimeout, logger);
        past_lost = TablesPastLostMessages(kafka, settings, positions, logger);
        EnsureTopics(kafka, settings, logger);
        schemas = registry::MakeSchemaRegistry(config, kafka, clock, logging.Get("registry"));
      },
      BackoffPolicy{milliseconds(500), milliseconds(10'000), 2.0, std::nullopt}, clock, stop,
      [&](const TransientError& e, Clock::Duration) {
        logger.Warn("Kafka not ready; retrying", {{"error", e.what()}});
      });
  if (stop.stop_requested()) return 0;

  Publisher publisher(kafka, metrics, clock, logging.Get("publisher"));
  LoadTopicMetadata(publisher, settings, logger);
  CheckpointWriter checkpoints(publisher, settings, clock, logger);
  odbc::Environment environment;
  std::vector<std::unique_ptr<OdbcChangeSource>> sources;
  for (const TableSettings& table : settings.tables) {
    const auto found = positions.find(table.name);
    TablePosition position = found == positions.end() ? TablePosition{} : found->second;
    if (past_lost.count(table.name) != 0) {
      // From the change table's start, with the published columns and nullability kept (the
      // key schema must not change); a backfill follows where purged rows may be missing.
      TablePosition reset;
      reset.columns = position.columns;
      reset.not_null = position.not_null;
      position = std::move(reset);
    }
    logger.Info("table position",
                {{"table", table.name},
                 {"watermark", position.watermark},
                 {"checkpoint", found != positions.end() && past_lost.count(table.name) == 0}});
    const size_t index = publisher.AddTable(table.name, position);
    checkpoints.Add(index, table.name, table.topic, position);
    sources.push_back(std::make_unique<OdbcChangeSource>(
        environment, settings.connection, settings.dialect, table.source, logging.Get("source")));
    std::lock_guard lock(streams_mutex);
    streams.push_back(std::make_unique<TableStream>(table.name, table.topic, settings.stream,
                                                    *sources.back(), publisher, index, *schemas,
                                                    metrics, clock, logging.Get("table")));
    if (past_lost.count(table.name) != 0 && settings.stream.purge) {
      streams.back()->RequestBackfill();
    }
  }

  std::stop_source workers_stop;
  std::atomic<bool> fatal{false};
  std::vector<std::thread> workers;
  for (auto& stream : streams) {
    workers.emplace_back([&, s = stream.get()] {
      try {
        s->Run(workers_stop.get_token());
      } catch (const std::exception& e) {
        logger.Error("table worker stopped by a fatal error",
                     {{"table", s->name()}, {"error", e.what()}});
        fatal = true;
        on_fatal();
      }
    });
  }

  Clock::TimePoint last_checkpoint = clock.Now();
  // The broker may lose what it confirmed (producer/loss_watch.h): after every broker was
  // unreachable no checkpoint is written until that is checked, and when it did the producer
  // stops without writing one, so its checkpoint never covers changes the broker no longer has.
  LossWatch loss_watch(publisher, *schemas, kafka, settings.confirmed_check_interval, clock,
                       logging.Get("producer"));
  bool lost_confirmed = false;
  try {
    while (!stop.stop_requested() && !fatal) {
      publisher.Serve(milliseconds(100));
      if (publisher.refused()) {
        logger.Error(
            "Kafka refused a topic (a missing ACL?); stopping: a restart once it is granted"
            " resumes from the checkpoint",
            {{"error", *publisher.refused()}});
        fatal = true;
        break;
      }
      if (const std::vector<LostMessages> lost = loss_watch.Poll(); !lost.empty()) {
        logger.Error(
            "the broker lost messages it had confirmed; stopping without writing a checkpoint"
            " (see README, Operations: the broker lost data)",
            {{"partitions", static_cast<int64_t>(lost.size())},
             {"lost", LossWatch::Describe(lost)}});
        lost_confirmed = true;
        fatal = true;
        break;
      }
      if (loss_watch.checkpoints_allowed() &&
          clock.Now() - last_checkpoint >= settings.checkpoint_interval) {
        checkpoints.WriteChanged();
        last_checkpoint = clock.Now();
      }
    }
  } catch (const FatalError& e) {
    logger.Error("Kafka producer fatal error; stopping (a restart resumes from the checkpoint)",
                 {{"error", e.what()}, {"code", e.code()}});
    fatal = true;
  }

  // Shutdown: stop polling, deliver what is in flight, record the final checkpoints.
  const Clock::TimePoint deadline = clock.Now() + kShutdownBudget;
  logger.Info("stopping: delivering what is in flight",
              {{"in_flight", publisher.InFlight()},
               {"budget_ms", static_cast<int64_t>(milliseconds(kShutdownBudget).count())}});
  workers_stop.request_stop();
  for (std::thread& worker : workers) worker.join();
  bool flushed = false;
  try {
    flushed = publisher.Flush(
        std::chrono::duration_cast<milliseconds>(deadline - clock.Now() - seconds(1)));
    // Not after the broker lost confirmed messages, nor before that was checked.
    if (!lost_confirmed && loss_watch.checkpoints_allowed()) checkpoints.WriteChanged();
    flushed = publisher.Flush(std::chrono::duration_cast<milliseconds>(
                  std::max<Clock::Duration>(deadline - clock.Now(), milliseconds(100)))) &&
              flushed;
  } catch (const FatalError& e) {
    logger.Error("could not flush at shutdown", {{"error", e.what()}});
    fatal = true;
  }
  if (!flushed) {
    logger.Warn(
        "messages still in flight at shutdown were dropped; the checkpoint does not "
        "include them, so a restart publishes them again",
        {{"in_flight", publisher.InFlight()}});
    publisher.PurgeAll();
  }
  logger.Info("producer stopped", {{"fatal", fatal.load()}});
  std::lock_guard lock(streams_mutex);
  streams.clear();
  return fatal ? 1 : 0;
}

int CheckProducer(const config::Config& config, const ProducerSettings& settings,
                  const Logging& logging, std::ostream& out) {
  const Logger logger = logging.Get("check");
  bool ok = true;
  out << "config: ok (pipeline " << settings.pipeline << ", " << settings.tables.size()
      << " tables)\n";
  try {
    odbc::Environment environment;
    for (const TableSettings& table : settings.tables) {
      OdbcChangeSource source(environment, settings.connection, settings.dialect, table.source,
                              logger);
      try {
        const event::TableMeta& meta = source.table();
        std::string key;
        for (size_t k : meta.key) key += (key.empty() ? "" : ",") + meta.columns[k].name;
        const std::optional<int64_t> max = source.MaxSeq();
        const std::vector<std::string> drift = source.Drift();
        ok = ok && drift.empty();
        out << "table " << table.name << ": " << (drift.empty() ? "ok" : "OUT OF DATE") << " ("
            << SqlDialectName(source.dialect()) << ", change table "
            << table.source.change_table.ToString() << ", " << meta.columns.size()
            << " columns, key [" << key << "], topic " << table.topic << ", max CDC_SEQ "
            << (max ? std::to_string(*max) : "none") << ")\n";
        for (const std::string& line : drift) out << "  " << line << "\n";
      } catch (const Error& e) {
        ok = false;
        out << "table " << table.name << ": FAILED: " << e.what() << "\n";
      }
    }
    // PostgreSQL: whether plain ALTER TABLEs are guarded (said, not a failure).
    odbc::Connection connection(environment, WithSourceDefaults(settings.connection));
    if (settings.dialect.value_or(DialectFromDbmsName(connection.DbmsName())) ==
        SqlDialect::kPostgres) {
      out << DdlGuardReport(connection) << "\n";
    }
  } catch (const Error& e) {
    ok = false;
    out << "source: FAILED: " << e.what() << "\n";
  }
  try {
    const kafka::KafkaSettings kafka = kafka::KafkaSettings::FromConfig(config);
    const std::map<std::string, TablePosition> positions =
        LoadCheckpoints(kafka, settings.checkpoint_topic, settings.pipeline, seconds(10), logger);
    out << "kafka: ok (" << kafka.bootstrap_servers << ", " << positions.size()
        << " checkpoints in " << settings.checkpoint_topic << ")\n";
  } catch (const Error& e) {
    ok = false;
    out << "kafka: FAILED: " << e.what() << "\n";
  }
  out << "result: " << (ok ? "ok" : "FAILED") << "\n";
  return ok ? 0 : 1;
}

}  // namespace cdc::producer

#include "producer/producer_app.h"

#include <unistd.h>

#include <atomic>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
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
#include "producer/drift.h"
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

// Writes each table's confirmed position when it changed since the last write.
class CheckpointWriter {
 public:
  CheckpointWriter(Publisher& publisher, const ProducerSettings& settings, const Clock& clock,
                   Logger logger)
      : publisher_(publisher), settings_(settings), clock_(clock), logger_(std::move(logger)) {}

  void Add(size_t index, const std::string& table, const TablePosition& loaded) {
    tables_.push_back({index, table, loaded});
  }
  void WriteChanged() {
    for (Entry& entry : tables_) {
      const TablePosition position = publisher_.ledger(entry.index).Confirmed();
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
  std::unique_ptr<registry::SchemaRegistry> schemas;
  // Kafka may not be up yet: retry the start-up reads until it is (or until stopped).
  RetryTransient(
      [&] {
        positions = LoadCheckpoints(kafka, settings.checkpoint_topic, settings.pipeline,
                                    kStartupTimeout, logger);
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
    const TablePosition position = found == positions.end() ? TablePosition{} : found->second;
    logger.Info("table position", {{"table", table.name},
                                   {"watermark", position.watermark},
                                   {"checkpoint", found != positions.end()}});
    const size_t index = publisher.AddTable(table.name, position);
    checkpoints.Add(index, table.name, position);
    sources.push_back(std::make_unique<OdbcChangeSource>(
        environment, settings.connection, settings.dialect, table.source, logging.Get("source")));
    std::lock_guard lock(streams_mutex);
    streams.push_back(std::make_unique<TableStream>(table.name, table.topic, settings.stream,
                                                    *sources.back(), publisher, index, *schemas,
                                                    metrics, clock, logging.Get("table")));
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
  try {
    while (!stop.stop_requested() && !fatal) {
      publisher.Serve(milliseconds(100));
      if (clock.Now() - last_checkpoint >= settings.checkpoint_interval) {
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
  workers_stop.request_stop();
  for (std::thread& worker : workers) worker.join();
  bool flushed = false;
  try {
    flushed = publisher.Flush(
        std::chrono::duration_cast<milliseconds>(deadline - clock.Now() - seconds(1)));
    checkpoints.WriteChanged();
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
        for (const DdlStatement& statement : statements) connection.Execute(statement.sql);
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
  return rc;
}

}  // namespace cdc::producer

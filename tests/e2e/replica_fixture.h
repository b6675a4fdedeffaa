// The fixture of the end-to-end tests that compare a source with its PostgreSQL replica through
// the whole pipeline (producer and consumer as processes, a dev broker): configuration, the
// application's workload, waiting for the replica to equal an expected rendering, the topics'
// before images and dead letters.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/json/codec.h"
#include "common/registry/topic_registry.h"
#include "tests/harness/pg_cluster.h"
#include "tests/integration/consumer/consumer_fixture.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {

// One column of a walked table and the values its rows take.
struct TypeCase {
  std::string column;
  std::string type;
  std::vector<std::string> values;  // SQL expressions, one per row (rows beyond: NULL)
  std::string compare = "%s";       // how both sides are rendered for the comparison
};

// The rows of `table` as one JSON text, every column of `cases` rendered with its format.
inline std::string Render(const PgCluster& cluster, const std::string& database,
                          const std::string& table, const std::vector<TypeCase>& cases) {
  std::string columns = "id";
  for (const TypeCase& c : cases) {
    std::string expression = c.compare;
    expression.replace(expression.find("%s"), 2, c.column);
    columns +=
        ", CASE WHEN " + c.column + " IS NULL THEN NULL ELSE format('%s', " + expression + ") END";
  }
  return cluster.Psql(database, "SELECT coalesce(json_agg(json_build_array(" + columns +
                                    ") ORDER BY id), '[]') FROM " + table);
}

// A pipeline with a PostgreSQL replica, run once per format (the test parameter: "avro" or
// "json"): a dev broker, a cluster for the replica (and a PostgreSQL source), the producer and
// the consumer as processes.
class ReplicaPipelineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    cluster_.CreateDatabase("replica");
    config_ = dir_.File("config.yaml");
  }

  // The pipeline's configuration: `connection` as the source with `tables`, the replica here.
  void WriteConfig(const std::string& connection, const std::string& tables) {
    WriteText(config_,
              ProducerConfig(broker_.bootstrap(), connection, tables, "  snapshot: never\n",
                             "  format: " + GetParam() +
                                 "\n  properties: {topic.metadata.refresh.interval.ms: "
                                 "'1000'}\n") +
                  "postgres:\n  url: \"" + cluster_.Url("replica") +
                  "\"\n  schema: replica\nconsumer:\n  group_id: walk\n"
                  "  topic_pattern: '^cdc\\..*'\n  metrics_listen: 127.0.0.1:0\n"
                  "  batch_max_ms: 50\n");
    Process ddl({CDC_PRODUCER_PATH, "ddl", "--config", config_, "--apply"}, dir_.File("ddl.log"));
    ASSERT_EQ(ddl.Wait(std::chrono::seconds(60)), 0) << TailFile(dir_.File("ddl.log"));
  }

  // The application's workload on `table` (columns `columns`, `values[row][column]` SQL
  // literals): inserts, an update of every row to the next row's values, a key change (0 ->
  // 1000) and a delete (1). `execute` runs one statement and returns its error, or "".
  void Workload(const std::string& table, const std::vector<std::string>& columns,
                const std::vector<std::vector<std::string>>& values,
                const std::function<std::string(const std::string&)>& execute) {
    std::vector<std::string> statements;
    for (size_t row = 0; row < values.size(); ++row) {
      std::string sql = "INSERT INTO " + table + " VALUES (" + std::to_string(row);
      for (const std::string& value : values[row]) sql += ", " + value;
      statements.push_back(sql + ")");
    }
    for (size_t row = 0; row < values.size(); ++row) {
      std::string set = "id = id";
      for (size_t c = 0; c < columns.size(); ++c) {
        set += ", " + columns[c] + " = " + values[(row + 1) % values.size()][c];
      }
      statements.push_back("UPDATE " + table + " SET " + set +
                           " WHERE id = " + std::to_string(row));
    }
    statements.push_back("UPDATE " + table + " SET id = 1000 WHERE id = 0");
    statements.push_back("DELETE FROM " + table + " WHERE id = 1");
    for (const std::string& sql : statements) {
      const std::string error = execute(sql);
      if (!error.empty()) refusals_.push_back(error.substr(0, 200));
    }
  }

  // Start(topic), then WaitReplica: the consumer starts once the producer has published (a
  // pattern subscription may otherwise meet the topics only at a later metadata refresh).
  void ExpectReplica(const std::string& target, const std::string& topic,
                     const std::vector<TypeCase>& cases, const std::string& expected) {
    Start(topic);
    WaitReplica(target, cases, expected);
  }

  // Starts the producer, and once it has published to `topic` the consumer; no-op when running.
  void Start(const std::string& topic) {
    if (producer_) return;
    producer_ = std::make_unique<Process>(
        std::vector<std::string>{CDC_PRODUCER_PATH, "run", "--config", config_},
        dir_.File("producer.log"));
    ASSERT_TRUE(WaitFor([&] { return !ReadTopic(broker_.bootstrap(), topic).empty(); },
                        std::chrono::seconds(30)))
        << TailFile(dir_.File("producer.log"));
    consumer_ = std::make_unique<Process>(
        std::vector<std::string>{CDC_CONSUMER_PATH, "run", "--config", config_},
        dir_.File("consumer.log"));
  }

  // Waits until the replica's rendering of `target` (Render with `cases`) equals `expected`.
  void WaitReplica(const std::string& target, const std::vector<TypeCase>& cases,
                   const std::string& expected) {
    std::string replica;
    const bool same = WaitFor(
        [&] {
          try {
            replica = Render(cluster_, "replica", target, cases);
          } catch (const std::exception&) {
            return false;  // not created yet
          }
          return replica == expected;
        },
        std::chrono::seconds(90));
    EXPECT_TRUE(same) << "expected:\n"
                      << expected.substr(0, 3000) << "\nreplica:\n"
                      << replica.substr(0, 3000) << "\n"
                      << TailFile(dir_.File("producer.log")) << TailFile(dir_.File("consumer.log"));
  }

  // Every update event of `topic` carries the image the key had before it - the `after` of the
  // key's previous event - value for value (bit for bit for floats: NaN, -0).
  void ExpectBeforeImages(const std::string& topic, size_t updates) {
    kafka::KafkaSettings kafka;
    kafka.bootstrap_servers = broker_.bootstrap();
    registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
    event::EventDecoder decoder(schemas, event::ParseFormat(GetParam()));
    auto same = [](const event::Row& a, const event::Row& b) {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        const auto* x = std::get_if<double>(&a[i]);
        const auto* y = std::get_if<double>(&b[i]);
        if (x && y ? std::memcmp(x, y, sizeof(double)) != 0 : !(a[i] == b[i])) return false;
      }
      return true;
    };
    std::map<std::string, event::Row> last;  // key -> the image after its latest event
    size_t checked = 0;
    for (const TopicMessage& m : ReadTopic(broker_.bootstrap(), topic)) {
      if (!m.value) continue;
      const event::ChangeEvent e = decoder.Decode(*m.value, m.headers).event;
      const std::string key = KeyText(e.key);
      if (e.op == event::Op::kUpdate) {
        ++checked;
        EXPECT_TRUE(e.before.has_value()) << topic << " key " << key << ": update without before";
        if (e.before && last.count(key)) {
          EXPECT_TRUE(same(*e.before, last[key])) << topic << " key " << key;
        }
      } else if (e.op != event::Op::kDelete) {
        EXPECT_FALSE(e.before.has_value()) << topic << " key " << key;
      }
      if (e.after) last[key] = *e.after;
    }
    EXPECT_EQ(checked, updates) << topic;
  }

  // deploy/examples/subscriber.py prints every event of `topic` as the contract's JSON: its
  // `before` and `after` equal this library's JSON encoding of the same event, value for value
  // (in the Avro run the subscriber converts every type itself). Returns the events compared.
  size_t ExpectSubscriberMatchesTheContract(const std::string& topic) {
    Process subscriber(
        {"/usr/bin/python3", std::string(CDC_SOURCE_DIR) + "/deploy/examples/subscriber.py",
         "--bootstrap", broker_.bootstrap(), "--topic", topic, "--from-beginning", "--exit-at-end"},
        dir_.File("subscriber.log"));
    std::map<std::pair<int64_t, std::string>, nlohmann::json> printed;  // (seq, op) -> line
    while (auto line = subscriber.ReadLine(std::chrono::seconds(60))) {
      nlohmann::json change = nlohmann::json::parse(*line);
      printed[{change.at("seq").get<int64_t>(), change.at("op").get<std::string>()}] = change;
    }
    EXPECT_EQ(subscriber.Wait(std::chrono::seconds(10)), 0)
        << TailFile(dir_.File("subscriber.log"));
    kafka::KafkaSettings kafka;
    kafka.bootstrap_servers = broker_.bootstrap();
    registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
    event::EventDecoder decoder(schemas, event::ParseFormat(GetParam()));
    size_t compared = 0;
    for (const TopicMessage& m : ReadTopic(broker_.bootstrap(), topic)) {
      if (!m.value) continue;
      const event::DecodedEvent decoded = decoder.Decode(*m.value, m.headers);
      const nlohmann::json contract =
          nlohmann::json::parse(json::EncodeEnvelope(*decoded.table, decoded.event));
      const auto it = printed.find({decoded.event.source.seq, m.op()});
      if (it == printed.end()) {
        ADD_FAILURE() << topic << ": the subscriber did not print seq " << decoded.event.source.seq;
        continue;
      }
      ++compared;
      for (const char* image : {"before", "after"}) {
        const nlohmann::json& got = it->second.at(image);
        const nlohmann::json& want = contract.at(image);
        if (got.is_null() || want.is_null()) {
          EXPECT_EQ(got.is_null(), want.is_null()) << topic << " seq " << decoded.event.source.seq;
          continue;
        }
        for (const auto& [column, value] : want.items()) {
          if (!got.contains(column) || got.at(column) != value) {
            ADD_FAILURE() << topic << " seq " << decoded.event.source.seq << " " << image << "."
                          << column << ": subscriber "
                          << (got.contains(column) ? got.at(column).dump().substr(0, 120) : "-")
                          << ", contract " << value.dump().substr(0, 120);
          }
        }
      }
    }
    return compared;
  }

  // The producer's dead letters of `table`.
  std::vector<std::string> DeadLetters(const std::string& table) {
    std::vector<std::string> out;
    for (const TopicMessage& m : ReadTopic(broker_.bootstrap(), "_cdc_producer_dlq")) {
      if (m.value && m.value->find("\"table\":\"" + table + "\"") != std::string::npos) {
        out.push_back(*m.value);
      }
    }
    return out;
  }

  // Waits until the replica's `target` holds exactly the ids `ids` ("3" or "1,2").
  bool ReplicaIds(const std::string& target, const std::string& ids) {
    return WaitFor(
        [&] {
          try {
            return cluster_.Psql("replica", "SELECT string_agg(id::text, ',' ORDER BY id) FROM " +
                                                target) == ids;
          } catch (const std::exception&) {
            return false;
          }
        },
        std::chrono::seconds(60));
  }

  void TearDown() override {
    if (producer_) producer_->Stop(SIGTERM, std::chrono::seconds(20));
    if (consumer_) consumer_->Stop(SIGTERM, std::chrono::seconds(20));
  }

  DevBroker broker_;
  PgCluster cluster_;
  TempDir dir_{"cdc-replica-pipeline"};
  std::string config_;
  std::vector<std::string> refusals_;
  std::unique_ptr<Process> producer_;
  std::unique_ptr<Process> consumer_;
};

}  // namespace cdc::testing

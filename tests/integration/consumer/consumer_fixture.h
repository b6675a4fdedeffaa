// Shared set-up for consumer integration tests: a real PostgreSQL cluster (database `replica`), a
// dev broker, an event writer that publishes change events exactly as cdc-producer does (same
// schemas, registry and message builder), and cdc-consumer child processes.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/avro/schema.h"
#include "common/clock.h"
#include "common/config/config.h"
#include "common/event/messages.h"
#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/kafka/topic_reader.h"
#include "common/log.h"
#include "common/registry/factory.h"
#include "tests/harness/dev_broker.h"
#include "tests/harness/event_writer.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/scale.h"

namespace cdc::testing {

// SHOP.ORDERS: ID bigint key, NOTE varchar(40) null, AMOUNT numeric(12,2) null, QTY int not null.
inline event::TableMeta OrdersTable(bool with_color = false) {
  event::TableMeta table;
  table.db = "shop";
  table.schema = "SHOP";
  table.table = "ORDERS";
  table.columns.push_back({"ID", event::ColumnType::kInt64, 0, 0, 0, false, -5, {}});
  table.columns.push_back({"NOTE", event::ColumnType::kString, 0, 0, 40, true, 12, {}});
  table.columns.push_back({"AMOUNT", event::ColumnType::kDecimal, 12, 2, 0, true, 3, {}});
  table.columns.push_back({"QTY", event::ColumnType::kInt32, 0, 0, 0, false, 4, {}});
  if (with_color)
    table.columns.push_back({"COLOR", event::ColumnType::kString, 0, 0, 10, true, 12, {}});
  table.key = {0};
  return table;
}

// An ORDERS change event.
inline event::ChangeEvent OrderEvent(event::Op op, int64_t id, int64_t seq,
                                     std::optional<std::string> note, int64_t qty,
                                     std::optional<std::string> amount = std::nullopt) {
  event::ChangeEvent e;
  e.op = op;
  event::Row row = {id, note ? event::Value(*note) : event::Value(),
                    amount ? event::Value(*amount) : event::Value(), qty};
  if (op == event::Op::kDelete) {
    e.before = row;
  } else {
    e.after = row;
  }
  e.key = {id};
  e.source = {"test",       "shop",
              "SHOP",       "ORDERS",
              seq,          1'795'000'000'000'000 + seq,
              std::nullopt, op == event::Op::kRead};
  e.ts_ms = 1'795'000'000'000;
  return e;
}

// Every message of `topic` (headers included), read without a group.
struct ReadMessage {
  std::optional<std::string> value;
  std::vector<kafka::Header> headers;
  std::string Header(const std::string& key) const {
    for (const kafka::Header& h : headers) {
      if (h.key == key) return h.value.value_or("");
    }
    return "<missing>";
  }
};
inline std::vector<ReadMessage> ReadAll(const std::string& bootstrap, const std::string& topic) {
  kafka::KafkaSettings settings;
  settings.bootstrap_servers = bootstrap;
  Logging logging(LogFormat::kText, LogLevel::kWarn);
  kafka::Consumer consumer(settings, "test-reader", nullptr, logging.Get("reader"));
  kafka::TopicReader reader(consumer, topic);
  std::vector<ReadMessage> out;
  reader.ReadToEnd(std::chrono::seconds(60), [&](const kafka::Message& message) {
    ReadMessage m;
    if (message.value()) m.value = std::string(*message.value());
    m.headers = message.headers();
    out.push_back(std::move(m));
  });
  consumer.Close();
  return out;
}

// True when every partition of `topic` still starts at offset 0: the dev broker (5 MB per
// partition) dropped nothing, so a test's "everything applied" means what it says.
inline bool TopicComplete(const std::string& bootstrap, const std::string& topic) {
  kafka::KafkaSettings settings;
  settings.bootstrap_servers = bootstrap;
  Logging logging(LogFormat::kText, LogLevel::kWarn);
  kafka::Consumer reader(settings, "test-watermarks", nullptr, logging.Get("reader"));
  for (const int32_t p : reader.Partitions(topic, std::chrono::seconds(10))) {
    if (reader.Watermarks(topic, p, std::chrono::seconds(10)).first != 0) return false;
  }
  return true;
}

inline std::string ConsumerConfig(const std::string& bootstrap, const std::string& pg_url,
                                  const std::string& extra = "",
                                  const std::string& format = "avro") {
  return "pipeline: {name: test}\n"
         "log: {level: info, format: json}\n"
         "kafka:\n  bootstrap_servers: " +
         bootstrap + "\n  format: " + format +
         "\n  properties: {session.timeout.ms: '6000', heartbeat.interval.ms: '500'}\n"
         "postgres:\n  url: \"" +
         pg_url +
         "\"\n  schema: replica\n"
         "consumer:\n  group_id: cdc-pg\n  topic_pattern: '^cdc\\..*'\n"
         "  metrics_listen: 127.0.0.1:0\n  batch_max_ms: 50\n" +
         extra;
}

class ConsumerProcess {
 public:
  ConsumerProcess(const std::vector<std::string>& args, const std::string& log_path) {
    std::vector<std::string> argv = {CDC_CONSUMER_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<Process>(argv, log_path);
  }
  int Stop(int signal = SIGTERM) { return process_->Stop(signal, std::chrono::seconds(20)); }
  std::optional<int> Wait(std::chrono::milliseconds timeout) { return process_->Wait(timeout); }
  // Everything the process prints on stdout until it exits (for one-shot commands).
  std::string Output() {
    std::string out;
    while (auto line = process_->ReadLine(std::chrono::seconds(60))) out += *line + "\n";
    return out;
  }
  bool running() const { return process_->running(); }
  // The next stdout line within `timeout`.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout) {
    return process_->ReadLine(timeout);
  }
  // The first stdout line containing `text` within `timeout` ("" when none came).
  std::string WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      const auto line = process_->ReadLine(std::max(left, std::chrono::milliseconds(1)));
      if (!line) return "";
      if (line->find(text) != std::string::npos) return *line;
    }
    return "";
  }

 private:
  std::unique_ptr<Process> process_;
};

// The status port a consumer logged ("status endpoint listening", address 127.0.0.1:PORT; the
// log in JSON), 0 before it did.
inline int StatusPort(const std::string& log_path) {
  std::smatch match;
  const std::string log = TailFile(log_path, 400);
  static const std::regex kListening(R"re("status endpoint listening","address":"[^"]*:(\d+)")re");
  return std::regex_search(log, match, kListening) ? std::stoi(match[1]) : 0;
}

// True once the consumer's /ready (on `port`) answers 200 within `timeout`.
inline bool BecomesReady(int port, std::chrono::milliseconds timeout) {
  httplib::Client status("127.0.0.1", port);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto ready = status.Get("/ready");
    if (ready && ready->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// ISO-8601 UTC with seconds, e.g. 2026-11-21T10:00:00Z.
inline std::string IsoUtcForTest(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

template <typename Fn>
bool WaitUntil(Fn&& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

class ConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.CreateDatabase("replica");
    url_ = cluster_.Url("replica");
  }

  std::string Sql(const std::string& sql) const { return cluster_.Psql("replica", sql); }

  // Sum of stored next offsets of group cdc-pg over `topic` ("" when none).
  int64_t AppliedThrough(const std::string& topic) const {
    try {
      const std::string out = Sql(
          "SELECT COALESCE(sum(next_offset), -1) FROM cdc.offsets WHERE group_id = 'cdc-pg' AND "
          "topic = '" +
          topic + "'");
      return out.empty() ? -1 : std::stoll(out);
    } catch (const std::exception&) {
      return -1;  // the consumer has not created cdc.offsets yet
    }
  }

  std::string ConfigPath(const std::string& extra = "", const std::string& format = "avro") {
    const std::string path = dir_.path() + "/consumer.yaml";
    WriteFile(path, ConsumerConfig(broker_.bootstrap(), url_, extra, format));
    return path;
  }

  std::string LogPath() const { return dir_.path() + "/consumer.log"; }
  // The last lines of the consumer's log (for failure messages).
  std::string LogTail(size_t lines = 30) const { return TailFile(LogPath(), lines); }
  // Expects every line of the log to be one JSON object with ts, level and msg (ConsumerConfig
  // sets log.format json: PostgreSQL's notices too go through the logger, never raw to
  // stderr). Returns how many lines are such notices (a pg_severity field).
  int ExpectJsonLogLines() const {
    std::ifstream in(LogPath());
    std::string line;
    int notices = 0;
    int lines = 0;
    while (std::getline(in, line)) {
      ++lines;
      const nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(object.is_object() && object.contains("ts") && object.contains("level") &&
                  object.contains("msg"))
          << "not a JSON log line: " << line;
      if (object.is_object() && object.contains("pg_severity")) ++notices;
    }
    EXPECT_GT(lines, 0);
    return notices;
  }

  PgCluster cluster_;
  DevBroker broker_;
  TempDir dir_;
  std::string url_;
};

}  // namespace cdc::testing

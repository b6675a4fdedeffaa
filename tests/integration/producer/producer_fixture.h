// Shared pieces of the producer's integration tests: running cdc-producer as a process against
// a dev broker, reading topics back, and the Java client's murmur2 partitioner to compare with.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/event/decoder.h"
#include "common/kafka/consumer.h"
#include "common/kafka/topic_reader.h"
#include "common/log.h"
#include "common/odbc/odbc.h"
#include "tests/harness/dev_broker.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/process.h"

namespace cdc::testing {

struct TopicMessage {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::optional<std::string> value;
  std::vector<kafka::Header> headers;

  std::string Header(const std::string& name) const {
    for (const kafka::Header& header : headers) {
      if (header.key == name) return header.value.value_or("");
    }
    return "";
  }
  int64_t seq() const { return std::stoll(Header("cdc.seq")); }
  std::string op() const { return Header("cdc.op"); }
};

// Every CDC_SEQ in a change table.
inline std::set<int64_t> Seqs(odbc::Connection& connection, const std::string& change_table) {
  std::set<int64_t> seqs;
  for (const auto& row : Query(connection, "SELECT \"CDC_SEQ\" FROM " + change_table)) {
    seqs.insert(std::stoll(*row[0]));
  }
  return seqs;
}

inline Logger TestLogger() {
  static Logging logging(LogFormat::kText, LogLevel::kError);
  return logging.Get("test");
}

// Every message of `topic` from the beginning to its current end, in partition order.
inline std::vector<TopicMessage> ReadTopic(const std::string& bootstrap, const std::string& topic) {
  kafka::KafkaSettings settings;
  settings.bootstrap_servers = bootstrap;
  kafka::Consumer consumer(settings, "test-reader-" + std::to_string(getpid()), nullptr,
                           TestLogger());
  kafka::TopicReader reader(consumer, topic);
  std::vector<TopicMessage> out;
  reader.ReadToEnd(std::chrono::seconds(60), [&](const kafka::Message& message) {
    TopicMessage m;
    m.partition = message.partition();
    m.offset = message.offset();
    m.key = std::string(message.key().value_or(""));
    if (message.value()) m.value = std::string(*message.value());
    m.headers = message.headers();
    out.push_back(std::move(m));
  });
  consumer.Close();
  return out;
}

// The sequence numbers present in a topic (tombstones included).
inline std::set<int64_t> TopicSeqs(const std::vector<TopicMessage>& messages) {
  std::set<int64_t> seqs;
  for (const TopicMessage& m : messages) seqs.insert(m.seq());
  return seqs;
}

// Per-key order in a topic: within each partition, the events of one key (tombstones skipped)
// must not go back in seq, except that an event may repeat an earlier one exactly (same seq and
// op: a producer restart publishes again from its checkpoint). Returns the events that broke it,
// as "partition/key: seq A after seq B" lines.
inline std::vector<std::string> OrderViolations(const std::vector<TopicMessage>& messages) {
  std::map<std::pair<int32_t, std::string>, int64_t> highest;
  std::set<std::tuple<int32_t, std::string, int64_t, std::string>> seen;
  std::vector<std::string> out;
  for (const TopicMessage& m : messages) {
    if (!m.value) continue;
    const auto key = std::make_pair(m.partition, m.key);
    const auto event = std::make_tuple(m.partition, m.key, m.seq(), m.op());
    auto it = highest.find(key);
    if (it != highest.end() && m.seq() < it->second && seen.count(event) == 0) {
      out.push_back(std::to_string(m.partition) + "/" + m.key + ": seq " + std::to_string(m.seq()) +
                    " (" + m.op() + ") after seq " + std::to_string(it->second));
    }
    seen.insert(event);
    if (it == highest.end() || m.seq() > it->second) highest[key] = m.seq();
  }
  return out;
}

// A value as text for comparisons with SQL results ("NULL" for SQL NULL).
inline std::string ValueText(const event::Value& value) {
  if (event::IsNull(value)) return "NULL";
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<double>(&value)) return std::to_string(*d);
  return std::get<std::string>(value);
}

// The key values of an event joined by '|'.
inline std::string KeyText(const event::Row& key) {
  std::string out;
  for (const event::Value& v : key) out += (out.empty() ? "" : "|") + ValueText(v);
  return out;
}

// The event a version-guarded apply keeps per key: the highest seq, ties to the later offset
// (events of one key share a partition). Tombstones are skipped.
inline std::map<std::string, event::ChangeEvent> WinningEvents(
    const std::vector<TopicMessage>& messages, event::EventDecoder& decoder) {
  std::map<std::string, std::pair<int64_t, int64_t>> best;  // key -> (seq, offset)
  std::map<std::string, event::ChangeEvent> out;
  for (const TopicMessage& m : messages) {
    if (!m.value) continue;
    event::ChangeEvent decoded = decoder.Decode(*m.value, m.headers).event;
    const std::string key = KeyText(decoded.key);
    const std::pair<int64_t, int64_t> rank{decoded.source.seq, m.offset};
    auto it = best.find(key);
    if (it != best.end() && it->second > rank) continue;
    best[key] = rank;
    out[key] = std::move(decoded);
  }
  return out;
}

// The last event per key in topic order (tombstones skipped).
inline std::map<std::string, event::ChangeEvent> LastEvents(
    const std::vector<TopicMessage>& messages, event::EventDecoder& decoder) {
  std::map<std::string, event::ChangeEvent> out;
  for (const TopicMessage& m : messages) {
    if (!m.value) continue;
    event::ChangeEvent decoded = decoder.Decode(*m.value, m.headers).event;
    out[KeyText(decoded.key)] = std::move(decoded);
  }
  return out;
}

// The last checkpoint watermark the producer wrote for `table` (-1 when none).
inline int64_t CheckpointWatermark(const std::string& bootstrap, const std::string& table) {
  int64_t watermark = -1;
  for (const TopicMessage& m : ReadTopic(bootstrap, "_cdc_offsets")) {
    if (m.key != "test/" + table || !m.value) continue;
    const size_t at = m.value->find("\"watermark\":");
    if (at != std::string::npos) watermark = std::stoll(m.value->substr(at + 12));
  }
  return watermark;
}

// Kafka's Java murmur2 partitioner (Utils.murmur2, toPositive, modulo).
inline int32_t JavaPartition(std::string_view key, int32_t partitions) {
  const uint32_t m = 0x5bd1e995;
  const size_t length = key.size();
  uint32_t h = 0x9747b28c ^ static_cast<uint32_t>(length);
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  for (size_t i = 0; i + 4 <= length; i += 4) {
    uint32_t k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (uint32_t{data[i + 3]} << 24);
    k *= m;
    k ^= k >> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = length & ~size_t{3};
  switch (length % 4) {
    case 3:
      h ^= data[tail + 2] << 16;
      [[fallthrough]];
    case 2:
      h ^= data[tail + 1] << 8;
      [[fallthrough]];
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>((h & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

// The last `lines` lines of a file (for failure messages).
inline std::string Tail(const std::string& path, size_t lines = 40) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line.substr(0, 600));
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += all[i] + "\n";
  }
  return out;
}

// How many lines of the file at `path` contain `needle`.
inline size_t CountInFile(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

// The integer value of `field` in the last JSON log line of `path` that contains `needle`, or -1.
inline int64_t LoggedNumber(const std::string& path, const std::string& needle,
                            const std::string& field) {
  std::ifstream in(path);
  int64_t value = -1;
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find("\"" + field + "\":");
    if (line.find(needle) == std::string::npos || at == std::string::npos) continue;
    value = std::stoll(line.substr(at + field.size() + 3));
  }
  return value;
}

// The "host:port" of a producer's status endpoint, from its JSON log ("" until it listens).
inline std::string StatusAddress(const std::string& log_path) {
  std::ifstream in(log_path);
  for (std::string line; std::getline(in, line);) {
    if (line.find("status endpoint listening") == std::string::npos) continue;
    const size_t at = line.find("\"address\":\"");
    if (at == std::string::npos) continue;
    const size_t start = at + 11;
    return line.substr(start, line.find('"', start) - start);
  }
  return "";
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

// A cdc-producer process on a config file.
class ProducerProcess {
 public:
  ProducerProcess(const std::string& config_path, const std::string& log_path,
                  const std::string& command = "run") {
    process_ = std::make_unique<Process>(
        std::vector<std::string>{CDC_PRODUCER_PATH, command, "--config", config_path}, log_path);
  }
  int Stop(int signal = SIGTERM) { return process_->Stop(signal, std::chrono::seconds(20)); }
  std::optional<int> Wait(std::chrono::milliseconds timeout) { return process_->Wait(timeout); }
  bool running() const { return process_->running(); }

 private:
  std::unique_ptr<Process> process_;
};

// Config text for a producer on `connection` with `tables` (YAML list items) and extra lines.
inline std::string ProducerConfig(const std::string& bootstrap, const std::string& connection,
                                  const std::string& tables, const std::string& producer_extra = "",
                                  const std::string& kafka_extra = "") {
  return "pipeline: {name: test}\n"
         "log: {level: info, format: json}\n"
         "kafka:\n  bootstrap_servers: " +
         bootstrap + "\n" + kafka_extra + "source:\n  connection: \"" + connection +
         "\"\n"
         "producer:\n  metrics_listen: 127.0.0.1:0\n  poll_interval_ms: 50\n"
         "  checkpoint_interval_ms: 200\n" +
         producer_extra + "  tables:\n" + tables;
}

// Runs a one-shot cdc-producer command; returns its exit code and stdout.
inline std::pair<int, std::string> RunCommand(const std::vector<std::string>& args,
                                              const std::string& log) {
  std::vector<std::string> argv = {CDC_PRODUCER_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  Process process(argv, log);
  std::string out;
  while (auto line = process.ReadLine(std::chrono::seconds(60))) out += *line + "\n";
  return {process.Wait(std::chrono::seconds(30)).value_or(-1), out};
}

// Waits until `done()` or `timeout`; returns done().
template <typename Fn>
bool WaitFor(Fn done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return done();
}

}  // namespace cdc::testing

// The quickstart topology for end-to-end tests, every part real and on free ports: a SQLite
// source with the demo schema (cdc-workload) and its change tables (cdc-producer ddl --apply),
// cdc-producer, a dev broker, cdc-consumer, a PostgreSQL cluster and cdc-api, all with one
// config file as deploy/quickstart.sh writes it. Processes are stopped (SIGTERM) on destruction.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/odbc/odbc.h"
#include "tests/harness/dev_broker.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/process.h"

namespace cdc::testing {

// A row as canonical text values (decimals with their scale, timestamps to the millisecond,
// bytes as lower-case hex), so that the source, the replica and the API compare exactly.
using CanonicalRow = std::vector<std::optional<std::string>>;

enum class Kind { kInteger, kText, kDecimal, kTimestamp, kBytes };

struct DemoColumn {
  std::string name;  // source (upper-case) name; the replica's is lower-case
  Kind kind;
};

struct DemoTable {
  std::string name;  // source name, e.g. ORDER_LINES
  std::vector<DemoColumn> columns;
  std::string target() const;  // replica name, e.g. order_lines
  std::string topic() const { return "cdc.main." + name; }
};

// The tables of cdc-workload's demo schema.
const std::vector<DemoTable>& DemoTables();

// Whether the pipeline captures `table` with before_image (ORDERS does, the others do not).
inline bool RecordsBeforeImages(const DemoTable& table) { return table.name == "ORDERS"; }

class Pipeline {
 public:
  // `format` is kafka.format (avro | json); `consumer_settings` are more lines of the consumer
  // section (indented by two spaces).
  explicit Pipeline(const std::string& format, const std::string& consumer_settings = "");
  ~Pipeline();

  // Starts the consumer, the producer and the API and waits until each answers /health.
  void Start();
  // Runs cdc-workload with `args` (after --source/--schema) to completion and returns its
  // stdout (the totals JSON line). Fails the test on a non-zero exit.
  std::string RunWorkload(const std::vector<std::string>& args);
  // Waits until the producer has published every change-table row and the consumer has applied
  // every record in the topics. Returns false on timeout (with the reason in `why`).
  bool WaitDrained(std::chrono::seconds timeout, std::string* why);
  // SIGTERM to the API, the producer and the consumer; returns the exit statuses by name.
  std::map<std::string, int> Stop();

  // One process: consumer, producer, api, or replay (`cdc-consumer replay` with `args`, on the
  // consumer's status port); started, it answers /health.
  void StartProcess(const std::string& name, const std::vector<std::string>& args = {});
  // SIGTERM; the exit status.
  int StopProcess(const std::string& name);
  // Waits for the process to end by itself: its exit status, or nullopt after `timeout`.
  std::optional<int> WaitExit(const std::string& name, std::chrono::seconds timeout);
  // GET `path` from the process's status port: the HTTP status (0: no answer) and body.
  std::pair<int, std::string> Status(const std::string& name, const std::string& path);
  // Kills the dev broker and starts it again after `down`: every message is lost, the demo
  // topics come back empty.
  void RestartBroker(std::chrono::milliseconds down) { broker_.Restart(down); }

  std::vector<CanonicalRow> SourceRows(const DemoTable& table);
  std::vector<CanonicalRow> ReplicaRows(const DemoTable& table);
  // Every row through GET /api/v1/tables/{target}/rows, following next_cursor; `pages` counts
  // the requests.
  std::vector<CanonicalRow> ApiRows(const DemoTable& table, int* pages);
  // The table rebuilt from its change feed (GET /api/v1/tables/{target}/changes from seq 0,
  // following next_after_seq): each key's last change, deletes dropping the key.
  std::vector<CanonicalRow> FeedRows(const DemoTable& table);

  // Every change of `table` in its change table, as {seq, op (c/u/d), row image...}, sorted.
  std::vector<CanonicalRow> SourceChanges(const DemoTable& table);
  // The same from deploy/examples/subscriber.py reading the table's topic from the beginning
  // (as consumer group `group`, or without a group when empty).
  std::vector<CanonicalRow> SubscriberChanges(const DemoTable& table, const std::string& group);

  std::string Sql(const std::string& sql) const { return cluster_.Psql("replica", sql); }
  const std::string& bootstrap() const { return broker_.bootstrap(); }
  const std::string& config_path() const { return config_path_; }
  std::string source_connection() const { return source_.ConnectionString() + "Timeout=20000;"; }
  const TempDir& dir() const { return dir_; }
  std::string LogTail(const std::string& name, size_t lines = 30) const;

 private:
  uint16_t PortOf(const std::string& name) const;
  std::string Unpublished();
  int64_t TopicsBehind();

  PgCluster cluster_;
  DevBroker broker_;
  SqliteSource source_;
  TempDir dir_{"cdc-e2e"};
  std::string config_path_;
  uint16_t producer_port_ = 0;
  uint16_t consumer_port_ = 0;
  uint16_t api_port_ = 0;
  odbc::Environment environment_;
  std::unique_ptr<odbc::Connection> source_db_;
  std::map<std::string, std::unique_ptr<Process>> processes_;
};

// Compares two sorted row sets; on a difference, how many rows are missing and unexpected
// (a resurrected row is unexpected; a wrong one both), with the first few of each.
::testing::AssertionResult SameRows(const std::vector<CanonicalRow>& expected,
                                    const std::vector<CanonicalRow>& actual);

// Paths of the built binaries (set by CMake).
std::string BinaryPath(const std::string& name);

}  // namespace cdc::testing

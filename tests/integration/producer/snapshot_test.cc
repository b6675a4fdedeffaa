// An initial snapshot taken while the source keeps changing ends at the source's final state, and
// `cdc-producer snapshot --table` (a backfill, run by the running producer) re-publishes a table
// while it keeps streaming. Both interleave with the stream in key order: every partition's
// events of one key never go back in seq, so the last event of each key in the topic - what a
// subscriber applying in arrival order ends with - is the source's row.
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "common/event/decoder.h"
#include "common/registry/topic_registry.h"
#include "tests/harness/odbc_sources.h"
#include "tests/integration/producer/producer_fixture.h"
#include "tests/integration/producer/sqlite_workload.h"

namespace cdc::testing {
namespace {

// How one table's source rows and its events are compared: `sql` selects the key columns first
// (`key_columns` of them), then the compared columns; `event_columns` are the same columns'
// positions in the event image; `hex_column` is an event position holding bytes (compared with
// SQLite's hex()).
struct TableCheck {
  std::string table;
  std::string sql;
  size_t key_columns;
  std::vector<size_t> event_columns;
  std::optional<size_t> hex_column;
};

const std::vector<TableCheck> kChecks = {
    {"CUSTOMERS", "SELECT ID, NAME, BALANCE, hex(PHOTO) FROM CUSTOMERS", 1, {0, 1, 2, 3}, 3},
    {"PRODUCTS", "SELECT SKU, TITLE, printf('%.2f', PRICE) FROM PRODUCTS", 1, {0, 1, 2}, {}},
    {"ORDER_LINES", "SELECT ORDER_ID, LINE_NO, QTY, NOTE FROM ORDER_LINES", 2, {0, 1, 2, 3}, {}},
};

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// Key text -> compared column texts, from the source.
std::map<std::string, std::vector<std::string>> SourceState(odbc::Connection& db,
                                                            const TableCheck& check) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& row : Query(db, check.sql)) {
    std::string key;
    std::vector<std::string> values;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string text = row[i].value_or("NULL");
      if (i < check.key_columns) key += (key.empty() ? "" : "|") + text;
      values.push_back(text);
    }
    out[key] = values;
  }
  return out;
}

// Differences between the source and the per-key events (empty when equal).
std::vector<std::string> Differences(const std::map<std::string, std::vector<std::string>>& source,
                                     const std::map<std::string, event::ChangeEvent>& events,
                                     const TableCheck& check) {
  std::vector<std::string> out;
  for (const auto& [key, expected] : source) {
    const auto it = events.find(key);
    if (it == events.end()) {
      out.push_back(check.table + " " + key + ": no event");
      continue;
    }
    if (it->second.op == event::Op::kDelete) {
      out.push_back(check.table + " " + key + ": last event is a delete but the row exists");
      continue;
    }
    std::vector<std::string> actual;
    for (size_t column : check.event_columns) {
      const event::Value& value = (*it->second.after)[column];
      actual.push_back(check.hex_column == column && !event::IsNull(value)
                           ? Hex(std::get<std::string>(value))
                           : ValueText(value));
    }
    if (actual != expected) {
      out.push_back(check.table + " " + key + ": event (seq " +
                    std::to_string(it->second.source.seq) + ") differs from the row");
    }
  }
  for (const auto& [key, event] : events) {
    if (event.op != event::Op::kDelete && source.count(key) == 0) {
      out.push_back(check.table + " " + key + ": row deleted but the last event is not a delete");
    }
  }
  return out;
}

TEST(ProducerSnapshot, SnapshotAndBackfillUnderConcurrentWritesEndAtTheSourceState) {
  DevBroker broker;
  SqliteSource source;
  TempDir dir("cdc-producer-snapshot");
  SqliteWorkload workload(source.ConnectionString(), 11);
  workload.CreateTables();
  workload.Run(40'000);  // rows that exist before the change tables do: only a snapshot has them
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig(broker.bootstrap(), source.ConnectionString(),
                                   "    - name: main.CUSTOMERS\n"
                                   "    - name: main.PRODUCTS\n"
                                   "    - name: main.ORDER_LINES\n",
                                   "  batch_size: 500\n"));
  {
    Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
    ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0) << Tail(dir.File("ddl.log"));
  }

  // A writer that keeps changing all three tables (key changes and deletes included).
  std::atomic<bool> stop_writer{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    while (!stop_writer) {
      workload.Run(100, 50);
      written += 100;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  ASSERT_TRUE(WaitFor([&] { return written >= 2000; }, std::chrono::seconds(30)));
  ProducerProcess producer(config, dir.File("producer.log"));
  const bool snapshots_done =
      WaitFor([&] { return CountInFile(dir.File("producer.log"), "\"snapshot done\"") == 3; },
              std::chrono::seconds(120));
  ASSERT_TRUE(snapshots_done) << Tail(dir.File("producer.log"));

  // Backfill one table while the producer streams and the writer writes.
  const std::string status = StatusAddress(dir.File("producer.log"));
  ASSERT_FALSE(status.empty()) << Tail(dir.File("producer.log"));
  Process backfill({CDC_PRODUCER_PATH, "snapshot", "--config", config, "--table", "main.CUSTOMERS",
                    "--producer", status},
                   dir.File("backfill.log"));
  const std::optional<int> backfill_rc = backfill.Wait(std::chrono::seconds(120));
  const int written_during_backfill = written;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  stop_writer = true;
  writer.join();
  ASSERT_EQ(backfill_rc, 0) << Tail(dir.File("backfill.log"));
  EXPECT_GT(written, written_during_backfill) << "the writer stopped before the backfill ended";
  // Progress on stderr: rows, rate, elapsed.
  int64_t backfilled = 0;
  {
    std::ifstream in(dir.File("backfill.log"));
    for (std::string line; std::getline(in, line);) {
      const std::string prefix = "snapshot main.CUSTOMERS: ";
      if (line.rfind(prefix, 0) == 0 && line.find("rows/s") != std::string::npos &&
          line.find("(done)") != std::string::npos) {
        backfilled = std::stoll(line.substr(prefix.size()));
      }
    }
  }
  EXPECT_GT(backfilled, 1000) << Tail(dir.File("backfill.log"));

  odbc::Connection& db = workload.connection();
  std::map<std::string, std::vector<TopicMessage>> topics;
  std::map<std::string, std::set<int64_t>> change_seqs;
  for (const TableCheck& check : kChecks) change_seqs[check.table] = Seqs(db, check.table + "_CT");
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const TableCheck& check : kChecks) {
          topics[check.table] = ReadTopic(broker.bootstrap(), "cdc.main." + check.table);
          // A table that starts with a snapshot streams its change table from the beginning:
          // every change must be in the topic.
          const std::set<int64_t> seen = TopicSeqs(topics[check.table]);
          for (int64_t seq : change_seqs[check.table]) {
            if (seen.count(seq) == 0) return false;
          }
        }
        return true;
      },
      std::chrono::seconds(120)))
      << Tail(dir.File("producer.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);

  kafka::KafkaSettings kafka;
  kafka.bootstrap_servers = broker.bootstrap();
  registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
  event::EventDecoder decoder(schemas, event::Format::kAvro);
  for (const TableCheck& check : kChecks) {
    const auto state = SourceState(db, check);
    ASSERT_GT(state.size(), 1000u) << check.table;
    size_t reads = 0;
    int64_t max_seq = 0;
    for (const TopicMessage& m : topics[check.table]) {
      reads += m.op() == "r";
      max_seq = std::max(max_seq, m.seq());
    }
    EXPECT_GT(reads, 1000u) << check.table << ": the snapshot published too little";
    if (check.table == "CUSTOMERS") {  // the initial snapshot and the backfill
      EXPECT_GE(reads, static_cast<size_t>(backfilled) + 1000u);
    }
    EXPECT_GT(max_seq, 0) << check.table;
    // What a version-guarded apply keeps equals the source.
    const std::vector<std::string> winning =
        Differences(state, WinningEvents(topics[check.table], decoder), check);
    EXPECT_TRUE(winning.empty()) << winning.size() << " keys differ, first: " << winning.front();
    // So does applying in arrival order: the topic's last event per key, the backfilled table's
    // included.
    const std::vector<std::string> last =
        Differences(state, LastEvents(topics[check.table], decoder), check);
    EXPECT_TRUE(last.empty()) << last.size() << " keys differ, first: " << last.front();
    const std::vector<std::string> order = OrderViolations(topics[check.table]);
    EXPECT_TRUE(order.empty()) << check.table << ": " << order.size()
                               << " events went back in seq, first: " << order.front();
  }
}

// A backfill of a table whose change table was purged to empty: its rows' position may not fall
// below what the topic already carries (MAX(CDC_SEQ) is then NULL).
TEST(ProducerSnapshot, BackfillOfAPurgedChangeTableKeepsKeyOrder) {
  DevBroker broker;
  SqliteSource source;
  TempDir dir("cdc-producer-backfill-purged");
  odbc::Environment environment;
  odbc::Connection db(environment, source.ConnectionString());
  db.Execute("CREATE TABLE T (ID INTEGER PRIMARY KEY, V INTEGER)");
  const std::string config = dir.File("config.yaml");
  WriteText(config,
            ProducerConfig(broker.bootstrap(), source.ConnectionString(), "    - name: main.T\n",
                           "  snapshot: never\n  purge: true\n  purge_interval_ms: 100\n"));
  {
    Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
    ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0) << Tail(dir.File("ddl.log"));
  }
  for (int id = 1; id <= 50; ++id) {
    db.Execute("INSERT INTO T VALUES (" + std::to_string(id) + ", 0)");  // CDC_SEQ 1..50
  }
  ProducerProcess producer(config, dir.File("producer.log"));
  ASSERT_TRUE(WaitFor([&] { return Seqs(db, "T_CT").empty(); }, std::chrono::seconds(60)))
      << "the change table was not purged\n"
      << Tail(dir.File("producer.log"));
  Process backfill({CDC_PRODUCER_PATH, "snapshot", "--config", config, "--table", "main.T",
                    "--producer", StatusAddress(dir.File("producer.log"))},
                   dir.File("backfill.log"));
  ASSERT_EQ(backfill.Wait(std::chrono::seconds(60)), 0) << Tail(dir.File("backfill.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
  const std::vector<TopicMessage> topic = ReadTopic(broker.bootstrap(), "cdc.main.T");
  size_t reads = 0;
  for (const TopicMessage& m : topic) {
    if (m.op() != "r") continue;
    ++reads;
    EXPECT_GE(m.seq(), 50) << "a backfilled row went back below its key's change";
  }
  EXPECT_EQ(reads, 50u);
  EXPECT_TRUE(OrderViolations(topic).empty());
}

// A backfill runs inside the running producer: the command says where it looked when none answers
// (at once), and that port 0 in producer.metrics_listen does not say where to look.
TEST(ProducerSnapshot, BackfillCommandNeedsTheRunningProducer) {
  SqliteSource source;
  TempDir dir("cdc-producer-backfill-cli");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig("127.0.0.1:1", source.ConnectionString(),
                                   "    - name: main.CUSTOMERS\n"));
  Process any_port({CDC_PRODUCER_PATH, "snapshot", "--config", config, "--table", "main.CUSTOMERS"},
                   dir.File("any_port.log"));
  EXPECT_EQ(any_port.Wait(std::chrono::seconds(10)), 2);
  EXPECT_EQ(CountInFile(dir.File("any_port.log"), "producer.metrics_listen"), 1u)
      << Tail(dir.File("any_port.log"));
  const std::string nobody = "127.0.0.1:" + std::to_string(FreePort());
  const auto started = std::chrono::steady_clock::now();
  Process absent({CDC_PRODUCER_PATH, "snapshot", "--config", config, "--table", "main.CUSTOMERS",
                  "--producer", nobody},
                 dir.File("absent.log"));
  EXPECT_EQ(absent.Wait(std::chrono::seconds(30)), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(CountInFile(dir.File("absent.log"), "no producer answers at " + nobody), 1u)
      << Tail(dir.File("absent.log"));
  Process unknown({CDC_PRODUCER_PATH, "snapshot", "--config", config, "--table", "main.NOPE"},
                  dir.File("unknown.log"));
  EXPECT_EQ(unknown.Wait(std::chrono::seconds(10)), 2);
}

}  // namespace
}  // namespace cdc::testing

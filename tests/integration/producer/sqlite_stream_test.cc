// Test 1 of the producer issue: a SQLite source with three tables and 100k mixed changes (key
// changes included) reaches Kafka completely, in per-key order, on the partitions a Java client
// would choose, with values equal to the source.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/event/decoder.h"
#include "common/registry/topic_registry.h"
#include "tests/harness/odbc_sources.h"
#include "tests/integration/producer/producer_fixture.h"
#include "tests/integration/producer/sqlite_workload.h"

namespace cdc::testing {
namespace {

const std::vector<std::string> kTables = {"CUSTOMERS", "PRODUCTS", "ORDER_LINES"};

TEST(ProducerSqlite, HundredThousandMixedChangesArriveCompleteInKeyOrder) {
  DevBroker broker;
  SqliteSource source;
  TempDir dir("cdc-producer-test");
  SqliteWorkload workload(source.ConnectionString());
  workload.CreateTables();
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig(broker.bootstrap(), source.ConnectionString(),
                                   "    - name: main.CUSTOMERS\n"
                                   "    - name: main.PRODUCTS\n"
                                   "    - name: main.ORDER_LINES\n",
                                   "  snapshot: never\n"));
  ProducerProcess ddl(config, dir.File("ddl.log"), "ddl");
  ASSERT_EQ(ddl.Wait(std::chrono::seconds(30)), 0);
  ProducerProcess apply_check(config, dir.File("check.log"), "check");
  // Before --apply the change tables are missing: check says so and fails.
  ASSERT_EQ(apply_check.Wait(std::chrono::seconds(30)), 1);
  {
    Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
    ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0);
  }

  ProducerProcess producer(config, dir.File("producer.log"));
  workload.Run(100'000);
  odbc::Connection& db = workload.connection();
  std::map<std::string, std::set<int64_t>> expected;
  size_t total = 0;
  for (const std::string& table : kTables) {
    expected[table] = Seqs(db, table + "_CT");
    total += expected[table].size();
  }
  EXPECT_GE(total, 100'000u);  // key changes record two rows

  std::map<std::string, std::vector<TopicMessage>> topics;
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const std::string& table : kTables) {
          topics[table] = ReadTopic(broker.bootstrap(), "cdc.main." + table);
          std::set<int64_t> seen;
          for (const TopicMessage& m : topics[table]) seen.insert(m.seq());
          if (seen != expected[table]) return false;
        }
        return true;
      },
      std::chrono::seconds(180)))
      << "not every change reached Kafka; producer log:\n"
      << Tail(dir.File("producer.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);

  kafka::KafkaSettings kafka;
  kafka.bootstrap_servers = broker.bootstrap();
  registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
  event::EventDecoder decoder(schemas, event::Format::kAvro);
  for (const std::string& table : kTables) {
    std::map<std::string, int64_t> last_seq;            // key -> last seq in topic order
    std::map<std::string, const TopicMessage*> latest;  // key -> event with the highest seq
    for (const TopicMessage& m : topics[table]) {
      EXPECT_EQ(m.partition, JavaPartition(m.key, 4)) << table;
      if (!m.value) continue;  // tombstone after a delete
      auto [it, fresh] = last_seq.emplace(m.key, m.seq());
      if (!fresh) {
        EXPECT_GT(m.seq(), it->second) << table << ": per-key order broken";
        it->second = m.seq();
      }
      latest[m.key] = &m;
    }
    // The newest event per key equals the source row (or the row is gone after a delete).
    size_t rows_alive = 0;
    for (const auto& [key, message] : latest) {
      const event::DecodedEvent decoded = decoder.Decode(*message->value, message->headers);
      if (decoded.event.op == event::Op::kDelete) continue;
      ++rows_alive;
      const event::Row& after = *decoded.event.after;
      if (table == "CUSTOMERS") {
        const auto rows = Query(db,
                                "SELECT NAME, BALANCE, hex(PHOTO) FROM CUSTOMERS WHERE ID = " +
                                    std::to_string(std::get<int64_t>(after[0])),
                                2);
        ASSERT_EQ(rows.size(), 1u) << "key " << std::get<int64_t>(after[0]);
        EXPECT_EQ(rows[0][0], event::IsNull(after[1])
                                  ? std::nullopt
                                  : std::optional<std::string>(std::get<std::string>(after[1])));
        EXPECT_EQ(*rows[0][1], std::get<std::string>(after[2]));  // 38-digit decimal text
        EXPECT_EQ(std::get<std::string>(after[3]), std::string("\x00\xff\x10", 3));
      }
    }
    const auto count = Query(db, "SELECT COUNT(*) FROM " + table);
    EXPECT_EQ(std::to_string(rows_alive), *count[0][0]) << table;
  }
}

// SQLite has one writer at a time, and a rolled-back transaction gives its numbers back: a
// number missing below a committed one can never commit, so a gap is given up at the next read -
// not after producer.gap_timeout_ms (ten minutes here).
TEST(ProducerSqlite, AGapIsGivenUpAtTheNextReadWithoutWaitingForTheTimeout) {
  DevBroker broker;
  SqliteSource source;
  TempDir dir("cdc-producer-sqlite-gap");
  odbc::Environment environment;
  odbc::Connection db(environment, source.ConnectionString());
  db.Execute("CREATE TABLE T (ID INTEGER PRIMARY KEY, V TEXT)");
  const std::string config = dir.File("config.yaml");
  WriteText(config,
            ProducerConfig(broker.bootstrap(), source.ConnectionString(), "    - name: main.T\n",
                           "  snapshot: never\n  gap_timeout_ms: 600000\n"));
  {
    Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
    ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0) << Tail(dir.File("ddl.log"));
  }
  for (int id = 1; id <= 3; ++id) {
    db.Execute("INSERT INTO T VALUES (" + std::to_string(id) + ", 'x')");  // CDC_SEQ 1..3
  }
  db.SetAutocommit(false);
  db.Execute("INSERT INTO T VALUES (10, 'rolled back')");  // takes CDC_SEQ 4 ...
  db.Rollback();                                           // ... and gives it back
  db.SetAutocommit(true);
  db.Execute("INSERT INTO T VALUES (4, 'x')");  // CDC_SEQ 4 again
  EXPECT_EQ(Seqs(db, "T_CT"), (std::set<int64_t>{1, 2, 3, 4}));
  db.Execute("DELETE FROM T_CT WHERE CDC_SEQ = 2");  // a gap that never fills (a manual cleanup)
  ProducerProcess producer(config, dir.File("producer.log"));
  ASSERT_TRUE(WaitFor([&] { return CheckpointWatermark(broker.bootstrap(), "main.T") == 4; },
                      std::chrono::seconds(30)))
      << Tail(dir.File("producer.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
  EXPECT_EQ(TopicSeqs(ReadTopic(broker.bootstrap(), "cdc.main.T")), (std::set<int64_t>{1, 3, 4}));
  EXPECT_EQ(CountInFile(dir.File("producer.log"), "sequence gaps closed"), 1u);
}

// An event too large for Kafka (librdkafka's message.max.bytes, 1,000,000 by default) would fail
// every delivery and stall its table: it is dead-lettered with its size and the limit, from the
// stream and from a snapshot alike, and the table streams on (1 MiB and 5 MiB values).
TEST(ProducerSqlite, EventsTooLargeForKafkaAreDeadLetteredAndTheTableStreamsOn) {
  DevBroker broker;
  SqliteSource source;
  TempDir dir("cdc-producer-sqlite-large");
  odbc::Environment environment;
  odbc::Connection db(environment, source.ConnectionString());
  db.Execute("CREATE TABLE T (ID INTEGER PRIMARY KEY, V TEXT)");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig(broker.bootstrap(), source.ConnectionString(),
                                   "    - name: main.T\n", "  snapshot: initial\n"));
  {
    Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
    ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0) << Tail(dir.File("ddl.log"));
  }
  db.Execute("INSERT INTO T VALUES (1, 'small')");                   // seq 1
  db.Execute("INSERT INTO T VALUES (2, hex(randomblob(524288)))");   // seq 2: 1 MiB
  db.Execute("INSERT INTO T VALUES (3, hex(randomblob(2621440)))");  // seq 3: 5 MiB
  db.Execute("INSERT INTO T VALUES (4, 'after them')");              // seq 4
  db.Execute("UPDATE T SET V = 'small now' WHERE ID = 2");           // seq 5
  ProducerProcess producer(config, dir.File("producer.log"));
  std::vector<TopicMessage> events;
  ASSERT_TRUE(WaitFor(
      [&] {
        events = ReadTopic(broker.bootstrap(), "cdc.main.T");
        std::set<int64_t> streamed;
        size_t snapshot_rows = 0;
        for (const TopicMessage& m : events) {
          if (m.op() == "r") ++snapshot_rows;
          if (m.op() != "r") streamed.insert(m.seq());
        }
        return streamed == std::set<int64_t>{1, 4, 5} && snapshot_rows == 3;  // IDs 1, 2, 4
      },
      std::chrono::seconds(60)))
      << Tail(dir.File("producer.log"));
  std::vector<nlohmann::json> letters;
  ASSERT_TRUE(WaitFor(
      [&] {
        letters.clear();
        for (const TopicMessage& m : ReadTopic(broker.bootstrap(), "_cdc_producer_dlq")) {
          if (m.value) letters.push_back(nlohmann::json::parse(*m.value));
        }
        return letters.size() == 3;  // seqs 2 and 3, and ID 3 in the snapshot
      },
      std::chrono::seconds(30)))
      << letters.size() << Tail(dir.File("producer.log"));
  std::multiset<std::string> ids;
  for (const nlohmann::json& letter : letters) {
    EXPECT_EQ(letter["table"], "main.T");
    EXPECT_EQ(letter["limit"], 1'000'000 - 1024);
    EXPECT_GT(letter["size"].get<int64_t>(), 1'000'000) << letter.dump();
    EXPECT_NE(letter["error"].get<std::string>().find("message.max.bytes"), std::string::npos);
    EXPECT_FALSE(letter["columns"].contains("V")) << "the value itself is not dead-lettered";
    ids.insert(letter["columns"]["ID"].get<std::string>());
  }
  EXPECT_EQ(ids, (std::multiset<std::string>{"2", "3", "3"}));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace cdc::testing

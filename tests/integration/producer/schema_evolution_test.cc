// Schema changes of captured tables under a running producer: columns added while it is down are
// backfilled at its start; `ddl --apply --alter` drops, renames and adds columns without refusing
// a write; widened columns are widened in the change table and stream on.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "common/registry/topic_registry.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {
namespace {

// Columns added while the producer is down are noticed at its next start (the checkpoint holds
// the names it published with) and backfilled: every row arrives again as a snapshot read with
// the new column's value. With producer.backfill_new_columns off, a warning and no backfill.
TEST(ChangeTables, ColumnsAddedWhileTheProducerIsDownAreBackfilledAtItsStart) {
  DevBroker broker;
  SqliteSource lite;
  TempDir dir("cdc-added");
  odbc::Environment environment;
  odbc::Connection db(environment, lite.ConnectionString() + "Timeout=20000;");
  db.Execute("CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)");
  const std::string config = dir.File("config.yaml");
  auto configure = [&](bool backfill) {
    WriteText(config, ProducerConfig(broker.bootstrap(), lite.ConnectionString(),
                                     "    - name: a\n      topic: a\n",
                                     std::string("  snapshot: never\n  backfill_new_columns: ") +
                                         (backfill ? "true" : "false") + "\n"));
  };
  configure(true);
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  db.Execute("INSERT INTO a VALUES (1, 'x'), (2, 'y'), (3, 'z')");
  auto reads = [&] {
    const auto events = ReadTopic(broker.bootstrap(), "a");
    return std::count_if(events.begin(), events.end(),
                         [](const TopicMessage& m) { return m.op() == "r"; });
  };
  {
    ProducerProcess producer(config, dir.File("run1.log"));
    ASSERT_TRUE(WaitFor([&] { return ReadTopic(broker.bootstrap(), "a").size() == 3; },
                        std::chrono::seconds(30)))
        << Tail(dir.File("run1.log"));
    EXPECT_EQ(producer.Stop(SIGTERM), 0);
  }
  db.Execute("ALTER TABLE a ADD COLUMN d INTEGER NOT NULL DEFAULT 42");
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  {
    ProducerProcess producer(config, dir.File("run2.log"));
    ASSERT_TRUE(WaitFor([&] { return reads() == 3; }, std::chrono::seconds(30)))
        << Tail(dir.File("run2.log"));
    EXPECT_EQ(producer.Stop(SIGTERM), 0);
  }
  kafka::KafkaSettings kafka;
  kafka.bootstrap_servers = broker.bootstrap();
  registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
  event::EventDecoder decoder(schemas, event::Format::kAvro);
  std::set<std::string> images;
  for (const TopicMessage& m : ReadTopic(broker.bootstrap(), "a")) {
    if (m.op() == "r") images.insert(KeyText(*decoder.Decode(*m.value, m.headers).event.after));
  }
  EXPECT_EQ(images, (std::set<std::string>{"1|x|42", "2|y|42", "3|z|42"}));

  // Turned off: the change is recorded (no backfill at the next start either), and said.
  configure(false);
  db.Execute("ALTER TABLE a ADD COLUMN e TEXT DEFAULT 'e'");
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  for (const char* log : {"run3.log", "run4.log"}) {
    ProducerProcess producer(config, dir.File(log));
    db.Execute(std::string("INSERT INTO a (id, v) VALUES (") + (log[3] == '3' ? "4" : "5") +
               ", 'w')");
    ASSERT_TRUE(WaitFor(
        [&] { return ReadTopic(broker.bootstrap(), "a").size() == (log[3] == '3' ? 7u : 8u); },
        std::chrono::seconds(30)))
        << Tail(dir.File(log));
    EXPECT_EQ(producer.Stop(SIGTERM), 0);
  }
  EXPECT_EQ(reads(), 3);
  EXPECT_EQ(CountInFile(dir.File("run3.log"), "backfill_new_columns is off"), 1u);
  EXPECT_EQ(CountInFile(dir.File("run4.log"), "backfill_new_columns is off"), 0u);
}

// `ddl --apply --alter` drops, renames and adds columns while the application writes (PostgreSQL:
// 3 writers; SQLite: one, its single writer lock) and the producer runs: the ALTER TABLE and the
// change table's evolution commit together, so no write is refused (a plain DROP or RENAME COLUMN
// on PostgreSQL makes the trigger fail every write until ddl --apply), every committed write is
// captured and published, nothing is dead-lettered, and `check` says ok after each.
TEST(ChangeTables, AlterWithDdlChangesTheTableWithoutRefusingAWrite) {
  PgCluster cluster;
  PostgresOdbcSource pg(cluster, "alter");
  SqliteSource lite;
  TempDir dir("cdc-alter");
  for (const bool postgres : {true, false}) {
    SCOPED_TRACE(postgres ? "postgres" : "sqlite");
    DevBroker broker;
    const std::string create = "CREATE TABLE r (id integer PRIMARY KEY, a integer, b text, c text)";
    odbc::Environment environment;
    odbc::Connection lite_db(environment, lite.ConnectionString() + "Timeout=20000;");
    if (postgres) {
      cluster.Psql("alter", create);
    } else {
      lite_db.Execute(create);
    }
    const std::string config = dir.File(postgres ? "pg.yaml" : "lite.yaml");
    WriteText(config, ProducerConfig(broker.bootstrap(),
                                     postgres ? pg.ConnectionString() : lite.ConnectionString(),
                                     "    - name: r\n      topic: r\n", "  snapshot: never\n"));
    ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
    ProducerProcess producer(config, dir.File(postgres ? "pg.log" : "lite.log"));
    std::atomic<bool> stop = false;
    std::atomic<int> committed = 0;
    std::atomic<int> failed = 0;
    std::atomic<int> next_id = 0;
    std::string failure;
    std::mutex failure_mutex;
    std::vector<std::thread> writers;
    for (int w = 0; w < (postgres ? 3 : 1); ++w) {
      writers.emplace_back([&] {
        std::unique_ptr<pqxx::connection> pg_writer;
        std::unique_ptr<odbc::Connection> lite_writer;
        if (postgres) {
          pg_writer = std::make_unique<pqxx::connection>(cluster.Url("alter"));
        } else {
          lite_writer = std::make_unique<odbc::Connection>(
              environment, lite.ConnectionString() + "Timeout=20000;");
        }
        while (!stop) {
          const std::string id = std::to_string(++next_id);
          const std::vector<std::string> statements = {
              "INSERT INTO r (id, a) VALUES (" + id + ", 1)",
              "UPDATE r SET a = a + 1 WHERE id = " + id};
          try {
            if (postgres) {
              pqxx::work tx(*pg_writer);
              for (const std::string& sql : statements) tx.exec(sql);
              tx.commit();
            } else {
              lite_writer->SetAutocommit(false);
              for (const std::string& sql : statements) lite_writer->Execute(sql);
              lite_writer->Commit();
              lite_writer->SetAutocommit(true);
            }
            ++committed;
          } catch (const std::exception& e) {
            ++failed;
            if (!postgres) {
              lite_writer->Rollback();
              lite_writer->SetAutocommit(true);
            }
            std::lock_guard lock(failure_mutex);
            failure = e.what();
          }
          std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (const char* alter : {"ALTER TABLE r DROP COLUMN c", "ALTER TABLE r RENAME COLUMN b TO bb",
                              "ALTER TABLE r ADD COLUMN d integer NOT NULL DEFAULT 42"}) {
      const auto [rc, output] =
          RunCommand({"ddl", "--config", config, "--apply", "--table", "r", "--alter", alter},
                     dir.File("ddl.log"));
      EXPECT_EQ(rc, 0) << alter << "\n" << output << Tail(dir.File("ddl.log"));
      EXPECT_NE(output.find("altered r and applied"), std::string::npos) << output;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      const auto [check_rc, report] =
          RunCommand({"check", "--config", config}, dir.File("check.log"));
      EXPECT_NE(report.find("table r: ok"), std::string::npos) << alter << "\n" << report;
    }
    stop = true;
    for (std::thread& writer : writers) writer.join();
    EXPECT_EQ(failed, 0) << failure;
    EXPECT_GT(committed, 20);
    // Every committed write reached the topic: an insert and an update per transaction.
    std::set<std::pair<std::string, std::string>> published;  // (op, key)
    EXPECT_TRUE(WaitFor(
        [&] {
          published.clear();
          for (const TopicMessage& m : ReadTopic(broker.bootstrap(), "r")) {
            if (m.value && (m.op() == "c" || m.op() == "u")) published.emplace(m.op(), m.key);
          }
          return published.size() == 2 * static_cast<size_t>(committed.load());
        },
        std::chrono::seconds(60)))
        << published.size() << " of " << 2 * committed.load() << "\n"
        << Tail(dir.File(postgres ? "pg.log" : "lite.log"));
    EXPECT_TRUE(ReadTopic(broker.bootstrap(), "_cdc_producer_dlq").empty());
    EXPECT_EQ(producer.Stop(SIGTERM), 0);
  }
  // Refused where it cannot be one transaction's work, or without naming the one table (also
  // when the file lists only one).
  const std::string config = dir.File("pg.yaml");
  EXPECT_EQ(RunCommand({"ddl", "--config", config, "--alter", "ALTER TABLE r ADD COLUMN e int"},
                       dir.File("ddl.log"))
                .first,
            2);
  EXPECT_EQ(RunCommand(
                {"ddl", "--config", config, "--apply", "--alter", "ALTER TABLE r ADD COLUMN e int"},
                dir.File("ddl.log"))
                .first,
            2);
  EXPECT_EQ(cluster.Psql("alter",
                         "SELECT count(*) FROM information_schema.columns WHERE "
                         "table_name = 'r' AND column_name = 'e'"),
            "0");
  // An ALTER of another captured table than --table names is rolled back: a drop by the DDL
  // guard (o's trigger would have kept naming the dropped column, failing every write to it),
  // an addition by ddl itself.
  cluster.Psql("alter", "CREATE TABLE o (id integer PRIMARY KEY, y integer, z text)");
  WriteText(config,
            ProducerConfig("127.0.0.1:1", pg.ConnectionString(), "    - name: r\n    - name: o\n"));
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  const auto [other_rc, other] = RunCommand({"ddl", "--config", config, "--apply", "--table", "r",
                                             "--alter", "ALTER TABLE o DROP COLUMN z"},
                                            dir.File("ddl.log"));
  EXPECT_EQ(other_rc, 1) << other;
  EXPECT_NE(other.find("drops table column public.o.z"), std::string::npos) << other;
  const auto [added_rc, added] = RunCommand({"ddl", "--config", config, "--apply", "--table", "r",
                                             "--alter", "ALTER TABLE o ADD COLUMN w integer"},
                                            dir.File("ddl.log"));
  EXPECT_EQ(added_rc, 1) << added;
  EXPECT_NE(added.find("the statement changed o, not only r"), std::string::npos) << added;
  cluster.Psql("alter", "INSERT INTO o VALUES (1, 1, 'z'); UPDATE o SET y = 2");
  EXPECT_EQ(cluster.Psql("alter", "SELECT count(*) FROM \"o_CT\""), "2");
  // A column dropped and added again with a type its change-table values cannot take: refused,
  // rolled back, saying what it means and what to do.
  cluster.Psql("alter", "INSERT INTO r (id, a, bb) VALUES (-1, 1, 'text')");
  const auto [retype_rc, retyped] =
      RunCommand({"ddl", "--config", config, "--apply", "--table", "r", "--alter",
                  "ALTER TABLE r DROP COLUMN bb, ADD COLUMN bb integer"},
                 dir.File("ddl.log"));
  EXPECT_EQ(retype_rc, 1) << retyped;
  EXPECT_NE(retyped.find("a column dropped and added again with another type?"), std::string::npos)
      << retyped;
  EXPECT_EQ(cluster.Psql("alter",
                         "SELECT data_type FROM information_schema.columns WHERE table_name = "
                         "'r' AND column_name = 'bb'"),
            "text");
  cluster.Psql("alter", "UPDATE r SET bb = 'still captured' WHERE id = -1");
}

// A column widened in the table (INTEGER -> BIGINT, VARCHAR(10) -> VARCHAR(100), NUMERIC(5,2) ->
// NUMERIC(10,2)) and `ddl --apply` again: the change table is widened, the application's larger
// values are accepted, and a producer running all along publishes them (it re-reads the catalog
// when a value does not decode) - none is dead-lettered.
TEST(ChangeTables, WidenedColumnsAreWidenedAndStreamWhileTheProducerRuns) {
  DevBroker broker;
  PgCluster cluster;
  PostgresOdbcSource source(cluster, "widen");
  TempDir dir("cdc-widen");
  pqxx::connection db(cluster.Url("widen"));
  auto exec = [&](const std::string& sql) {
    pqxx::work w(db);
    w.exec(sql);
    w.commit();
  };
  exec("CREATE TABLE w (id integer PRIMARY KEY, i integer, v varchar(10), n numeric(5,2))");
  const std::string config = dir.File("config.yaml");
  WriteText(config,
            ProducerConfig(broker.bootstrap(), source.ConnectionString(),
                           "    - name: public.w\n      topic: w\n", "  snapshot: never\n"));
  auto apply = [&](const std::string& log) {
    Process ddl({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File(log));
    return ddl.Wait(std::chrono::seconds(30));
  };
  ASSERT_EQ(apply("ddl1.log"), 0) << Tail(dir.File("ddl1.log"));
  ProducerProcess producer(config, dir.File("producer.log"));
  exec("INSERT INTO w VALUES (1, 1, 'short', 1.5)");
  ASSERT_TRUE(WaitFor([&] { return TopicSeqs(ReadTopic(broker.bootstrap(), "w")).size() == 1; },
                      std::chrono::seconds(30)))
      << Tail(dir.File("producer.log"));
  // A plain ALTER, let through as the DDL guard's message says (--alter is the way that never
  // refuses a write; see the e2e schema-change tests).
  exec(
      "SET LOCAL cdc.ddl_guard = off; ALTER TABLE w ALTER COLUMN id TYPE bigint, ALTER COLUMN i "
      "TYPE bigint, ALTER COLUMN v "
      "TYPE varchar(100), ALTER COLUMN n TYPE numeric(10,2)");
  ASSERT_EQ(apply("ddl2.log"), 0) << Tail(dir.File("ddl2.log"));
  exec("INSERT INTO w VALUES (1099511627776, -1099511627776, repeat('x', 100), 12345678.12)");
  ASSERT_TRUE(WaitFor([&] { return TopicSeqs(ReadTopic(broker.bootstrap(), "w")).size() == 2; },
                      std::chrono::seconds(30)))
      << Tail(dir.File("producer.log"));
  EXPECT_TRUE(ReadTopic(broker.bootstrap(), "_cdc_producer_dlq").empty())
      << Tail(dir.File("producer.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace cdc::testing

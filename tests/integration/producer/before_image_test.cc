// before_image under a running producer (SQLite and PostgreSQL): turned on and off with
// `ddl --apply`, update events carry the old row exactly; old images that cannot travel leave
// the update intact.
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

// before_image, turned on and off under a running producer (SQLite and PostgreSQL): `check`
// reports the change table out of date until `ddl --apply`; from then on an update carries the
// old image (values as the table held them) while inserts, deletes and key changes (a delete of
// the old key, then an insert) carry none beyond the contract's; updates recorded before it was
// on, or after it was turned off, have `before` null. Nothing is dead-lettered.
TEST(ChangeTables, BeforeImagesFollowTheTableOptionWhileTheProducerRuns) {
  PgCluster cluster;
  PostgresOdbcSource pg(cluster, "before");
  SqliteSource lite;
  TempDir dir("cdc-before");
  odbc::Environment environment;
  odbc::Connection lite_db(environment, lite.ConnectionString() + "Timeout=20000;");
  pqxx::connection pg_db(cluster.Url("before"));
  const std::string create = "CREATE TABLE b (id integer PRIMARY KEY, v text, n numeric(10,2))";
  cluster.Psql("before", create);
  lite_db.Execute(create);
  for (const bool postgres : {true, false}) {
    SCOPED_TRACE(postgres ? "postgres" : "sqlite");
    DevBroker broker;  // each its own: the checkpoints of both would share one key
    const std::string topic = postgres ? "pg.b" : "lite.b";
    auto exec = [&](const std::string& sql) {
      if (!postgres) return lite_db.Execute(sql);
      pqxx::work w(pg_db);
      w.exec(sql);
      w.commit();
    };
    const std::string config = dir.File(topic + ".yaml");
    auto configure = [&](bool before_image) {
      WriteText(config,
                ProducerConfig(
                    broker.bootstrap(), postgres ? pg.ConnectionString() : lite.ConnectionString(),
                    "    - name: b\n      topic: " + topic +
                        "\n      before_image: " + (before_image ? "true" : "false") + "\n",
                    "  snapshot: never\n"));
    };
    auto check = [&] { return RunCommand({"check", "--config", config}, dir.File("check.log")); };
    auto apply = [&] {
      return RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first;
    };
    configure(false);
    ASSERT_EQ(apply(), 0) << Tail(dir.File("ddl.log"));
    ProducerProcess producer(config, dir.File(topic + ".log"));
    exec("INSERT INTO b VALUES (1, 'a', 1.5)");
    exec("UPDATE b SET v = 'b' WHERE id = 1");  // before_image off: before null

    configure(true);
    const auto [rc, report] = check();
    EXPECT_EQ(rc, 1) << report;
    EXPECT_NE(report.find("column _cdc_old_v is not in the change table"), std::string::npos)
        << report;
    ASSERT_EQ(apply(), 0) << Tail(dir.File("ddl.log"));
    EXPECT_NE(check().second.find("table b: ok"), std::string::npos) << check().second;
    exec("UPDATE b SET v = NULL, n = 2.25 WHERE id = 1");  // before {1, b, 1.50}
    exec("UPDATE b SET id = 2 WHERE id = 1");              // key change: d + c
    exec("INSERT INTO b VALUES (3, 'c', NULL)");
    exec("UPDATE b SET v = 'd' WHERE id = 3");  // before {3, c, null}
    exec("DELETE FROM b WHERE id = 3");

    configure(false);
    ASSERT_EQ(apply(), 0) << Tail(dir.File("ddl.log"));
    EXPECT_NE(check().second.find("table b: ok"), std::string::npos) << check().second;
    exec("UPDATE b SET v = 'e' WHERE id = 2");  // off again: before null

    // op, key, before (id|v|n or "-"), after: one line per event.
    const std::string n15 = "1.50";  // numeric(10,2), as the table holds it (both sources)
    const std::vector<std::string> expected = {
        "c 1 - 1|a|" + n15,      "u 1 - 1|b|" + n15,  "u 1 1|b|" + n15 + " 1|NULL|2.25",
        "d 1 1|NULL|2.25 -",     "c 2 - 2|NULL|2.25", "c 3 - 3|c|NULL",
        "u 3 3|c|NULL 3|d|NULL", "d 3 3|d|NULL -",    "u 2 - 2|e|2.25",
    };
    kafka::KafkaSettings kafka;
    kafka.bootstrap_servers = broker.bootstrap();
    registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
    event::EventDecoder decoder(schemas, event::Format::kAvro);
    std::vector<std::string> events;
    ASSERT_TRUE(WaitFor(
        [&] {
          std::vector<std::pair<int64_t, std::string>> by_seq;
          for (const TopicMessage& m : ReadTopic(broker.bootstrap(), topic)) {
            if (!m.value) continue;
            const event::ChangeEvent e = decoder.Decode(*m.value, m.headers).event;
            by_seq.emplace_back(e.source.seq, std::string(1, static_cast<char>(e.op)) + " " +
                                                  KeyText(e.key) + " " +
                                                  (e.before ? KeyText(*e.before) : "-") + " " +
                                                  (e.after ? KeyText(*e.after) : "-"));
          }
          std::sort(by_seq.begin(), by_seq.end());
          events.clear();
          for (auto& [seq, line] : by_seq) events.push_back(std::move(line));
          return events.size() >= expected.size();
        },
        std::chrono::seconds(30)))
        << Tail(dir.File(topic + ".log"));
    EXPECT_EQ(events, expected) << Tail(dir.File(topic + ".log"));
    EXPECT_EQ(CountInFile(dir.File(topic + ".log"), "dead"), 0u) << Tail(dir.File(topic + ".log"));
    EXPECT_EQ(producer.Stop(SIGTERM), 0);
    EXPECT_TRUE(ReadTopic(broker.bootstrap(), "_cdc_producer_dlq").empty());
  }
}

// An update whose old image cannot travel - a value the contract cannot carry (numeric NaN, a
// timestamp past the microseconds' range), or an event over the size limit only with it - is
// published without its old image, never dead-lettered for it (an independent tester's
// finding: the update was lost to the replica).
TEST(ChangeTables, UpdatesWhoseOldImageCannotTravelArePublishedWithoutIt) {
  DevBroker broker;
  PgCluster cluster;
  PostgresOdbcSource pg(cluster, "oldimg");
  TempDir dir("cdc-oldimg");
  cluster.Psql("oldimg",
               "CREATE TABLE o (id integer PRIMARY KEY, n numeric, ts timestamp, big text)");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig(broker.bootstrap(), pg.ConnectionString(),
                                   "    - name: o\n      topic: o\n      before_image: true\n",
                                   "  snapshot: never\n"));
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  ProducerProcess producer(config, dir.File("producer.log"));
  cluster.Psql("oldimg",
               "INSERT INTO o VALUES (1, 'NaN', '2000-01-01', 'a'), (2, 1, '294270-01-01', 'b'), "
               "(3, 1, '2000-01-01', repeat('z', 600000))");
  cluster.Psql("oldimg",
               "UPDATE o SET n = 2 WHERE id = 1; UPDATE o SET ts = '2001-01-01' WHERE id = 2; "
               "UPDATE o SET n = 3 WHERE id = 3; UPDATE o SET big = 'y' WHERE id = 3; "
               "UPDATE o SET n = 4 WHERE id = 3");
  // 3 inserts (two dead-lettered: NaN, year 294270) and 5 updates, none dead-lettered.
  std::vector<TopicMessage> events;
  ASSERT_TRUE(WaitFor(
      [&] {
        events = ReadTopic(broker.bootstrap(), "o");
        return events.size() >= 6;
      },
      std::chrono::seconds(30)))
      << Tail(dir.File("producer.log"));
  kafka::KafkaSettings kafka;
  kafka.bootstrap_servers = broker.bootstrap();
  registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
  event::EventDecoder decoder(schemas, event::Format::kAvro);
  std::map<int64_t, std::string> by_seq;
  for (const TopicMessage& m : events) {
    const event::ChangeEvent e = decoder.Decode(*m.value, m.headers).event;
    by_seq[e.source.seq] = std::string(1, static_cast<char>(e.op)) + " " + KeyText(e.key) + " " +
                           (e.before ? "before" : "-");
  }
  std::vector<std::string> lines;
  for (const auto& [seq, line] : by_seq) lines.push_back(line);
  // The 600 KB row's update is over the limit only with both images (1.2 MB); once the new
  // value is small, old image and all fit again.
  EXPECT_EQ(lines, (std::vector<std::string>{"c 3 -", "u 1 -", "u 2 -", "u 3 -", "u 3 before",
                                             "u 3 before"}))
      << Tail(dir.File("producer.log"));
  EXPECT_EQ(CountInFile(dir.File("producer.log"), "old image cannot be carried"), 2u);
  EXPECT_EQ(CountInFile(dir.File("producer.log"), "published without its old image"), 1u);
  EXPECT_TRUE(
      WaitFor([&] { return ReadTopic(broker.bootstrap(), "_cdc_producer_dlq").size() == 2; },
              std::chrono::seconds(20)));  // the two inserts, nothing else
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace cdc::testing

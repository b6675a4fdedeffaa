// Test 6 of the producer issue, executed: `cdc-producer ddl --apply` on SQLite and on PostgreSQL
// (psqlODBC), then inserts, updates, primary-key updates (single- and multi-row) and deletes; the
// change table holds the new image for I/U, the old image for D, a D + I pair for a key change,
// increasing CDC_SEQ, a UTC CDC_TS and (PostgreSQL) one CDC_TXID per transaction. Running
// `ddl --apply` again after a column was added evolves the change table and its triggers.
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

using Image = std::vector<std::string>;  // CDC_OP, A, B, V ("NULL" for NULL)

// The statements every dialect runs, one transaction each.
const std::vector<std::vector<std::string>> kTransactions = {
    {"INSERT INTO lines (a, b, v) VALUES (1, 1, 'x')",
     "INSERT INTO lines (a, b, v) VALUES (2, 1, NULL)"},
    {"UPDATE lines SET v = 'y' WHERE a = 1 AND b = 1"},
    {"UPDATE lines SET b = 5 WHERE a = 1 AND b = 1"},  // key change
    {"UPDATE lines SET a = a + 10"},                   // key change of every row
    {"DELETE FROM lines WHERE a = 12"},
};

// Checks the change-table rows (ordered by CDC_SEQ) the transactions above produce.
void ExpectImages(const std::vector<Image>& rows) {
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows[0], (Image{"I", "1", "1", "x"}));
  EXPECT_EQ(rows[1], (Image{"I", "2", "1", "NULL"}));
  EXPECT_EQ(rows[2], (Image{"U", "1", "1", "y"}));  // new image
  EXPECT_EQ(rows[3], (Image{"D", "1", "1", "y"}));  // key change: D of the old key ...
  EXPECT_EQ(rows[4], (Image{"I", "1", "5", "y"}));  // ... and I of the new one
  // The multi-row key change: a D + I pair per row, in either row order.
  std::vector<Image> pairs(rows.begin() + 5, rows.begin() + 9);
  if (pairs[0][1] == "2") std::swap_ranges(pairs.begin(), pairs.begin() + 2, pairs.begin() + 2);
  EXPECT_EQ(pairs, (std::vector<Image>{{"D", "1", "5", "y"},
                                       {"I", "11", "5", "y"},
                                       {"D", "2", "1", "NULL"},
                                       {"I", "12", "1", "NULL"}}));
  EXPECT_EQ(rows[9], (Image{"D", "12", "1", "NULL"}));  // old image
}

std::string LinesConfig(const std::string& connection, const std::string& table) {
  return ProducerConfig("127.0.0.1:1", connection, "    - name: " + table + "\n");
}

int ApplyDdl(const std::string& config, const std::string& log, std::string* output) {
  Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, log);
  *output = apply.ReadLine(std::chrono::seconds(30)).value_or("");
  return apply.Wait(std::chrono::seconds(30)).value_or(-1);
}

TEST(ChangeTables, SqliteTriggersRecordImagesKeyChangesAndEvolve) {
  SqliteSource source;
  TempDir dir("cdc-ct-sqlite");
  odbc::Environment environment;
  odbc::Connection db(environment, source.ConnectionString());
  db.Execute(
      "CREATE TABLE lines (a INTEGER NOT NULL, b INTEGER NOT NULL, v TEXT, PRIMARY KEY (a, b))");
  const std::string config = dir.File("config.yaml");
  WriteText(config, LinesConfig(source.ConnectionString(), "main.lines"));
  std::string output;
  ASSERT_EQ(ApplyDdl(config, dir.File("ddl.log"), &output), 0) << Tail(dir.File("ddl.log"));
  EXPECT_NE(output.find("(created)"), std::string::npos) << output;

  for (const auto& transaction : kTransactions) {
    db.SetAutocommit(false);
    for (const std::string& sql : transaction) db.Execute(sql);
    db.Commit();
    db.SetAutocommit(true);
  }
  std::vector<Image> rows;
  int64_t last_seq = 0;
  for (const auto& row : Query(db,
                               "SELECT CDC_SEQ, CDC_OP, a, b, v, "
                               "abs(julianday('now') - julianday(CDC_TS)) * 86400 FROM lines_CT "
                               "ORDER BY CDC_SEQ")) {
    EXPECT_GT(std::stoll(*row[0]), last_seq);
    last_seq = std::stoll(*row[0]);
    EXPECT_LT(std::stod(*row[5]), 60.0) << "CDC_TS is not the UTC time of the change";
    rows.push_back({*row[1], *row[2], *row[3], row[4].value_or("NULL")});
  }
  ExpectImages(rows);

  // A column added to the table: ddl --apply again adds it to the change table and the triggers.
  db.Execute("ALTER TABLE lines ADD COLUMN extra TEXT");
  ASSERT_EQ(ApplyDdl(config, dir.File("ddl.log"), &output), 0) << Tail(dir.File("ddl.log"));
  EXPECT_NE(output.find("(evolved)"), std::string::npos) << output;
  db.Execute("INSERT INTO lines (a, b, v, extra) VALUES (7, 7, 'z', 'added')");
  db.Execute("UPDATE lines SET extra = 'changed' WHERE a = 7");
  const auto evolved = Query(db, "SELECT CDC_OP, extra FROM lines_CT WHERE a = 7 ORDER BY CDC_SEQ");
  ASSERT_EQ(evolved.size(), 2u);
  EXPECT_EQ(evolved[0][1], "added");
  EXPECT_EQ(evolved[1][0], "U");
  EXPECT_EQ(evolved[1][1], "changed");
}

TEST(ChangeTables, PostgresTriggersRecordImagesKeyChangesTransactionIdsAndEvolve) {
  PgCluster cluster;
  PostgresOdbcSource source(cluster, "ctsrc");
  TempDir dir("cdc-ct-pg");
  pqxx::connection db(cluster.Url("ctsrc"));
  {
    pqxx::work w(db);
    w.exec(
        "CREATE TABLE lines (a integer NOT NULL, b integer NOT NULL, v text, PRIMARY KEY (a, b))");
    w.commit();
  }
  const std::string config = dir.File("config.yaml");
  WriteText(config, LinesConfig(source.ConnectionString(), "public.lines"));
  std::string output;
  ASSERT_EQ(ApplyDdl(config, dir.File("ddl.log"), &output), 0) << Tail(dir.File("ddl.log"));
  EXPECT_NE(output.find("(created)"), std::string::npos) << output;

  for (const auto& transaction : kTransactions) {
    pqxx::work w(db);
    for (const std::string& sql : transaction) w.exec(sql);
    w.commit();
  }
  pqxx::work read(db);
  std::vector<Image> rows;
  std::vector<std::string> txids;
  int64_t last_seq = 0;
  for (const auto& row :
       read.exec("SELECT \"CDC_SEQ\", \"CDC_OP\", a, b, coalesce(v, 'NULL'), \"CDC_TXID\", "
                 "abs(extract(epoch FROM (now() AT TIME ZONE 'UTC') - \"CDC_TS\")) "
                 "FROM public.\"lines_CT\" ORDER BY \"CDC_SEQ\"")) {
    EXPECT_GT(row[0].as<int64_t>(), last_seq);
    last_seq = row[0].as<int64_t>();
    EXPECT_LT(row[6].as<double>(), 60.0) << "CDC_TS is not the UTC time of the change";
    rows.push_back({row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>(),
                    row[4].as<std::string>()});
    txids.push_back(row[5].as<std::string>());
  }
  read.commit();
  ExpectImages(rows);
  // One transaction id per transaction: rows 0-1, 2, 3-4, 5-8, 9.
  ASSERT_EQ(txids.size(), 10u);
  EXPECT_EQ(txids[0], txids[1]);
  EXPECT_EQ(txids[3], txids[4]);
  EXPECT_EQ(txids[5], txids[8]);
  EXPECT_EQ((std::set<std::string>{txids[0], txids[2], txids[3], txids[5], txids[9]}).size(), 5u);

  {
    pqxx::work w(db);
    w.exec("ALTER TABLE lines ADD COLUMN extra numeric(10,3)");
    w.commit();
  }
  ASSERT_EQ(ApplyDdl(config, dir.File("ddl.log"), &output), 0) << Tail(dir.File("ddl.log"));
  EXPECT_NE(output.find("(evolved)"), std::string::npos) << output;
  pqxx::work w(db);
  w.exec("INSERT INTO lines (a, b, v, extra) VALUES (7, 7, 'z', 1.250)");
  w.exec("UPDATE lines SET b = 8 WHERE a = 7");
  const auto evolved = w.exec(
      "SELECT \"CDC_OP\", b, extra::text FROM public.\"lines_CT\" WHERE a = 7 ORDER BY "
      "\"CDC_SEQ\"");
  ASSERT_EQ(evolved.size(), 3u);
  EXPECT_EQ(evolved[0][2].as<std::string>(), "1.250");
  EXPECT_EQ(evolved[1][0].as<std::string>() + evolved[1][1].as<std::string>(), "D7");
  EXPECT_EQ(evolved[2][0].as<std::string>() + evolved[2][1].as<std::string>(), "I8");
  EXPECT_EQ(evolved[2][2].as<std::string>(), "1.250");
}

// The application's role may write its table and nothing else: the trigger still records its
// writes (the function runs with its owner's rights), and a role cannot redirect it through its
// search_path.
TEST(ChangeTables, PostgresApplicationRolesNeedNoGrantOnTheChangeTable) {
  PgCluster cluster;
  PostgresOdbcSource source(cluster, "roles");
  TempDir dir("cdc-roles");
  cluster.Psql("roles",
               "CREATE SCHEMA s; CREATE TABLE s.priv (id integer PRIMARY KEY, v text); "
               "CREATE ROLE app LOGIN; GRANT USAGE ON SCHEMA s TO app; "
               "GRANT SELECT, INSERT, UPDATE, DELETE ON s.priv TO app; "
               "CREATE TABLE public.orders (id integer PRIMARY KEY); "
               "GRANT ALL ON public.orders TO app");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig("127.0.0.1:1", source.ConnectionString(),
                                   "    - name: s.priv\n    - name: orders\n"));
  Process apply({CDC_PRODUCER_PATH, "ddl", "--config", config, "--apply"}, dir.File("ddl.log"));
  ASSERT_EQ(apply.Wait(std::chrono::seconds(30)), 0) << Tail(dir.File("ddl.log"));
  const std::string url = "postgresql://app@127.0.0.1:" + std::to_string(cluster.port()) + "/roles";
  pqxx::connection app(url);
  pqxx::work w(app);
  // A table of the caller's own named like the change table, first in its search path.
  w.exec("CREATE TEMP TABLE \"orders_CT\" (x integer)");
  w.exec("SET search_path = pg_temp, s, public");
  w.exec("INSERT INTO s.priv VALUES (1, 'a')");
  w.exec("UPDATE s.priv SET v = 'b' WHERE id = 1");
  w.exec("DELETE FROM s.priv WHERE id = 1");
  w.exec("INSERT INTO public.orders VALUES (7)");
  EXPECT_EQ(w.exec("SELECT count(*) FROM pg_temp.\"orders_CT\"")[0][0].as<int>(), 0);
  w.commit();
  EXPECT_EQ(cluster.Psql("roles",
                         "SELECT string_agg(\"CDC_OP\", '' ORDER BY \"CDC_SEQ\") FROM "
                         "s.\"priv_CT\""),
            "IUD");
  EXPECT_EQ(cluster.Psql("roles", "SELECT count(*) FROM public.\"orders_CT\""), "1");
}

// `check` names what differs between a change table (or its trigger) and its table, fails, and
// is clean again after `ddl --apply`; `run` logs it at the table's start.
TEST(ChangeTables, CheckReportsAChangeTableOutOfDateWithItsTable) {
  DevBroker broker;
  PgCluster cluster;
  PostgresOdbcSource pg(cluster, "drift");
  SqliteSource lite;
  TempDir dir("cdc-drift");
  cluster.Psql("drift", "CREATE TABLE d (id integer PRIMARY KEY, a integer, b text)");
  odbc::Environment environment;
  odbc::Connection db(environment, lite.ConnectionString() + "Timeout=20000;");
  db.Execute("CREATE TABLE d (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)");
  for (const std::string& connection : {pg.ConnectionString(), lite.ConnectionString()}) {
    const bool postgres = connection == pg.ConnectionString();
    const std::string config = dir.File(postgres ? "pg.yaml" : "lite.yaml");
    WriteText(config, ProducerConfig(broker.bootstrap(), connection, "    - name: d\n"));
    ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
    auto check = [&] { return RunCommand({"check", "--config", config}, dir.File("check.log")); };
    EXPECT_NE(check().second.find("table d: ok"), std::string::npos) << check().second;
    if (postgres) {
      cluster.Psql("drift",
                   "ALTER TABLE d ADD COLUMN c text, ALTER COLUMN a TYPE bigint, DROP "
                   "COLUMN b");
    } else {
      db.Execute("ALTER TABLE d ADD COLUMN c TEXT");
    }
    const auto [rc, report] = check();
    EXPECT_EQ(rc, 1) << report;
    std::vector<std::string> expected = {"table d: OUT OF DATE",
                                         "  column c is not in the change table",
                                         "  run cdc-producer ddl --apply"};
    if (postgres) {
      expected.insert(expected.end(),
                      {"  column a is integer in the change table, bigint in the table needs",
                       "  the trigger function is not the one ddl generates for the table now"});
    } else {
      expected.push_back("  trigger d_CT_INS is not the one ddl generates for the table now");
    }
    for (const std::string& line : expected) {
      EXPECT_NE(report.find(line), std::string::npos) << line << "\n" << report;
    }
    Process run({CDC_PRODUCER_PATH, "run", "--config", config}, dir.File("run.log"));
    EXPECT_TRUE(WaitFor(
        [&] { return CountInFile(dir.File("run.log"), "is out of date with the table") > 0; },
        std::chrono::seconds(20)))
        << Tail(dir.File("run.log"));
    run.Stop(SIGTERM, std::chrono::seconds(20));
    ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
    const std::string after = check().second;
    EXPECT_NE(after.find("table d: ok"), std::string::npos) << after;
  }
}

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

// `ddl --apply` evolving a change table while the application writes: it takes the table's lock
// before the change table's, as the writers do, so no writer is ever chosen as a deadlock victim
// (an independent tester saw 1 of 557 transactions fail before).
TEST(ChangeTables, EvolvingUnderConcurrentWritersNeverDeadlocks) {
  PgCluster cluster;
  PostgresOdbcSource source(cluster, "evolve");
  TempDir dir("cdc-evolve");
  cluster.Psql("evolve", "CREATE TABLE t (id serial PRIMARY KEY, v integer)");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig("127.0.0.1:1", source.ConnectionString(), "    - name: t\n"));
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  std::atomic<bool> stop = false;
  std::atomic<int> committed = 0;
  std::atomic<int> failed = 0;
  std::string failure;
  std::mutex failure_mutex;
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      pqxx::connection c(cluster.Url("evolve"));
      while (!stop) {
        try {
          pqxx::work tx(c);
          tx.exec("INSERT INTO t (v) VALUES (1)");
          tx.exec("UPDATE t SET v = v + 1 WHERE id = (SELECT max(id) FROM t)");
          tx.commit();
          ++committed;
        } catch (const std::exception& e) {
          ++failed;
          std::lock_guard lock(failure_mutex);
          failure = e.what();
        }
      }
    });
  }
  int ddl_failures = 0;
  for (int i = 0; i < 8; ++i) {
    cluster.Psql("evolve", "ALTER TABLE t ADD COLUMN c" + std::to_string(i) + " integer");
    ddl_failures += RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first;
  }
  stop = true;
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failed, 0) << failure;
  EXPECT_EQ(ddl_failures, 0) << Tail(dir.File("ddl.log"));
  EXPECT_GT(committed, 100);
  // Every committed write was captured: two changes per transaction.
  EXPECT_EQ(cluster.Psql("evolve", "SELECT count(*) FROM \"t_CT\""),
            std::to_string(2 * committed.load()));
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
  // An ALTER of another captured table than --table names is rolled back (its trigger would
  // have kept naming the dropped column, failing every write to it).
  cluster.Psql("alter", "CREATE TABLE o (id integer PRIMARY KEY, y integer, z text)");
  WriteText(config,
            ProducerConfig("127.0.0.1:1", pg.ConnectionString(), "    - name: r\n    - name: o\n"));
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  const auto [other_rc, other] = RunCommand({"ddl", "--config", config, "--apply", "--table", "r",
                                             "--alter", "ALTER TABLE o DROP COLUMN z"},
                                            dir.File("ddl.log"));
  EXPECT_EQ(other_rc, 1) << other;
  EXPECT_NE(other.find("the statement changed o, not only r"), std::string::npos) << other;
  cluster.Psql("alter", "INSERT INTO o VALUES (1, 1, 'z'); UPDATE o SET y = 2");
  EXPECT_EQ(cluster.Psql("alter", "SELECT count(*) FROM \"o_CT\""), "2");
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
  exec(
      "ALTER TABLE w ALTER COLUMN id TYPE bigint, ALTER COLUMN i TYPE bigint, ALTER COLUMN v "
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

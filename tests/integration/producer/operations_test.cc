// The producer's operational paths on a SQLite source, in one running process: `check` reports,
// a row that cannot be encoded goes to the dead-letter topic with its context while streaming
// goes on, a column added to the source (and its change table, by `ddl --apply`) is picked up
// without a restart under a new schema version, and `purge: true` deletes published change rows.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "common/event/decoder.h"
#include "common/registry/topic_registry.h"
#include "tests/harness/odbc_sources.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {
namespace {

// GET `path` on the status endpoint of the producer whose log is `log` (the log names the bound
// address); returns the status and body (0 when it could not be reached).
std::pair<int, std::string> StatusGet(const std::string& log, const std::string& path) {
  std::ifstream in(log);
  const std::regex address("\"metrics\":\"127\\.0\\.0\\.1:([0-9]+)\"");
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (std::regex_search(line, match, address)) {
      httplib::Client client("127.0.0.1", std::stoi(match[1]));
      const auto response = client.Get(path);
      if (response) return {response->status, response->body};
      return {0, ""};
    }
  }
  return {0, ""};
}

// The value of a metric line starting with `series` (-1 when absent).
double MetricValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// A SQLite table `items` (created by `create`) captured with purge on, its change table applied.
struct PurgedItems {
  explicit PurgedItems(const std::string& create) {
    db.Execute(create);
    WriteText(config, ProducerConfig(
                          broker.bootstrap(), source.ConnectionString(), "    - name: main.items\n",
                          "  snapshot: never\n  purge: true\n  purge_interval_ms: 200\n"));
    applied = RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first == 0;
  }

  DevBroker broker;
  SqliteSource source;
  TempDir dir{"cdc-producer-ops"};
  odbc::Environment environment;
  odbc::Connection db{environment, source.ConnectionString() + "Timeout=20000;"};
  const std::string config = dir.File("config.yaml");
  bool applied = false;
};

TEST(ProducerOperations, CheckDeadLetterSchemaChangeAndPurge) {
  PurgedItems items("CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, qty INTEGER, note TEXT)");
  ASSERT_TRUE(items.applied) << Tail(items.dir.File("ddl.log"));
  DevBroker& broker = items.broker;
  SqliteSource& source = items.source;
  TempDir& dir = items.dir;
  odbc::Connection& db = items.db;
  const std::string& config = items.config;

  // check: one line per part and a verdict.
  const auto [check_rc, report] = RunCommand({"check", "--config", config}, dir.File("check.log"));
  EXPECT_EQ(check_rc, 0) << report << Tail(dir.File("check.log"));
  EXPECT_NE(report.find("table main.items: ok (sqlite, change table main.items_CT, 3 columns, key "
                        "[id], topic cdc.main.items, max CDC_SEQ none)"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("kafka: ok (" + broker.bootstrap()), std::string::npos) << report;
  EXPECT_NE(report.find("result: ok"), std::string::npos) << report;
  const std::string bad_config = dir.File("bad.yaml");
  WriteText(bad_config, ProducerConfig(broker.bootstrap(), source.ConnectionString(),
                                       "    - name: main.items\n    - name: main.nope\n",
                                       "  snapshot: never\n"));
  const auto [bad_rc, bad_report] =
      RunCommand({"check", "--config", bad_config}, dir.File("check.log"));
  EXPECT_EQ(bad_rc, 1) << bad_report;
  EXPECT_NE(bad_report.find("table main.nope: FAILED"), std::string::npos) << bad_report;
  EXPECT_NE(bad_report.find("result: FAILED"), std::string::npos) << bad_report;

  ProducerProcess producer(config, dir.File("producer.log"));
  db.SetAutocommit(false);
  for (int id = 1; id <= 100; ++id) {
    db.Execute("INSERT INTO items VALUES (" + std::to_string(id) + ", " + std::to_string(id) +
               ", 'n')");
  }
  db.Commit();
  db.SetAutocommit(true);
  // SQLite keeps text that is not a number in an INTEGER column: the event cannot carry it.
  db.Execute("INSERT INTO items VALUES (101, 'not a number', 'poison')");
  const int64_t poison_seq = std::stoll(*Query(db, "SELECT MAX(CDC_SEQ) FROM items_CT")[0][0]);
  db.Execute("INSERT INTO items VALUES (102, 102, 'after the poison')");

  std::vector<TopicMessage> events;
  ASSERT_TRUE(WaitFor(
      [&] {
        events = ReadTopic(broker.bootstrap(), "cdc.main.items");
        return events.size() >= 101;
      },
      std::chrono::seconds(60)))
      << Tail(dir.File("producer.log"));
  EXPECT_EQ(events.size(), 101u);
  EXPECT_EQ(TopicSeqs(events).count(poison_seq), 0u);
  EXPECT_EQ(TopicSeqs(events).count(poison_seq + 1), 1u) << "streaming stopped at the poison row";
  std::vector<TopicMessage> dead;
  ASSERT_TRUE(WaitFor(
      [&] {
        dead = ReadTopic(broker.bootstrap(), "_cdc_producer_dlq");
        return !dead.empty();
      },
      std::chrono::seconds(30)));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].Header("cdc.table"), "main.items");
  EXPECT_EQ(dead[0].seq(), poison_seq);
  const nlohmann::json context = nlohmann::json::parse(dead[0].value.value_or("{}"));
  EXPECT_EQ(context["table"], "main.items");
  EXPECT_EQ(context["topic"], "cdc.main.items");
  EXPECT_EQ(context["seq"], poison_seq);
  EXPECT_EQ(context["columns"]["qty"], "not a number");
  EXPECT_EQ(context["columns"]["note"], "poison");
  EXPECT_FALSE(context["error"].get<std::string>().empty());

  // A column added while the producer runs.
  db.Execute("ALTER TABLE items ADD COLUMN color TEXT");
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  db.Execute("INSERT INTO items VALUES (103, 103, 'with color', 'red')");
  ASSERT_TRUE(WaitFor(
      [&] {
        events = ReadTopic(broker.bootstrap(), "cdc.main.items");
        return std::count_if(events.begin(), events.end(),
                             [](const TopicMessage& m) { return m.op() == "c"; }) >= 102;
      },
      std::chrono::seconds(60)))
      << Tail(dir.File("producer.log"));
  kafka::KafkaSettings kafka;
  kafka.bootstrap_servers = broker.bootstrap();
  registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
  event::EventDecoder decoder(schemas, event::Format::kAvro);
  const auto by_seq = [](const TopicMessage& a, const TopicMessage& b) {
    return a.seq() < b.seq();
  };
  // The new column starts a backfill ('r' events of every row); the insert is the last 'c'.
  std::vector<TopicMessage> inserts;
  for (const TopicMessage& m : events) {
    if (m.op() == "c") inserts.push_back(m);
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        const auto all = ReadTopic(broker.bootstrap(), "cdc.main.items");
        // 1-100 and 102, and 103 when it committed before the backfill read it; 101 does not
        // encode (dead-lettered again).
        return std::count_if(all.begin(), all.end(),
                             [](const TopicMessage& m) { return m.op() == "r"; }) >= 101;
      },
      std::chrono::seconds(30)))
      << Tail(dir.File("producer.log"));
  const TopicMessage& first = *std::min_element(inserts.begin(), inserts.end(), by_seq);
  const TopicMessage& last = *std::max_element(inserts.begin(), inserts.end(), by_seq);
  const event::DecodedEvent before = decoder.Decode(*first.value, first.headers);
  const event::DecodedEvent after = decoder.Decode(*last.value, last.headers);
  EXPECT_NE(after.schema_id, before.schema_id) << Tail(dir.File("producer.log"));
  ASSERT_EQ(after.table->columns.size(), 4u);
  EXPECT_EQ(after.table->columns[3].name, "color");
  EXPECT_EQ(std::get<std::string>((*after.event.after)[3]), "red");
  EXPECT_TRUE(producer.running()) << "the schema change needed a restart";

  // Purge: every published change row is deleted once the checkpoint covers it.
  ASSERT_TRUE(WaitFor([&] { return *Query(db, "SELECT COUNT(*) FROM items_CT")[0][0] == "0"; },
                      std::chrono::seconds(30)))
      << Tail(dir.File("producer.log"));
  const std::string metrics = StatusGet(dir.File("producer.log"), "/metrics").second;
  EXPECT_EQ(MetricValue(metrics, "cdc_producer_purged_rows_total{table=\"main.items\"}"), 103)
      << metrics;
  // Row 101, as streamed and as the backfill read it.
  EXPECT_EQ(MetricValue(metrics, "cdc_producer_poison_rows_total{table=\"main.items\"}"), 2)
      << metrics;
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
}

// After a restart the first purge starts at the change table's lowest number: from 0 it took one
// DELETE per 10,000 numbers up to the checkpoint (a million statements at 10^10).
TEST(ProducerOperations, APurgeAfterARestartStartsAtTheLowestChangeRow) {
  PurgedItems items("CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, qty INTEGER)");
  ASSERT_TRUE(items.applied) << Tail(items.dir.File("ddl.log"));
  TempDir& dir = items.dir;
  odbc::Connection& db = items.db;
  const std::string& config = items.config;
  auto purged = [&] { return *Query(db, "SELECT COUNT(*) FROM items_CT")[0][0] == "0"; };
  {
    ProducerProcess producer(config, dir.File("producer.log"));
    for (int id = 1; id <= 3; ++id) {
      db.Execute("INSERT INTO items VALUES (" + std::to_string(id) + ", 1)");
    }
    ASSERT_TRUE(WaitFor(purged, std::chrono::seconds(30))) << Tail(dir.File("producer.log"));
    EXPECT_EQ(producer.Stop(SIGTERM), 0);
  }
  // While it is away the change numbers move on by five million (a busy source).
  db.Execute("UPDATE sqlite_sequence SET seq = 5000000 WHERE name = 'items_CT'");
  for (int id = 4; id <= 6; ++id) {
    db.Execute("INSERT INTO items VALUES (" + std::to_string(id) + ", 1)");
  }
  WriteText(dir.File("producer.log"), "");
  ProducerProcess producer(config, dir.File("producer.log"));
  ASSERT_TRUE(WaitFor(purged, std::chrono::seconds(30))) << Tail(dir.File("producer.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
  const std::string log = Tail(dir.File("producer.log"), 400);
  const size_t line = log.find("purged published change rows");
  ASSERT_NE(line, std::string::npos) << log;
  const std::string purge = log.substr(line, log.find('\n', line) - line);
  EXPECT_NE(purge.find("\"rows\":3"), std::string::npos) << purge;
  EXPECT_NE(purge.find("\"after_seq\":5000000"), std::string::npos) << purge;
  EXPECT_NE(purge.find("\"through_seq\":5000003"), std::string::npos) << purge;
  EXPECT_NE(purge.find("\"statements\":1}"), std::string::npos) << purge;
}

TEST(ProducerOperations, FailingTableDoesNotStallTheOthers) {
  DevBroker broker;
  SqliteSource source;
  TempDir dir("cdc-producer-ops");
  odbc::Environment environment;
  odbc::Connection db(environment, source.ConnectionString() + "Timeout=20000;");
  db.Execute("CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, qty INTEGER)");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig(broker.bootstrap(), source.ConnectionString(),
                                   "    - name: main.items\n", "  snapshot: never\n"));
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  // A second table whose change table does not exist: it fails and retries, alone.
  WriteText(config, ProducerConfig(broker.bootstrap(), source.ConnectionString(),
                                   "    - name: main.missing\n    - name: main.items\n",
                                   "  snapshot: never\n"));
  ProducerProcess producer(config, dir.File("producer.log"));
  for (int id = 1; id <= 50; ++id) {
    db.Execute("INSERT INTO items VALUES (" + std::to_string(id) + ", 1)");
  }
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(broker.bootstrap(), "cdc.main.items").size() == 50; },
                      std::chrono::seconds(60)))
      << Tail(dir.File("producer.log"));
  const auto [status, body] = StatusGet(dir.File("producer.log"), "/ready");
  EXPECT_EQ(status, 503);
  EXPECT_NE(body.find("main.missing"), std::string::npos) << body;
  EXPECT_EQ(body.find("main.items:"), std::string::npos) << body;
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
}

// `ddl --dialect oracle --schema S` renders the DDL for a database the tool cannot reach from a
// copy of the tables (here SQLite): the columns are read from the source, the statements are
// Oracle's, placed in schema S, always the "create" form; --apply is refused with such a target.
TEST(ProducerOperations, DdlForAnotherDialectIsRenderedFromTheSourcesColumns) {
  SqliteSource source;
  TempDir dir("cdc-producer-ddl-dialect");
  odbc::Environment environment;
  odbc::Connection db(environment, source.ConnectionString() + "Timeout=20000;");
  db.Execute(
      "CREATE TABLE items (id INTEGER NOT NULL PRIMARY KEY, amount DECIMAL(12,2), "
      "note VARCHAR(40), body TEXT, created TIMESTAMP)");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig("127.0.0.1:9", source.ConnectionString(),
                                   "    - name: main.items\n", ""));
  // The change table exists in the source: a same-dialect ddl would evolve it, a foreign one
  // still creates.
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("apply.log")).first, 0);

  const auto [rc, script] = RunCommand(
      {"ddl", "--config", config, "--dialect", "oracle", "--schema", "SHOP"}, dir.File("o.log"));
  ASSERT_EQ(rc, 0) << script << Tail(dir.File("o.log"));
  for (const std::string expected :
       {"-- Change table for SHOP.items (oracle), generated by cdc-producer ddl",
        "CREATE SEQUENCE \"SHOP\".\"items_CT_SEQ\"", "CREATE TABLE \"SHOP\".\"items_CT\" (",
        // As declared: the other database enforces what SQLite does not.
        "\"id\" NUMBER(10)", "\"amount\" NUMBER(12,2)", "\"note\" VARCHAR2(40 CHAR)",
        "\"body\" CLOB", "\"created\" TIMESTAMP(6)",
        "AFTER INSERT OR UPDATE OR DELETE ON \"SHOP\".\"items\"", "END;\n/\n"}) {
    EXPECT_NE(script.find(expected), std::string::npos) << expected << "\n" << script;
  }
  EXPECT_EQ(script.find("main"), std::string::npos) << "the source schema leaks:\n" << script;
  EXPECT_EQ(script.find("ADD ("), std::string::npos) << "not an evolution:\n" << script;

  const auto [pg_rc, pg_script] =
      RunCommand({"ddl", "--config", config, "--dialect", "postgres"}, dir.File("p.log"));
  ASSERT_EQ(pg_rc, 0) << Tail(dir.File("p.log"));
  EXPECT_NE(pg_script.find("\"amount\" numeric(12,2)"), std::string::npos) << pg_script;
  EXPECT_NE(pg_script.find("FOR EACH ROW EXECUTE FUNCTION"), std::string::npos) << pg_script;

  const auto [apply_rc, apply_out] = RunCommand(
      {"ddl", "--config", config, "--dialect", "oracle", "--apply"}, dir.File("refused.log"));
  EXPECT_EQ(apply_rc, 2);
  EXPECT_NE(Tail(dir.File("refused.log")).find("--apply cannot be combined with --dialect oracle"),
            std::string::npos)
      << Tail(dir.File("refused.log"));
  EXPECT_EQ(RunCommand({"ddl", "--config", config, "--dialect", "db2"}, dir.File("bad.log")).first,
            2);
}

}  // namespace
}  // namespace cdc::testing

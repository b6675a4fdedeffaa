// cdc-consumer against a real PostgreSQL and the dev broker: the version-guarded apply equals an
// in-memory model for random histories with duplicates and replays (1,000 seeds), the same key
// many times in one batch, and exactly the expected metadata.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "consumer/apply_sql.h"
#include "consumer/migrations.h"
#include "consumer/target_catalog.h"
#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

// The rows the model expects: id -> "note|qty|seq", absent when deleted or never inserted.
using Model = std::map<int64_t, std::string>;

std::string RowText(const event::ChangeEvent& e) {
  const event::Row& row = *e.after;
  return (event::IsNull(row[1]) ? std::string("NULL") : std::get<std::string>(row[1])) + "|" +
         std::to_string(std::get<int64_t>(row[3])) + "|" + std::to_string(e.source.seq);
}

Model ReadReplica(const PgCluster& cluster) {
  Model rows;
  const std::string out = cluster.Psql(
      "replica",
      "SELECT id, COALESCE(note, 'NULL'), qty, _cdc_seq FROM replica.orders ORDER BY id");
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, '|')) f.push_back(field);
    rows[std::stoll(f[0])] = f[1] + "|" + f[2] + "|" + f[3];
  }
  return rows;
}

TEST_F(ConsumerTest, RandomHistoriesWithDuplicatesAndReplaysEqualTheModel) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  Model model;
  std::vector<event::ChangeEvent> stream;
  int64_t seq = 0;
  constexpr int kSeeds = 1000;
  constexpr int kKeysPerSeed = 4;
  for (int seed = 0; seed < kSeeds; ++seed) {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    // Per key: a valid history (insert when absent; update or delete when present). Key changes
    // arrive as a delete of one key and an insert of another, as the producer sends them.
    std::vector<std::vector<event::ChangeEvent>> histories(kKeysPerSeed);
    std::vector<bool> present(kKeysPerSeed, false);
    const int steps = 3 + static_cast<int>(rng() % 10);
    for (int step = 0; step < steps; ++step) {
      const int k = static_cast<int>(rng() % kKeysPerSeed);
      const int64_t id = seed * 10 + k;
      const bool change_key = present[k] && rng() % 6 == 0;
      if (change_key) {
        const int other = (k + 1) % kKeysPerSeed;
        if (!present[other]) {
          histories[k].push_back(OrderEvent(Op::kDelete, id, ++seq, std::nullopt, 0));
          present[k] = false;
          const int64_t moved = ++seq;
          histories[other].push_back(OrderEvent(Op::kCreate, seed * 10 + other, moved,
                                                "moved " + std::to_string(moved), 1));
          present[other] = true;
          continue;
        }
      }
      if (!present[k]) {
        const Op op = rng() % 5 == 0 ? Op::kRead : Op::kCreate;
        const int64_t at = ++seq;
        const std::optional<std::string> note =
            rng() % 4 == 0 ? std::nullopt : std::optional<std::string>("n" + std::to_string(at));
        histories[k].push_back(OrderEvent(op, id, at, note, static_cast<int64_t>(rng() % 100)));
        present[k] = true;
      } else if (rng() % 4 == 0) {
        histories[k].push_back(OrderEvent(Op::kDelete, id, ++seq, std::nullopt, 0));
        present[k] = false;
      } else {
        const int64_t at = ++seq;
        histories[k].push_back(OrderEvent(Op::kUpdate, id, at, "u" + std::to_string(at),
                                          static_cast<int64_t>(rng() % 100)));
      }
    }
    // The model: per key, the highest seq wins; a delete leaves no row.
    for (int k = 0; k < kKeysPerSeed; ++k) {
      if (histories[k].empty()) continue;
      const event::ChangeEvent& last = histories[k].back();
      if (last.op != Op::kDelete) model[seed * 10 + k] = RowText(last);
    }
    // Duplicates and replays of older events, appended to each key's stream (same partition,
    // later offsets).
    for (int k = 0; k < kKeysPerSeed; ++k) {
      const size_t n = histories[k].size();
      for (size_t r = 0; n > 0 && r < rng() % 3; ++r) {
        histories[k].push_back(histories[k][rng() % n]);
      }
    }
    // Interleave the keys at random, keeping each key's order.
    std::vector<size_t> next(kKeysPerSeed, 0);
    while (true) {
      std::vector<int> open;
      for (int k = 0; k < kKeysPerSeed; ++k) {
        if (next[k] < histories[k].size()) open.push_back(k);
      }
      if (open.empty()) break;
      const int k = open[rng() % open.size()];
      stream.push_back(histories[k][next[k]++]);
    }
  }
  for (const event::ChangeEvent& e : stream) writer.Write(table, e);
  writer.Flush();

  ConsumerProcess consumer({"run", "--config", ConfigPath("  batch_max_events: 700\n")}, LogPath());
  const int64_t total = [&] {
    int64_t messages = 0;
    for (const event::ChangeEvent& e : stream) messages += e.op == Op::kDelete ? 2 : 1;
    return messages;
  }();
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= total; },
                        std::chrono::seconds(120)))
      << "applied through " << AppliedThrough("cdc.SHOP.ORDERS") << " of " << total;
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);

  const Model replica = ReadReplica(cluster_);
  EXPECT_EQ(replica.size(), model.size());
  int differences = 0;
  for (const auto& [id, row] : model) {
    const auto found = replica.find(id);
    if (found == replica.end() || found->second != row) {
      if (++differences <= 10) {
        ADD_FAILURE() << "id " << id << ": expected " << row << ", got "
                      << (found == replica.end() ? "no row" : found->second);
      }
    }
  }
  EXPECT_EQ(differences, 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
  EXPECT_EQ(Sql("SELECT source_table || ' ' || topic || ' ' || (rows_applied > 0)::text FROM "
                "cdc.tables"),
            "SHOP.ORDERS cdc.SHOP.ORDERS true");
  EXPECT_EQ(Sql("SELECT last_seq FROM cdc.tables"), std::to_string(seq));
}

TEST_F(ConsumerTest, SameKeyManyTimesInOneBatchKeepsTheNewest) {
  // One produce batch per partition (linger 2 s; Flush sends at once): the dev broker returns one
  // message set per partition and fetch, so a key's events written over more than the default
  // 5 ms linger (a loaded machine, sanitizers) reached the consumer in two polls and two batches.
  EventWriter writer(broker_.bootstrap(), event::Format::kJson, 2000);
  const event::TableMeta table = OrdersTable();
  writer.Write(table, OrderEvent(Op::kCreate, 1, 1, "first", 1, "10.00"));
  for (int64_t seq = 2; seq <= 50; ++seq) {
    writer.Write(table, OrderEvent(Op::kUpdate, 1, seq, "v" + std::to_string(seq), seq, "0.01"));
  }
  writer.Write(table, OrderEvent(Op::kUpdate, 1, 20, "older replay", 20));  // older: ignored
  writer.Write(table, OrderEvent(Op::kCreate, 2, 51, "two", 2));
  writer.Write(table, OrderEvent(Op::kDelete, 2, 52, std::nullopt, 0));
  writer.Write(table, OrderEvent(Op::kCreate, 2, 51, "two", 2));  // replayed: must not resurrect
  writer.Flush();
  ConsumerProcess consumer({"run", "--config", ConfigPath("  batch_max_ms: 2000\n", "json")},
                           LogPath());
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 55; }, std::chrono::seconds(60)));
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  EXPECT_EQ(Sql("SELECT id, note, amount, qty, _cdc_seq, _cdc_op FROM replica.orders"),
            "1|v50|0.01|50|50|u");
  EXPECT_EQ(Sql("SELECT key || ' ' || seq FROM cdc.tombstones"), "[\"2\"] 52");
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
  EXPECT_EQ(Sql("SELECT rows_applied || ' ' || deletes_applied FROM cdc.tables"),
            "1 0");  // key 2: its delete (seq 52) won within the batch; no row existed
  // The target table's shape: lower-cased columns, contract types, metadata, key; by default no
  // index on _cdc_seq (consumer.change_feed is off) and room on each page for HOT updates.
  EXPECT_EQ(Sql("SELECT string_agg(column_name || ':' || data_type || ':' || is_nullable, ',' "
                "ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = "
                "'replica' AND table_name = 'orders'"),
            "id:bigint:NO,note:character varying:YES,amount:numeric:YES,qty:integer:NO,"
            "_cdc_seq:bigint:NO,_cdc_op:character:NO,_cdc_source_ts:timestamp with time zone:YES,"
            "_cdc_applied_at:timestamp with time zone:NO,_cdc_deleted_at:timestamp with time "
            "zone:YES");
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_indexes WHERE schemaname = 'replica' AND indexdef LIKE "
                "'%(_cdc_seq)%'"),
            "0");
  EXPECT_EQ(Sql("SELECT reloptions::text FROM pg_class WHERE oid = 'replica.orders'::regclass"),
            "{fillfactor=85}");
  // Remembered deletes older than consumer.tombstone_retention_hours are purged; newer ones stay.
  Sql("INSERT INTO cdc.tombstones (target_schema, target_table, key, seq, deleted_at) VALUES "
      "('replica', 'orders', '[\"9\"]', 9, now() - interval '200 hours')");
  ConsumerProcess again({"run", "--config", ConfigPath("", "json")}, LogPath());
  EXPECT_TRUE(WaitUntil([&] { return Sql("SELECT count(*) FROM cdc.tombstones") == "1"; },
                        std::chrono::seconds(30)));
  EXPECT_EQ(again.Stop(), 0);
  EXPECT_EQ(Sql("SELECT key FROM cdc.tombstones"), "[\"2\"]");
}

// A snapshot read at the position the row already has replaces it (two backfills may read at
// one position, the later with a column more); any other event at that position does not.
TEST_F(ConsumerTest, ASnapshotReadAtTheSamePositionReplacesTheRow) {
  const event::TableMeta table = OrdersTable();
  std::optional<ConsumerProcess> consumer;
  int64_t applied = 0;
  for (const auto& [op, note] : std::vector<std::pair<Op, std::string>>{
           {Op::kRead, "first backfill"}, {Op::kRead, "second backfill"}, {Op::kUpdate, "dup"}}) {
    EventWriter writer(broker_.bootstrap(), event::Format::kJson);
    writer.Write(table, OrderEvent(op, 1, 7, note, 1));
    writer.Flush();
    if (!consumer)
      consumer.emplace(std::vector<std::string>{"run", "--config", ConfigPath("", "json")},
                       LogPath());
    ++applied;  // each in its own batch
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= applied; },
                          std::chrono::seconds(60)))
        << LogTail(40);
  }
  EXPECT_EQ(consumer->Stop(), 0) << LogTail(80);
  EXPECT_EQ(Sql("SELECT note || ' ' || _cdc_seq || ' ' || _cdc_op FROM replica.orders"),
            "second backfill 7 r");
}

TEST_F(ConsumerTest, SoftDeletesKeepTheRowUnderTheSameVersionGuard) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const event::TableMeta table = OrdersTable();
  writer.Write(table, OrderEvent(Op::kCreate, 1, 1, "one", 1));
  writer.Write(table, OrderEvent(Op::kCreate, 2, 2, "two", 2));
  writer.Flush();
  ConsumerProcess consumer({"run", "--config", ConfigPath("  delete_mode: soft\n")}, LogPath());
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 2; }, std::chrono::seconds(60)));
  writer.Write(table, OrderEvent(Op::kDelete, 1, 3, std::nullopt, 0));
  writer.Write(table, OrderEvent(Op::kDelete, 2, 4, std::nullopt, 0));
  writer.Write(table, OrderEvent(Op::kDelete, 5, 5, std::nullopt, 0));  // never seen: no row
  writer.Flush();
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 8; }, std::chrono::seconds(60)));
  EXPECT_EQ(Sql("SELECT count(*) FILTER (WHERE _cdc_deleted_at IS NOT NULL) FROM replica.orders"),
            "2");
  writer.Write(table, OrderEvent(Op::kUpdate, 1, 2, "older", 1));  // older than the delete
  writer.Write(table, OrderEvent(Op::kCreate, 2, 6, "again", 2));  // newer: back again
  writer.Write(table, OrderEvent(Op::kCreate, 5, 4, "stale", 5));  // older than its delete
  writer.Flush();
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 11; }, std::chrono::seconds(60)));
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  EXPECT_EQ(Sql("SELECT id || ':' || note || ':' || _cdc_op || ':' || _cdc_seq || ':' || "
                "(_cdc_deleted_at IS NOT NULL) FROM replica.orders ORDER BY id"),
            "1:one:d:3:true\n2:again:c:6:false");
}

TEST_F(ConsumerTest, NewColumnEvolvesTheTableAndDataLands) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  writer.Write(OrdersTable(), OrderEvent(Op::kCreate, 1, 1, "before", 1));
  writer.Flush();
  ConsumerProcess consumer({"run", "--config", ConfigPath()}, LogPath());
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 1; }, std::chrono::seconds(60)));
  // The source gains a column: a new schema version, events carry it.
  event::ChangeEvent colored = OrderEvent(Op::kCreate, 2, 2, "after", 2);
  colored.after->push_back(std::string("red"));
  writer.Write(OrdersTable(true), colored);
  event::ChangeEvent update = OrderEvent(Op::kUpdate, 1, 3, "updated", 1);
  update.after->push_back(std::string("blue"));
  writer.Write(OrdersTable(true), update);
  writer.Write(OrdersTable(), OrderEvent(Op::kCreate, 3, 4, "old schema", 3));  // older writer
  writer.Flush();
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= 4; }, std::chrono::seconds(60)))
      << LogTail();
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  EXPECT_EQ(Sql("SELECT id || ':' || note || ':' || COALESCE(color, 'NULL') FROM replica.orders "
                "ORDER BY id"),
            "1:updated:blue\n2:after:red\n3:old schema:NULL");
  EXPECT_EQ(Sql("SELECT data_type || '(' || character_maximum_length || ')' FROM "
                "information_schema.columns WHERE table_name = 'orders' AND column_name = 'color'"),
            "character varying(10)");
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
}

// Two lanes (or two consumers) that see their first events of two tables of a new target schema
// at once both create the schema; PostgreSQL's CREATE SCHEMA IF NOT EXISTS is not safe against
// that race (23505 on pg_namespace), which once dead-lettered whole batches. DDL is serialized
// per target schema.
TEST_F(ConsumerTest, TablesFirstSeenConcurrentlyInANewSchemaAreCreatedWithoutErrors) {
  pg::Connection setup(url_, "test");
  {
    Logging logging(LogFormat::kText, LogLevel::kWarn);
    consumer::ApplyMigrations(setup, logging.Get("test"));
  }
  event::TableMeta orders = OrdersTable();
  event::TableMeta lines = OrdersTable();
  lines.table = "LINES";
  for (int round = 0; round < 20; ++round) {
    const std::string schema = "race_" + std::to_string(round);
    std::atomic<int> ready{0};
    std::vector<std::string> errors(2);
    const auto create = [&](int index, const event::TableMeta& meta) {
      Logging logging(LogFormat::kText, LogLevel::kWarn);
      pg::Connection db(url_, "test");
      consumer::TargetCatalog catalog(schema, true, logging.Get("test"));
      ++ready;
      while (ready.load() < 2) {
      }
      try {
        catalog.Prepare(db, meta.table == "ORDERS" ? "orders" : "lines", "cdc.SHOP." + meta.table,
                        meta, 1);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(index)] = e.what();
      }
    };
    std::thread first(create, 0, std::cref(orders));
    std::thread second(create, 1, std::cref(lines));
    first.join();
    second.join();
    EXPECT_EQ(errors[0], "") << "round " << round;
    EXPECT_EQ(errors[1], "") << "round " << round;
  }
}

// The newest-tombstone check runs once per batch: it must read one index entry however many
// deletes are remembered and whether or not the table was analyzed (max(seq) without statistics
// read all of them, 6-8 ms per batch at 30k).
TEST_F(ConsumerTest, NewestTombstoneCheckReadsOneIndexEntryWithoutStatistics) {
  pg::Connection db(url_, "test");
  {
    Logging logging(LogFormat::kText, LogLevel::kWarn);
    consumer::ApplyMigrations(db, logging.Get("test"));
  }
  db.Exec(
      "INSERT INTO cdc.tombstones (target_schema, target_table, key, seq, source_ts, deleted_at)"
      " SELECT 'replica', 'orders', '[\"' || g || '\"]', g * 3, now(), now()"
      " FROM generate_series(1, 30000) g");
  const pg::Result newest =
      db.Exec(consumer::NewestTombstoneSql(), {std::string("replica"), std::string("orders")});
  ASSERT_EQ(newest.rows(), 1);
  EXPECT_EQ(newest.GetInt(0, 0), 90000);
  EXPECT_EQ(
      db.Exec(consumer::NewestTombstoneSql(), {std::string("replica"), std::string("none")}).rows(),
      0);
  // Rows the plan's scan node produced: 1, not 30000.
  const pg::Result plan = db.Exec("EXPLAIN (ANALYZE, FORMAT JSON) " + [] {
    std::string sql = consumer::NewestTombstoneSql();
    sql.replace(sql.find("$1"), 2, "'replica'");
    sql.replace(sql.find("$2"), 2, "'orders'");
    return sql;
  }());
  const nlohmann::json root = nlohmann::json::parse(std::string(plan.Get(0, 0)));
  int64_t most_rows = 0;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& node) {
    most_rows = std::max<int64_t>(most_rows, node.value("Actual Rows", int64_t{0}));
    if (node.contains("Plans")) {
      for (const nlohmann::json& child : node["Plans"]) walk(child);
    }
  };
  walk(root[0]["Plan"]);
  EXPECT_EQ(most_rows, 1) << root.dump(2);
}

// The checked upsert (replay, or lanes interleaving with deletes) reads only the remembered
// deletes at or above the batch's lowest seq: a hash anti-join over every tombstone of the table
// per batch (retention keeps a week of them) cost 40 ms of a 150 ms batch at 100k.
TEST_F(ConsumerTest, CheckedUpsertReadsOnlyTombstonesAtOrAboveTheBatch) {
  pg::Connection db(url_, "test");
  {
    Logging logging(LogFormat::kText, LogLevel::kWarn);
    consumer::ApplyMigrations(db, logging.Get("test"));
  }
  db.Exec("CREATE SCHEMA IF NOT EXISTS replica");
  db.Exec(
      "CREATE TABLE replica.probe (id bigint PRIMARY KEY, note text, _cdc_seq bigint NOT NULL,"
      " _cdc_op char(1), _cdc_source_ts timestamptz, _cdc_applied_at timestamptz,"
      " _cdc_deleted_at timestamptz)");
  db.Exec(
      "INSERT INTO cdc.tombstones (target_schema, target_table, key, seq, source_ts, deleted_at)"
      " SELECT 'replica', 'probe', '[\"' || g || '\"]', g * 3, now(), now()"
      " FROM generate_series(1, 30000) g");
  // One delete newer than its staged row: that row must stay out.
  db.Exec(
      "UPDATE cdc.tombstones SET seq = 300000 WHERE target_table = 'probe' AND key = '[\"5\"]'");
  consumer::StageSpec spec{"replica", "probe", "probe_stage", {"id", "note"}, {"id"}};
  pg::Transaction tx(db);
  db.Exec(consumer::CreateStageSql(spec));
  db.Exec(
      "INSERT INTO probe_stage SELECT g, 'n', 200000 + g, 'u', now(), '[\"' || g || '\"]'"
      " FROM generate_series(1, 200) g");
  const pg::Result plan =
      db.Exec("EXPLAIN (ANALYZE, FORMAT JSON) " +
                  consumer::UpsertSql(spec, consumer::TombstoneCheck::kChecked),
              {std::string("replica"), std::string("probe"), std::string("200001")});
  EXPECT_EQ(Sql("SELECT count(*) FROM replica.probe"), "0");  // not committed yet
  const nlohmann::json root = nlohmann::json::parse(std::string(plan.Get(0, 0)));
  int64_t most_rows = 0;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& node) {
    most_rows = std::max<int64_t>(
        most_rows, node.value("Actual Rows", int64_t{0}) * node.value("Actual Loops", int64_t{1}));
    if (node.contains("Plans")) {
      for (const nlohmann::json& child : node["Plans"]) walk(child);
    }
  };
  walk(root[0]["Plan"]);
  EXPECT_LE(most_rows, 200) << root.dump(2);
  // Keys 1..200 have tombstones older than their staged rows, but key 5's is newer.
  EXPECT_EQ(db.Exec("SELECT count(*) FROM replica.probe").GetInt(0, 0), 199);
  EXPECT_EQ(db.Exec("SELECT count(*) FROM replica.probe WHERE id = 5").GetInt(0, 0), 0);
}

// Every COMMIT empties every ON COMMIT DELETE ROWS staging table of the session, used or not, so a
// lane connection that once staged a table must not keep its stage for ever: one that its last
// batches did not use is dropped (and made again when the table comes back).
TEST_F(ConsumerTest, StagingTablesOfIdleTablesAreDropped) {
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  event::TableMeta notes = OrdersTable();
  notes.table = "NOTES";
  const auto note_event = [](int64_t id, int64_t seq) {
    event::ChangeEvent e = OrderEvent(Op::kCreate, id, seq, "note " + std::to_string(id), 1);
    e.source.table = "NOTES";
    return e;
  };
  const auto stages = [&] {
    return Sql(
        "SELECT count(*) FROM pg_class WHERE relname LIKE '\\_cdc\\_stage\\_%' AND "
        "relkind = 'r' AND relpersistence = 't'");
  };
  writer.Write(OrdersTable(), OrderEvent(Op::kCreate, 1, 1, "one", 1));
  writer.Write(notes, note_event(1, 1));
  writer.Flush();
  ConsumerProcess consumer({"run", "--config", ConfigPath("  apply_lanes: 1\n")}, LogPath());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return AppliedThrough("cdc.SHOP.ORDERS") >= 1 && AppliedThrough("cdc.SHOP.NOTES") >= 1;
      },
      std::chrono::seconds(60)))
      << LogTail();
  EXPECT_EQ(stages(), "2");
  // Batches of ORDERS only, one at a time: the NOTES stage goes.
  for (int64_t id = 2; id <= 14; ++id) {
    writer.Write(OrdersTable(), OrderEvent(Op::kCreate, id, id, "order", 1));
    writer.Flush();
    ASSERT_TRUE(WaitUntil([&] { return AppliedThrough("cdc.SHOP.ORDERS") >= id; },
                          std::chrono::seconds(60)))
        << LogTail();
  }
  EXPECT_EQ(stages(), "1");
  // NOTES again: staged anew, applied.
  writer.Write(notes, note_event(2, 2));
  writer.Flush();
  ASSERT_TRUE(
      WaitUntil([&] { return AppliedThrough("cdc.SHOP.NOTES") >= 2; }, std::chrono::seconds(60)))
      << LogTail();
  EXPECT_EQ(stages(), "2");
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);
  EXPECT_EQ(Sql("SELECT count(*) FROM replica.orders"), "14");
  EXPECT_EQ(Sql("SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM replica.notes"),
            "1:note 1,2:note 2");
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
}

}  // namespace
}  // namespace cdc::testing

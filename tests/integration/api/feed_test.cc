// Keyset pagination and the change feed: a walk over 10k rows while rows are being inserted
// returns every pre-existing row exactly once and in key order; the feed merges upserts and
// remembered deletes in seq order, resumes from next_after_seq, and long-polls until a change.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "tests/integration/api/api_fixture.h"

namespace cdc::testing {
namespace {

class ApiFeedTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    CreateTable(ApiOrdersTable(), "orders");
  }
};

TEST_F(ApiFeedTest, PaginationWalkUnderInsertsReturnsEveryRowOnceInOrder) {
  // 10k rows with even ids; inserts of odd ids run during the walk.
  Sql("INSERT INTO replica.orders (region, id, note, _cdc_seq, _cdc_op)"
      " SELECT CASE WHEN i % 3 = 0 THEN 'EU' ELSE 'US' END, i * 2, 'n' || i, i, 'c'"
      " FROM generate_series(1, 10000) i");
  StartApi();
  std::atomic<bool> walking{true};
  std::thread writer([&] {
    int64_t id = 1;
    while (walking) {
      Sql("INSERT INTO replica.orders (region, id, _cdc_seq, _cdc_op) VALUES ('EU', " +
          std::to_string(id) + ", " + std::to_string(100000 + id) + ", 'c'), ('US', " +
          std::to_string(id) + ", " + std::to_string(200000 + id) + ", 'c')");
      id += 2;
    }
  });
  std::vector<std::pair<std::string, int64_t>> seen;
  std::string cursor;
  int pages = 0;
  while (true) {
    const HttpReply page = Get("/api/v1/tables/orders/rows?limit=250&fields=region,id" +
                               (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(page.status, 200) << page.raw;
    for (const auto& row : page.body["data"]) {
      seen.emplace_back(row["region"].get<std::string>(), row["id"].get<int64_t>());
    }
    ++pages;
    if (!page.body["meta"]["pagination"]["has_more"].get<bool>()) break;
    cursor = page.body["meta"]["pagination"]["next_cursor"].get<std::string>();
  }
  walking = false;
  writer.join();
  EXPECT_GE(pages, 40);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end())) << "pages out of key order";
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "a row served twice";
  // Every pre-existing (even) id exactly once; new (odd) rows may or may not appear.
  std::multiset<int64_t> even;
  for (const auto& [region, id] : seen) {
    if (id % 2 == 0) even.insert(id);
  }
  EXPECT_EQ(even.size(), 10000u);
  EXPECT_EQ(std::set<int64_t>(even.begin(), even.end()).size(), 10000u);
}

TEST_F(ApiFeedTest, PagesFollowTheKeyOrderAcrossCompositeKeys) {
  Sql("INSERT INTO replica.orders (region, id, _cdc_seq, _cdc_op)"
      " SELECT r, i, i, 'c' FROM unnest(ARRAY['EU', 'US', 'A,B']) r, generate_series(1, 7) i");
  StartApi();
  std::vector<std::string> walked;
  std::string cursor;
  do {
    const HttpReply page = Get("/api/v1/tables/orders/rows?limit=4&fields=region,id" +
                               (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(page.status, 200) << page.raw;
    for (const auto& row : page.body["data"]) {
      walked.push_back(row["region"].get<std::string>() + "/" +
                       std::to_string(row["id"].get<int>()));
    }
    cursor = page.body["meta"]["pagination"]["next_cursor"].is_null()
                 ? ""
                 : page.body["meta"]["pagination"]["next_cursor"].get<std::string>();
  } while (!cursor.empty());
  const std::string expected =
      Sql("SELECT string_agg(region || '/' || id, ' ' ORDER BY region, id) FROM replica.orders");
  std::string joined;
  for (const std::string& w : walked) joined += (joined.empty() ? "" : " ") + w;
  EXPECT_EQ(joined, expected);
  // A cursor is bound to its table and cannot be forged.
  const HttpReply first = Get("/api/v1/tables/orders/rows?limit=1");
  std::string forged = first.body["meta"]["pagination"]["next_cursor"];
  forged[0] = forged[0] == 'W' ? 'X' : 'W';
  const HttpReply tampered = Get("/api/v1/tables/orders/rows?cursor=" + forged);
  EXPECT_EQ(tampered.status, 400);
  EXPECT_EQ(tampered.Code(), "VAL_002");
}

TEST_F(ApiFeedTest, ChangeFeedMergesUpsertsAndDeletesInSeqOrder) {
  Sql("INSERT INTO replica.orders (region, id, note, _cdc_seq, _cdc_op, _cdc_source_ts) VALUES"
      " ('EU', 1, 'a', 3, 'c', '2026-11-30 10:00:00+00'), ('EU', 2, 'b', 5, 'u', NULL),"
      " ('US', 9, 'gone', 7, 'd', NULL);"
      "UPDATE replica.orders SET _cdc_deleted_at = now() WHERE id = 9;"
      "INSERT INTO cdc.tombstones (target_schema, target_table, key, seq) VALUES"
      " ('replica', 'orders', '[\"EU\",\"4\"]', 4), ('replica', 'orders', '[\"XX\",\"8\"]', 8),"
      " ('replica', 'other', '[\"EU\",\"1\"]', 6);");
  StartApi();
  HttpReply reply = Get("/api/v1/tables/orders/changes?after_seq=0");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  const nlohmann::json& changes = reply.body["data"]["changes"];
  ASSERT_EQ(changes.size(), 5u) << changes.dump();
  EXPECT_EQ(changes[0], nlohmann::json({{"op", "c"},
                                        {"seq", 3},
                                        {"source_ts", "2026-11-30T10:00:00Z"},
                                        {"row",
                                         {{"region", "EU"},
                                          {"id", 1},
                                          {"amount", nullptr},
                                          {"note", "a"},
                                          {"paid", nullptr},
                                          {"created", nullptr},
                                          {"photo", nullptr}}}}));
  EXPECT_EQ(changes[1]["op"], "d");
  EXPECT_EQ(changes[1]["seq"], 4);
  EXPECT_EQ(changes[1]["key"], nlohmann::json({{"region", "EU"}, {"id", 4}}));
  EXPECT_EQ(changes[2]["op"], "u");
  EXPECT_EQ(changes[3]["op"], "d");  // the soft-deleted row, as a delete with its key
  EXPECT_EQ(changes[3]["key"], nlohmann::json({{"region", "US"}, {"id", 9}}));
  EXPECT_EQ(changes[4]["seq"], 8);
  EXPECT_EQ(reply.body["data"]["next_after_seq"], 8);

  reply = Get("/api/v1/tables/orders/changes?after_seq=3&limit=2");
  ASSERT_EQ(reply.body["data"]["changes"].size(), 2u);
  EXPECT_EQ(reply.body["data"]["next_after_seq"], 5);
  reply = Get("/api/v1/tables/orders/changes?after_seq=8");
  EXPECT_EQ(reply.body["data"]["changes"].size(), 0u);
  EXPECT_EQ(reply.body["data"]["next_after_seq"], 8);

  EXPECT_EQ(Get("/api/v1/tables/orders/changes?wait_ms=30001").Code(), "VAL_003");
  EXPECT_EQ(Get("/api/v1/tables/orders/changes?after_seq=-1").Code(), "VAL_003");
  EXPECT_EQ(Get("/api/v1/tables/orders/changes?after_seq=x").Code(), "VAL_002");
  EXPECT_EQ(Get("/api/v1/tables/orders/changes?since=1").Code(), "VAL_002");
}

// Without the change-feed index (consumer.change_feed off) the feed is refused with a clear 404,
// not served by scanning the whole table per page; the table list says so.
TEST_F(ApiFeedTest, ATableWithoutTheChangeFeedIndexHasNoFeed) {
  Sql("DROP INDEX replica.orders__cdc_seq");
  StartApi();
  const HttpReply reply = Get("/api/v1/tables/orders/changes?after_seq=0");
  EXPECT_EQ(reply.status, 404) << reply.raw;
  EXPECT_EQ(reply.Code(), "BIZ_001");
  EXPECT_NE(reply.raw.find("consumer.change_feed"), std::string::npos) << reply.raw;
  const HttpReply tables = Get("/api/v1/tables");
  ASSERT_EQ(tables.status, 200) << tables.raw;
  EXPECT_EQ(tables.body["data"][0]["change_feed"], false) << tables.raw;
  EXPECT_EQ(Get("/api/v1/tables/orders/rows").status, 200);  // the rows are served as before
}

TEST_F(ApiFeedTest, LongPollWaitsForTheNextChange) {
  Sql("INSERT INTO replica.orders (region, id, _cdc_seq, _cdc_op) VALUES ('EU', 1, 10, 'c')");
  StartApi();
  // Nothing newer: the call waits out wait_ms.
  auto started = std::chrono::steady_clock::now();
  HttpReply reply = Get("/api/v1/tables/orders/changes?after_seq=10&wait_ms=600");
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(550));
  EXPECT_EQ(reply.body["data"]["changes"].size(), 0u);
  // A change while it waits ends the wait early.
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    Sql("UPDATE replica.orders SET _cdc_seq = 11, _cdc_op = 'u', note = 'new' WHERE id = 1");
  });
  started = std::chrono::steady_clock::now();
  reply = Get("/api/v1/tables/orders/changes?after_seq=10&wait_ms=20000");
  const auto waited = std::chrono::steady_clock::now() - started;
  writer.join();
  ASSERT_EQ(reply.status, 200) << reply.raw;
  ASSERT_EQ(reply.body["data"]["changes"].size(), 1u);
  EXPECT_EQ(reply.body["data"]["changes"][0]["row"]["note"], "new");
  EXPECT_EQ(reply.body["data"]["next_after_seq"], 11);
  EXPECT_GE(waited, std::chrono::milliseconds(600));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

}  // namespace
}  // namespace cdc::testing

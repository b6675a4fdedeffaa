// GET /rows/{key} under concurrency: requests that arrive together share one statement
// (api/key_batcher.h, gathered by the I/O threads of api/http_server.h), and every request still
// gets exactly its own row, 404 or error. Real PostgreSQL and cdc-api, tables shaped by the
// consumer's catalog.
#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "api/key_batcher.h"
#include "api/pool.h"
#include "api/read_api.h"
#include "common/error.h"
#include "tests/integration/api/api_fixture.h"

namespace cdc::testing {
namespace {

using api::ApiError;
using api::ErrorCode;

class KeyBatchTest : public ApiTest {};

TEST_F(KeyBatchTest, ConcurrentReadsShareStatementsAndEachGetsItsOwnRow) {
  CreateTable(ApiOrdersTable(), "orders");
  // 2000 rows over two regions; every 10th id soft-deleted (hidden); ids above 2000 are absent.
  Sql("INSERT INTO replica.orders (region, id, amount, note, _cdc_seq, _cdc_op, _cdc_applied_at,"
      " _cdc_deleted_at) SELECT CASE WHEN g % 2 = 0 THEN 'E,U' ELSE 'U/S' END, g, g * 1.25,"
      " 'note ' || g, g, 'c', now(), CASE WHEN g % 10 = 0 THEN now() END"
      " FROM generate_series(1, 2000) g");
  StartApi();
  const auto counter = [&](const std::string& name) {
    const std::string text = Get("/metrics").raw;
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos
               ? int64_t{-1}
               : static_cast<int64_t>(std::stod(text.substr(at + name.size() + 2)));
  };
  const int64_t statements_before = counter("cdc_api_key_lookup_statements");
  const int64_t keys_before = counter("cdc_api_key_lookup_keys");

  // 32 keep-alive connections reading at once, as many services would.
  constexpr int kThreads = 32;
  constexpr int kReadsPerThread = 150;
  std::atomic<int> wrong{0};
  std::atomic<int> found{0};
  std::atomic<int> missing{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client client("127.0.0.1", port_);
      client.set_url_encode(false);
      client.set_keep_alive(true);
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < kReadsPerThread; ++i) {
        const int id = static_cast<int>(rng() % 2200) + 1;
        const std::string region = id % 2 == 0 ? "E%2CU" : "U%2FS";
        const bool visible = id <= 2000 && id % 10 != 0;
        const auto res =
            client.Get("/api/v1/tables/orders/rows/" + region + "," + std::to_string(id));
        if (!res) {
          ++wrong;
          continue;
        }
        const nlohmann::json body = nlohmann::json::parse(res->body, nullptr, false);
        if (res->status == 200) {
          const nlohmann::json& row = body["data"];
          if (!visible || row.value("id", int64_t{-1}) != id ||
              row.value("note", "") != "note " + std::to_string(id)) {
            ++wrong;
          }
          ++found;
        } else {
          if (visible || res->status != 404 || body["error"]["code"] != "BIZ_001") ++wrong;
          ++missing;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(found.load() + missing.load(), kThreads * kReadsPerThread);
  EXPECT_GT(missing.load(), 0);
  const int64_t statements = counter("cdc_api_key_lookup_statements") - statements_before;
  const int64_t keys = counter("cdc_api_key_lookup_keys") - keys_before;
  EXPECT_EQ(keys, kThreads * kReadsPerThread);
  // Requests that arrive while an I/O thread waits for PostgreSQL share its next statement.
  EXPECT_LT(statements, keys / 2) << statements << " statements for " << keys << " keys";
}

// One value PostgreSQL rejects fails the statement of its whole batch: the batch is asked again
// key by key, so only that lookup gets VAL_002 and the others their rows (or nothing).
TEST_F(KeyBatchTest, AValueThePostgresRejectsFailsOnlyItsOwnLookup) {
  event::TableMeta meta;
  meta.db = "shop";
  meta.schema = "SHOP";
  meta.table = "DAYS";
  meta.columns = {{"DAY", event::ColumnType::kDate, 0, 0, 0, false, 91, {}},
                  {"NOTE", event::ColumnType::kString, 0, 0, 0, true, 12, {}}};
  meta.key = {0};
  CreateTable(meta, "days");
  Sql("INSERT INTO replica.days (day, note, _cdc_seq, _cdc_op) VALUES"
      " ('2026-02-27', 'a', 1, 'c'), ('2026-02-28', 'b', 2, 'c')");
  pg::Connection db(url_, "key-batch-test");
  api::TableCatalog catalog("replica");
  const std::shared_ptr<const api::ApiTable> table = catalog.Find(db, "days");
  ASSERT_TRUE(table);
  const std::vector<size_t> columns = {1};
  // Runs statements as ReadApi::Run does (22* -> VAL_002).
  api::KeyBatcher batcher(
      [&](const api::Statement& statement) {
        try {
          return db.ExecPrepared(statement.sql, statement.params);
        } catch (const PermanentError& e) {
          if (e.code().rfind("22", 0) == 0) {
            throw ApiError(ErrorCode::kFormat, "a value is not valid for its column");
          }
          throw;
        }
      },
      64);
  // 2026-02-30 passes the API's own format check; PostgreSQL rejects it.
  const std::vector<std::string> days = {"2026-02-27", "2026-02-28", "2026-02-30", "2026-02-27",
                                         "2026-03-01"};
  std::vector<std::vector<std::string>> keys;
  for (const std::string& day : days) keys.push_back({day});
  std::vector<api::KeyBatcher::KeyLookup> lookups(days.size());
  std::vector<api::KeyBatcher::KeyLookup*> pointers;
  for (size_t i = 0; i < days.size(); ++i) {
    lookups[i].key = &keys[i];
    pointers.push_back(&lookups[i]);
  }
  batcher.AnswerAll(table, columns, pointers);
  const auto outcome = [&](size_t i) {
    const api::KeyBatcher::KeyLookup& l = lookups[i];
    if (l.failure) return std::string("failure");
    if (l.error) return std::string(l.error->code() == ErrorCode::kFormat ? "VAL_002" : "other");
    if (!l.found.result) return std::string("404");
    return std::string(l.found.result->Get(l.found.row, 2));
  };
  EXPECT_EQ(outcome(0), "a");
  EXPECT_EQ(outcome(1), "b");
  EXPECT_EQ(outcome(2), "VAL_002");
  EXPECT_EQ(outcome(3), "a");
  EXPECT_EQ(outcome(4), "404");
  // The batch of five that failed, then its five keys one by one.
  EXPECT_EQ(batcher.statements(), 6);
  EXPECT_EQ(batcher.keys(), 10);
}

}  // namespace
}  // namespace cdc::testing

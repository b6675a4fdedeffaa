// GET /rows/{key} under concurrency: requests that arrive together share one statement
// (api/key_batcher.h), and every request still gets exactly its own row, 404 or error. Real
// PostgreSQL, tables shaped by the consumer's catalog.
#include <algorithm>
#include <atomic>
#include <future>
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
  api::ApiSettings settings;
  settings.pool_size = 4;
  api::ConnectionPool pool(url_, settings.pool_size, std::chrono::milliseconds(5000));
  api::TableCatalog catalog("replica");
  SystemClock clock;
  api::ReadApi reads(settings, pool, catalog, clock);

  constexpr int kThreads = 32;
  constexpr int kReadsPerThread = 150;
  std::atomic<int> wrong{0};
  std::atomic<int> found{0};
  std::atomic<int> missing{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < kReadsPerThread; ++i) {
        const int id = static_cast<int>(rng() % 2200) + 1;
        const std::string region = id % 2 == 0 ? "E%2CU" : "U%2FS";
        const bool visible = id <= 2000 && id % 10 != 0;
        try {
          const api::Reply reply = reads.Row("orders", region + "," + std::to_string(id), {});
          const nlohmann::json& row = reply.data;
          if (!visible || row.value("id", int64_t{-1}) != id ||
              row.value("note", "") != "note " + std::to_string(id)) {
            ++wrong;
          }
          ++found;
        } catch (const ApiError& error) {
          if (visible || error.code() != ErrorCode::kNotFound) ++wrong;
          ++missing;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(found.load() + missing.load(), kThreads * kReadsPerThread);
  EXPECT_GT(missing.load(), 0);
  const int64_t statements = reads.key_batcher().statements();
  const int64_t keys = reads.key_batcher().keys();
  EXPECT_EQ(keys, kThreads * kReadsPerThread);
  // 32 threads over 2 leaders: requests pile up while a statement runs.
  EXPECT_LT(statements, keys / 2) << statements << " statements for " << keys << " keys";
}

// Runs statements on a real connection as ReadApi::Run does (22* -> VAL_002); the first one
// waits for `release` so the test can queue requests behind it.
class HeldRunner {
 public:
  explicit HeldRunner(const std::string& url) : connection_(url, "key-batch-test") {}
  pg::Result operator()(const api::Statement& statement) {
    if (first_.exchange(false)) release_.get_future().wait();
    std::lock_guard lock(mutex_);
    try {
      return connection_.ExecPrepared(statement.sql, statement.params);
    } catch (const PermanentError& e) {
      if (e.code().rfind("22", 0) == 0) {
        throw ApiError(ErrorCode::kFormat, "a value is not valid for its column");
      }
      throw;
    }
  }
  void Release() { release_.set_value(); }

 private:
  pg::Connection connection_;
  std::mutex mutex_;
  std::atomic<bool> first_{true};
  std::promise<void> release_;
};

TEST_F(KeyBatchTest, AValueThePostgresRejectsFailsOnlyItsOwnRequest) {
  event::TableMeta meta;
  meta.db = "shop";
  meta.schema = "SHOP";
  meta.table = "DAYS";
  meta.columns = {{"DAY", event::ColumnType::kDate, 0, 0, 0, false, 91},
                  {"NOTE", event::ColumnType::kString, 0, 0, 0, true, 12}};
  meta.key = {0};
  CreateTable(meta, "days");
  Sql("INSERT INTO replica.days (day, note, _cdc_seq, _cdc_op) VALUES"
      " ('2026-02-27', 'a', 1, 'c'), ('2026-02-28', 'b', 2, 'c')");
  pg::Connection db(url_, "key-batch-test");
  api::TableCatalog catalog("replica");
  const std::shared_ptr<const api::ApiTable> table = catalog.Find(db, "days");
  ASSERT_TRUE(table);
  const std::vector<size_t> columns = {1};

  HeldRunner runner(url_);
  api::KeyBatcher batcher([&](const api::Statement& s) { return runner(s); }, 1, 64);
  struct Ask {
    std::string day;
    std::future<std::string> answer;  // the note, "404" or the error code
  };
  const auto ask = [&](const std::string& day) {
    return std::async(std::launch::async, [&batcher, &table, &columns, day] {
      try {
        const api::KeyBatcher::Found found = batcher.Lookup(table, columns, {day});
        if (!found.result) return std::string("404");
        return std::string(found.result->Get(found.row, 2));
      } catch (const ApiError& error) {
        return std::string(error.code() == ErrorCode::kFormat ? "VAL_002" : "other");
      }
    });
  };
  // The first lookup leads and is held; four more queue behind it, one of them a date
  // PostgreSQL rejects (it passes the API's own format check).
  std::future<std::string> first = ask("2026-02-27");
  while (batcher.statements() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<std::pair<std::string, std::future<std::string>>> queued;
  for (const std::string day : {"2026-02-28", "2026-02-30", "2026-02-27", "2026-03-01"}) {
    queued.emplace_back(day, ask(day));
  }
  for (int i = 0; i < 5000 && batcher.queued() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(batcher.queued(), 4U);
  runner.Release();
  EXPECT_EQ(first.get(), "a");
  EXPECT_EQ(queued[0].second.get(), "b");
  EXPECT_EQ(queued[1].second.get(), "VAL_002");
  EXPECT_EQ(queued[2].second.get(), "a");
  EXPECT_EQ(queued[3].second.get(), "404");
  // The held one, the batch of four that failed, then its four keys one by one.
  EXPECT_EQ(batcher.statements(), 6);
  EXPECT_EQ(batcher.keys(), 9);
}

}  // namespace
}  // namespace cdc::testing

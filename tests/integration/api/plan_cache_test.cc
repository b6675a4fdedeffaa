// The page and change-feed statements are planned once per connection: after PostgreSQL's five
// trial executions of a prepared statement it keeps a generic plan instead of planning every
// execution again (planning was a fifth of a page's backend CPU). Checked on a real server through
// pg_prepared_statements, whose counters say which kind of plan each execution used.
#include <random>

#include "api/cursor.h"
#include "api/query.h"
#include "api/table_catalog.h"
#include "tests/integration/api/api_fixture.h"

namespace cdc::testing {
namespace {

class PlanCacheTest : public ApiTest {};

struct PlanCounts {
  int64_t generic = 0;
  int64_t custom = 0;
};

PlanCounts Plans(pg::Connection& db, const std::string& sql) {
  const pg::Result result = db.Exec(
      "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1", {sql});
  if (result.rows() != 1) return {-1, -1};
  return {result.GetInt(0, 0), result.GetInt(0, 1)};
}

TEST_F(PlanCacheTest, PagesAndTheChangeFeedKeepAGenericPlan) {
  CreateTable(ApiOrdersTable(), "orders");
  Sql("INSERT INTO replica.orders (region, id, amount, note, _cdc_seq, _cdc_op, _cdc_applied_at)"
      " SELECT CASE WHEN g % 2 = 0 THEN 'EU' ELSE 'US' END, g, g * 1.25, 'note ' || g, g, 'c',"
      " now() FROM generate_series(1, 20000) g");
  Sql("ANALYZE replica.orders");
  pg::Connection db(url_, "plan-cache-test");
  api::TableCatalog catalog("replica");
  const std::shared_ptr<const api::ApiTable> table = catalog.Find(db, "orders");
  ASSERT_TRUE(table);

  constexpr int kExecutions = 20;
  std::mt19937 rng(3);
  api::Statement page;
  api::Statement next_page;
  api::Statement changes;
  api::Statement tombstones;
  for (int i = 0; i < kExecutions; ++i) {
    const std::string id = std::to_string(rng() % 20000 + 1);
    page = api::RowsStatement(
        *table, api::ParseRowsRequest(*table, {{"limit", "50"}, {"id__gte", id}}, 1000));
    const pg::Result first = db.ExecPrepared(page.sql, page.params);
    ASSERT_GT(first.rows(), 0);
    const std::string cursor = api::EncodeCursor(
        "rows:replica.orders",
        {std::string(first.Get(first.rows() - 1, 0)), std::string(first.Get(first.rows() - 1, 1))});
    next_page = api::RowsStatement(
        *table, api::ParseRowsRequest(*table, {{"limit", "50"}, {"cursor", cursor}}, 1000));
    db.ExecPrepared(next_page.sql, next_page.params);
    changes = api::ChangesStatement(*table, static_cast<int64_t>(rng() % 20000), 100);
    EXPECT_GT(db.ExecPrepared(changes.sql, changes.params).rows(), 0);
    tombstones = api::TombstonesStatement(*table, static_cast<int64_t>(rng() % 20000), 100);
    db.ExecPrepared(tombstones.sql, tombstones.params);
  }
  for (const api::Statement* statement : {&page, &next_page, &changes, &tombstones}) {
    const PlanCounts plans = Plans(db, statement->sql);
    // Five trial custom plans at most, then the generic one for every later execution.
    EXPECT_EQ(plans.generic + plans.custom, kExecutions) << statement->sql;
    EXPECT_LE(plans.custom, 5) << statement->sql;
  }
}

}  // namespace
}  // namespace cdc::testing

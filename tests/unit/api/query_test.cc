// Request parsing and SQL building for reads: typed filters, fields, limits, cursors, keys.
// Identifiers are quoted; values only ever appear as parameters.
#include "api/query.h"

#include <gtest/gtest.h>

#include "api/cursor.h"
#include "api/response.h"
#include "api/router.h"

namespace cdc::api {
namespace {

ApiTable Orders() {
  ApiTable table;
  table.schema = "replica";
  table.target = "orders";
  table.source = "SHOP.ORDERS";
  table.columns = {{"region", "character varying(8)", ValueKind::kText, false},
                   {"id", "bigint", ValueKind::kInteger, false},
                   {"amount", "numeric(12,2)", ValueKind::kDecimal, false},
                   {"note", "text", ValueKind::kText, false},
                   {"_cdc_seq", "bigint", ValueKind::kInteger, true},
                   {"_cdc_deleted_at", "timestamp with time zone", ValueKind::kTimestampTz, true}};
  table.key = {0, 1};
  return table;
}

ErrorCode CodeOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return e.code();
  }
  ADD_FAILURE() << "no ApiError";
  return ErrorCode::kInternal;
}

TEST(RowsRequest, TypedFiltersBecomeBoundParameters) {
  const ApiTable table = Orders();
  const QueryParams params = {
      {"amount__gte", "10.5"}, {"region__in", "EU,US"}, {"note__null", "false"}, {"limit", "20"}};
  const Statement statement = RowsStatement(table, ParseRowsRequest(table, params, 1000));
  EXPECT_EQ(statement.sql,
            "SELECT \"region\", \"id\", \"region\", \"id\", \"amount\", \"note\" FROM "
            "\"replica\".\"orders\" WHERE TRUE AND _cdc_deleted_at IS NULL AND \"amount\" >= "
            "$1::numeric AND \"note\" IS NOT NULL AND \"region\" = ANY($2::text[]) ORDER BY "
            "\"region\", \"id\" LIMIT 21");
  ASSERT_EQ(statement.params.size(), 2u);
  EXPECT_EQ(*statement.params[0], "10.5");
  EXPECT_EQ(*statement.params[1], "{\"EU\",\"US\"}");
}

TEST(LimitClause, IsARowCountWrittenIntoTheSql) {
  // Written, not bound: with a bound LIMIT PostgreSQL re-plans the prepared statement every time.
  EXPECT_EQ(LimitClause(51), " LIMIT 51");
  EXPECT_EQ(LimitClause(1001), " LIMIT 1001");
  EXPECT_THROW(LimitClause(0), std::invalid_argument);
  EXPECT_THROW(LimitClause(-5), std::invalid_argument);
}

TEST(RowsRequest, CursorContinuesAfterTheLastKey) {
  const ApiTable table = Orders();
  const std::string cursor = EncodeCursor("rows:replica.orders", {"EU", "7"});
  const Statement statement =
      RowsStatement(table, ParseRowsRequest(table, {{"cursor", cursor}, {"fields", "note"}}, 100));
  EXPECT_NE(statement.sql.find("AND (\"region\", \"id\") > ($1::text, $2::bigint)"),
            std::string::npos)
      << statement.sql;
  EXPECT_EQ(*statement.params[0], "EU");
  EXPECT_EQ(*statement.params[1], "7");
}

TEST(RowsRequest, BadInputIsAnErrorWithItsCode) {
  const ApiTable table = Orders();
  auto parse = [&](QueryParams params) { ParseRowsRequest(table, params, 100); };
  EXPECT_EQ(CodeOf([&] { parse({{"limit", "101"}}); }), ErrorCode::kRange);
  EXPECT_EQ(CodeOf([&] { parse({{"limit", "0"}}); }), ErrorCode::kRange);
  EXPECT_EQ(CodeOf([&] { parse({{"limit", "99999999999999999999999"}}); }), ErrorCode::kRange);
  EXPECT_EQ(CodeOf([&] { parse({{"limit", "ten"}}); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { parse({{"nope", "1"}}); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { parse({{"id", "1 OR 1=1"}}); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { parse({{"amount__gt", "lots"}}); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { parse({{"note__null", "maybe"}}); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { parse({{"fields", "_cdc_seq"}}); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { parse({{"fields", "id;drop"}}); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { parse({{"include_meta", "yes"}}); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { parse({{"cursor", "garbage"}}); }), ErrorCode::kFormat);
  // Meta columns with include_meta.
  EXPECT_NO_THROW(parse({{"fields", "_cdc_seq"}, {"include_meta", "true"}}));
}

TEST(Cursor, RoundTripsAndRejectsTamperingAndOtherScopes) {
  const std::string cursor = EncodeCursor("rows:replica.orders", {"EU", "7"});
  EXPECT_EQ(DecodeCursor("rows:replica.orders", cursor, 2), (std::vector<std::string>{"EU", "7"}));
  std::string tampered = cursor;
  tampered[2] = tampered[2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(CodeOf([&] { DecodeCursor("rows:replica.orders", tampered, 2); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { DecodeCursor("rows:replica.other", cursor, 2); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { DecodeCursor("rows:replica.orders", cursor, 3); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { DecodeCursor("rows:replica.orders", cursor.substr(1), 2); }),
            ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { DecodeCursor("rows:replica.orders", std::string(5000, 'a'), 2); }),
            ErrorCode::kFormat);
}

TEST(KeyPath, SplitsOnRawCommasAndDecodesEachPart) {
  const ApiTable table = Orders();
  EXPECT_EQ(ParseKeyPath(table, "E%2CU%2F%25,42"), (std::vector<std::string>{"E,U/%", "42"}));
  EXPECT_EQ(ParseKeyPath(table, "%C3%BCn,1"), (std::vector<std::string>{"ün", "1"}));
  EXPECT_EQ(CodeOf([&] { ParseKeyPath(table, "EU"); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { ParseKeyPath(table, "EU,x"); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { ParseKeyPath(table, "E%G1,1"); }), ErrorCode::kFormat);
  EXPECT_EQ(CodeOf([&] { ParseKeyPath(table, "E%2,1"); }), ErrorCode::kFormat);
}

TEST(KeysStatement, OneArrayPerKeyColumnAndTheSameSqlForAnyNumberOfKeys) {
  const ApiTable table = Orders();
  const Statement two = KeysStatement(table, {3}, {{"E,U", "42"}, {"a\"b\\", "7"}});
  EXPECT_EQ(two.sql,
            "SELECT k.n, t.\"region\", t.\"id\", t.\"note\" FROM unnest($1::text[], "
            "$2::bigint[]) WITH ORDINALITY AS k(k0, k1, n) JOIN \"replica\".\"orders\" t ON "
            "t.\"region\" = k.k0 AND t.\"id\" = k.k1 WHERE t._cdc_deleted_at IS NULL");
  ASSERT_EQ(two.params.size(), 2U);
  EXPECT_EQ(two.params[0], R"({"E,U","a\"b\\"})");
  EXPECT_EQ(two.params[1], R"({"42","7"})");
  EXPECT_EQ(KeysStatement(table, {3}, {{"x", "1"}}).sql, two.sql);
  EXPECT_EQ(KeysStatement(table, {3}, {}).sql, two.sql);
}

TEST(Router, MatchesRawSegments) {
  auto match = MatchRoute("/api/v1/tables/orders/rows/E%2FU,1");
  ASSERT_TRUE(match);
  EXPECT_EQ(match->route->id, RouteId::kRow);
  EXPECT_EQ(match->params, (std::vector<std::string>{"orders", "E%2FU,1"}));
  EXPECT_EQ(MatchRoute("/api/v1/tables/orders/rows")->route->id, RouteId::kRows);
  EXPECT_FALSE(MatchRoute("/api/v1/tables/orders/rows/a/b"));
  EXPECT_FALSE(MatchRoute("/api/v1/tables//rows"));
  EXPECT_FALSE(MatchRoute("/nope"));
  EXPECT_FALSE(MatchRoute(""));
}

}  // namespace
}  // namespace cdc::api

// Every endpoint against a real PostgreSQL with tables shaped as cdc-consumer writes them: table
// listing, rows with typed filters, fields and meta, one row by composite and text keys (',',
// '/', '%', unicode), soft-deleted rows hidden, status, dead letters, probes, metrics, OpenAPI.
#include <gtest/gtest.h>

#include "tests/integration/api/api_fixture.h"

namespace cdc::testing {
namespace {

class ApiEndpointsTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    CreateTable(ApiOrdersTable(), "orders");
    Sql("INSERT INTO replica.orders (region, id, amount, note, paid, created, photo, _cdc_seq,"
        " _cdc_op, _cdc_source_ts) VALUES"
        " ('EU', 1, 10.50, 'first', true, '2026-11-30 10:00:00', '\\x00ff10', 11, 'c',"
        "  '2026-11-30 10:00:00.5+00'),"
        " ('EU', 2, 99999999.99, NULL, false, NULL, NULL, 12, 'u', NULL),"
        " ('US', 1, 0.01, 'ünïcødé', NULL, NULL, NULL, 13, 'c', NULL),"
        " ('A,B/%', 7, 1.00, 'odd key', NULL, NULL, NULL, 14, 'c', NULL),"
        " ('ü', 8, 2.00, 'unicode key', NULL, NULL, NULL, 15, 'c', NULL),"
        " ('XX', 9, 3.00, 'soft-deleted', NULL, NULL, NULL, 16, 'd', NULL);"
        "UPDATE replica.orders SET _cdc_deleted_at = now() WHERE region = 'XX';"
        "UPDATE cdc.tables SET last_seq = 16, rows_applied = 6 WHERE target_table = 'orders';");
    StartApi();
  }
};

TEST_F(ApiEndpointsTest, TablesListsTheRegisteredTables) {
  const HttpReply reply = Get("/api/v1/tables");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["success"], true);
  EXPECT_EQ(reply.body["status_code"], 200);
  EXPECT_FALSE(reply.body["meta"]["request_id"].get<std::string>().empty());
  EXPECT_FALSE(reply.body["meta"]["timestamp"].get<std::string>().empty());
  ASSERT_EQ(reply.body["data"].size(), 1u);
  const nlohmann::json& table = reply.body["data"][0];
  EXPECT_EQ(table["table"], "orders");
  EXPECT_EQ(table["source"], "SHOP.ORDERS");
  EXPECT_EQ(table["topic"], "cdc.SHOP.ORDERS");
  EXPECT_EQ(table["last_seq"], 16);
  EXPECT_EQ(table["rows_applied"], 6);
  EXPECT_EQ(table["change_feed"], true);  // made as with consumer.change_feed: true
  EXPECT_EQ(reply.Header("Cache-Control"), "no-store");
  EXPECT_EQ(reply.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(reply.Header("Content-Type"), "application/json");
}

TEST_F(ApiEndpointsTest, RowsComeInKeyOrderWithExactTypes) {
  const HttpReply reply = Get("/api/v1/tables/orders/rows");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  const nlohmann::json& rows = reply.body["data"];
  ASSERT_EQ(rows.size(), 5u) << rows.dump();  // the soft-deleted row is hidden
  EXPECT_EQ(rows[0]["region"], "A,B/%");
  EXPECT_EQ(rows[1]["region"], "EU");
  EXPECT_EQ(rows[1]["id"], 1);
  EXPECT_EQ(rows[1]["amount"], "10.50");  // exact decimals are strings
  EXPECT_EQ(rows[1]["paid"], true);
  EXPECT_EQ(rows[1]["created"], "2026-11-30T10:00:00");
  EXPECT_EQ(rows[1]["photo"], "AP8Q");  // bytes in base64
  EXPECT_EQ(rows[2]["note"], nullptr);
  EXPECT_EQ(rows[2]["amount"], "99999999.99");
  EXPECT_FALSE(rows[1].contains("_cdc_seq"));
  EXPECT_EQ(reply.body["meta"]["pagination"]["limit"], 50);
  EXPECT_EQ(reply.body["meta"]["pagination"]["has_more"], false);
  EXPECT_EQ(reply.body["meta"]["pagination"]["next_cursor"], nullptr);
  // The source name addresses the same table.
  EXPECT_EQ(Get("/api/v1/tables/SHOP.ORDERS/rows").body["data"], rows);
}

TEST_F(ApiEndpointsTest, FiltersAreTypedByTheColumn) {
  auto regions = [&](const std::string& query) {
    const HttpReply reply = Get("/api/v1/tables/orders/rows?" + query);
    EXPECT_EQ(reply.status, 200) << query << ": " << reply.raw;
    std::string out;
    for (const auto& row : reply.body["data"]) {
      out += row["region"].get<std::string>() + ":" + std::to_string(row["id"].get<int>()) + " ";
    }
    return out;
  };
  EXPECT_EQ(regions("region=EU"), "EU:1 EU:2 ");
  EXPECT_EQ(regions("amount__gt=5&amount__lte=99999999.99"), "EU:1 EU:2 ");
  EXPECT_EQ(regions("amount__lt=1.5"), "A,B/%:7 US:1 ");
  EXPECT_EQ(regions("id__in=1,7"), "A,B/%:7 EU:1 US:1 ");
  EXPECT_EQ(regions("note__null=true"), "EU:2 ");
  EXPECT_EQ(regions("paid=false"), "EU:2 ");
  EXPECT_EQ(regions("created__gte=2026-11-30T00:00:00"), "EU:1 ");
  EXPECT_EQ(regions("region=%C3%BC"), "ü:8 ");
  EXPECT_EQ(regions("region=XX"), "");  // soft-deleted
  // Bad filters: 400 with the code and the parameter.
  const HttpReply bad = Get("/api/v1/tables/orders/rows?amount__gt=lots");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.Code(), "VAL_002");
  EXPECT_EQ(bad.body["error"]["details"]["parameter"], "amount__gt");
  EXPECT_EQ(Get("/api/v1/tables/orders/rows?colour=red").Code(), "VAL_002");
  EXPECT_EQ(Get("/api/v1/tables/orders/rows?id=1.5").Code(), "VAL_002");
  EXPECT_EQ(Get("/api/v1/tables/orders/rows?limit=1001").Code(), "VAL_003");
  EXPECT_EQ(Get("/api/v1/tables/orders/rows?limit=1001").status, 400);
}

TEST_F(ApiEndpointsTest, FieldsAndMetaColumns) {
  HttpReply reply = Get("/api/v1/tables/orders/rows?fields=note,id&limit=1");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["data"][0], nlohmann::json({{"id", 7}, {"note", "odd key"}}));
  EXPECT_EQ(reply.body["meta"]["pagination"]["has_more"], true);
  reply = Get("/api/v1/tables/orders/rows?include_meta=true&limit=1");
  EXPECT_EQ(reply.body["data"][0]["_cdc_seq"], 14);
  EXPECT_EQ(reply.body["data"][0]["_cdc_op"], "c");
  EXPECT_EQ(Get("/api/v1/tables/orders/rows?fields=_cdc_seq").Code(), "VAL_002");
}

TEST_F(ApiEndpointsTest, OneRowByCompositeAndEncodedKeys) {
  HttpReply reply = Get("/api/v1/tables/orders/rows/EU,1");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["data"]["note"], "first");
  reply = Get("/api/v1/tables/orders/rows/A%2CB%2F%25,7");  // region "A,B/%"
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["data"]["note"], "odd key");
  reply = Get("/api/v1/tables/orders/rows/%C3%BC,8?fields=note");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["data"], nlohmann::json({{"note", "unicode key"}}));
  reply = Get("/api/v1/tables/orders/rows/EU,3");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.Code(), "BIZ_001");
  EXPECT_EQ(Get("/api/v1/tables/orders/rows/XX,9").status, 404);          // soft-deleted
  EXPECT_EQ(Get("/api/v1/tables/orders/rows/EU").Code(), "VAL_002");      // one of two parts
  EXPECT_EQ(Get("/api/v1/tables/orders/rows/EU,x").Code(), "VAL_002");    // not a bigint
  EXPECT_EQ(Get("/api/v1/tables/orders/rows/E%ZZ,1").Code(), "VAL_002");  // bad escape
  EXPECT_EQ(Get("/api/v1/tables/nope/rows/EU,1").Code(), "BIZ_001");
}

TEST_F(ApiEndpointsTest, StatusAndDeadLetters) {
  Sql("INSERT INTO cdc.offsets (group_id, topic, partition, next_offset) VALUES"
      " ('cdc-pg', 'cdc.SHOP.ORDERS', 0, 42);"
      // The consumers' lag measurement: partition 0 behind for 10 s, partition 1 (never
      // applied, so not in cdc.offsets) caught up; another schema's group is not this API's.
      "INSERT INTO cdc.partition_lag (group_id, target_schema, topic, partition, end_offset,"
      " next_offset, behind_since, observed_at) VALUES"
      " ('cdc-pg', 'replica', 'cdc.SHOP.ORDERS', 0, 50, 42, now() - interval '10 s', now()),"
      " ('cdc-pg', 'replica', 'cdc.SHOP.ORDERS', 1, 7, 7, NULL, now()),"
      " ('other', 'elsewhere', 'cdc.SHOP.ORDERS', 0, 50, 0, now() - interval '1 h', now());"
      "INSERT INTO cdc.dead_letters (group_id, topic, partition, \"offset\", key, value, headers,"
      " target_table, stage, error_class, error_code, error_message) VALUES"
      " ('cdc-pg', 'cdc.SHOP.ORDERS', 0, 5, '\\x6b31', '\\x07ff', '[{\"key\":\"cdc.op\","
      " \"value\":\"c\"}]', 'orders', 'decode', 'decode', 'AVRO', 'not avro'),"
      " ('cdc-pg', 'cdc.SHOP.ORDERS', 0, 9, NULL, '\\x01', '[]', 'orders', 'apply', 'data',"
      " '22P02', 'bad value');"
      "UPDATE cdc.tables SET last_applied_at = now() - interval '3 seconds';");
  HttpReply reply = Get("/api/v1/status");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  const nlohmann::json& status = reply.body["data"];
  EXPECT_EQ(status["tables"][0]["table"], "orders");
  // Rows counted before any ANALYZE (reltuples is -1 until then).
  EXPECT_GT(status["tables"][0]["row_estimate"].get<int64_t>(), 0) << status["tables"][0];
  EXPECT_EQ(status["tables"][0]["lag"]["records"], 8) << status["tables"][0];
  EXPECT_GE(status["tables"][0]["lag"]["seconds"].get<double>(), 9.5);
  EXPECT_LT(status["tables"][0]["lag"]["seconds"].get<double>(), 600);
  ASSERT_EQ(status["partitions"].size(), 3u) << status["partitions"];
  EXPECT_EQ(status["partitions"][0]["group"], "cdc-pg");
  EXPECT_EQ(status["partitions"][0]["next_offset"], 42);
  EXPECT_EQ(status["partitions"][0]["end_offset"], 50);
  EXPECT_EQ(status["partitions"][0]["lag"], 8);
  EXPECT_EQ(status["partitions"][1]["next_offset"], 7);
  EXPECT_EQ(status["partitions"][1]["lag"], 0);
  EXPECT_TRUE(status["partitions"][1]["behind_since"].is_null());
  EXPECT_EQ(status["dead_letters"].size(), 2u);
  EXPECT_GE(status["seconds_since_last_apply"].get<double>(), 2.5);

  reply = Get("/api/v1/dead-letters");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  ASSERT_EQ(reply.body["data"].size(), 2u);
  EXPECT_EQ(reply.body["data"][0]["offset"], 9);  // newest first
  EXPECT_EQ(reply.body["data"][1]["error_message"], "not avro");
  EXPECT_EQ(reply.body["data"][1]["headers"][0]["key"], "cdc.op");
  EXPECT_FALSE(reply.body["data"][0].contains("value"));  // payload only on request
  reply = Get("/api/v1/dead-letters?include_payload=true&class=decode");
  ASSERT_EQ(reply.body["data"].size(), 1u);
  EXPECT_EQ(reply.body["data"][0]["key"], "azE=");
  EXPECT_EQ(reply.body["data"][0]["value"], "B/8=");
  reply = Get("/api/v1/dead-letters?limit=1");
  ASSERT_EQ(reply.body["meta"]["pagination"]["has_more"], true);
  const std::string cursor = reply.body["meta"]["pagination"]["next_cursor"];
  reply = Get("/api/v1/dead-letters?limit=1&cursor=" + cursor);
  EXPECT_EQ(reply.body["data"][0]["offset"], 5);
  EXPECT_EQ(reply.body["meta"]["pagination"]["has_more"], false);
  EXPECT_EQ(Get("/api/v1/dead-letters?cursor=x.y").Code(), "VAL_002");
  EXPECT_EQ(Get("/api/v1/dead-letters?sort=id").Code(), "VAL_002");
}

TEST_F(ApiEndpointsTest, ProbesMetricsAndOpenApi) {
  HttpReply reply = Get("/health");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, nlohmann::json({{"status", "ok"}}));
  reply = Get("/ready");
  EXPECT_EQ(reply.status, 200) << reply.raw;
  Get("/api/v1/tables");
  reply = Get("/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_NE(reply.raw.find("cdc_api_requests_total{route=\"tables\",status=\"200\"} 1"),
            std::string::npos)
      << reply.raw;
  EXPECT_NE(reply.raw.find("cdc_api_request_duration_seconds_bucket{route=\"tables\""),
            std::string::npos);
  EXPECT_NE(reply.raw.find("cdc_api_pool_size 4"), std::string::npos);
  EXPECT_NE(reply.raw.find("\ncdc_ready 1\n"), std::string::npos);
  reply = Get("/api/v1/openapi.json");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body["openapi"], "3.0.3");
  EXPECT_TRUE(reply.body["paths"].contains("/api/v1/tables/{table}/changes"));
}

TEST_F(ApiEndpointsTest, ReadyTurns503WhenPostgresIsGone) {
  cluster_.Stop();
  const HttpReply ready = Get("/ready");
  EXPECT_EQ(ready.status, 503) << ready.raw;
  EXPECT_EQ(ready.body["status"], "not ready");
  const HttpReply rows = Get("/api/v1/tables/orders/rows");
  EXPECT_EQ(rows.status, 503) << rows.raw;
  EXPECT_EQ(rows.Code(), "SYS_003");
  EXPECT_EQ(Get("/health").status, 200);
  cluster_.Start();
  EXPECT_EQ(Get("/api/v1/tables/orders/rows").status, 200);  // broken connections replaced
}

}  // namespace
}  // namespace cdc::testing

// Dead letters over the API: each with its state and table (an undecodable record's from its
// topic), filtered by table and state; POST /dead-letters/{id}/discard gives one up with its
// reason - only for a caller with a bearer token, never for an anonymous API, and never a letter
// that was redriven.
#include <gtest/gtest.h>

#include "tests/integration/api/api_fixture.h"

namespace cdc::testing {
namespace {

class ApiDeadLettersTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    CreateTable(ApiOrdersTable(), "orders");  // topic cdc.SHOP.ORDERS
    Sql("INSERT INTO cdc.dead_letters (id, group_id, topic, partition, \"offset\", value,"
        " target_table, stage, error_class, error_message, redriven_at) VALUES"
        " (1, 'cdc-pg', 'cdc.SHOP.ORDERS', 0, 5, '\\x07', NULL, 'decode', 'decode', 'not avro', "
        "NULL),"
        " (2, 'cdc-pg', 'cdc.SHOP.ORDERS', 0, 9, '\\x01', 'orders', 'apply', 'data', 'bad', now()),"
        " (3, 'cdc-pg', 'cdc.OTHER.T', 1, 1, '\\x01', NULL, 'decode', 'decode', 'not avro', NULL)");
  }
  HttpReply Discard(const std::string& id, const std::string& body, const std::string& token) {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return Send("POST", "/api/v1/dead-letters/" + id + "/discard", headers, body);
  }
};

TEST_F(ApiDeadLettersTest, StateAndTableOfEveryLetter) {
  StartApi();
  HttpReply reply = Get("/api/v1/dead-letters?table=orders");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  ASSERT_EQ(reply.body["data"].size(), 2u) << reply.raw;  // the undecodable one too
  EXPECT_EQ(reply.body["data"][1]["id"], 1);
  EXPECT_EQ(reply.body["data"][1]["target_table"], "orders");
  EXPECT_EQ(reply.body["data"][1]["state"], "open");
  EXPECT_EQ(reply.body["data"][0]["state"], "redriven");
  reply = Get("/api/v1/dead-letters?state=open");
  ASSERT_EQ(reply.body["data"].size(), 2u) << reply.raw;
  EXPECT_TRUE(reply.body["data"][0]["target_table"].is_null());  // its topic maps to no table
  EXPECT_EQ(Get("/api/v1/dead-letters?state=closed").status, 400);
  // An anonymous API refuses discards (nobody to account for them).
  reply = Discard("1", R"({"reason":"never"})", "");
  EXPECT_EQ(reply.status, 403) << reply.raw;
  EXPECT_NE(reply.raw.find("api.tokens"), std::string::npos);
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters WHERE discarded_at IS NOT NULL"), "0");
}

TEST_F(ApiDeadLettersTest, DiscardNeedsATokenAndAReasonAndKeepsTheLetter) {
  StartApi(
      "  tokens: [tok-123456]\n  open_paths: [/health, /ready, /metrics, "
      "/api/v1/dead-letters/1/discard]\n");
  const std::string body = R"({"reason":"sent by a broken producer"})";
  EXPECT_EQ(Discard("1", body, "").status, 403);  // open path or not, a write needs a token
  EXPECT_EQ(Discard("1", body, "wrong").status, 403);
  EXPECT_EQ(Discard("2", body, "").status, 401);
  EXPECT_EQ(Discard("1", "", "tok-123456").status, 400);                         // no body
  EXPECT_EQ(Discard("1", R"({"reason":" "})", "tok-123456").status, 400);        // blank
  EXPECT_EQ(Discard("1", R"({"reason":1})", "tok-123456").status, 400);          // not text
  EXPECT_EQ(Discard("1", R"({"reason":"x","y":1})", "tok-123456").status, 400);  // unknown
  EXPECT_EQ(Discard("1", "{\"reason\":\"" + std::string(1001, 'r') + "\"}", "tok-123456").status,
            400);
  EXPECT_EQ(Discard("x", body, "tok-123456").status, 400);
  EXPECT_EQ(Discard("1", R"({"reason":"a\u0000b"})", "tok-123456").status, 400);  // not text
  EXPECT_EQ(Discard("1", R"({"reason":"\u0001"})", "tok-123456").status, 400);
  EXPECT_EQ(Discard("99", body, "tok-123456").status, 404);
  EXPECT_EQ(Discard("2", body, "tok-123456").status, 409);  // redriven: applied
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters WHERE discarded_at IS NOT NULL"), "0");

  HttpReply reply = Discard("1", body, "tok-123456");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["data"]["state"], "discarded");
  EXPECT_EQ(reply.body["data"]["was"], "open");
  EXPECT_EQ(Sql("SELECT discard_reason || '|' || (discarded_by LIKE 'cdc-api caller from %')"
                " FROM cdc.dead_letters WHERE id = 1"),
            "sent by a broken producer|true");
  reply = Discard("1", R"({"reason":"again"})", "tok-123456");  // idempotent
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["data"]["was"], "discarded");
  EXPECT_EQ(Sql("SELECT discard_reason FROM cdc.dead_letters WHERE id = 1"),
            "sent by a broken producer");
  reply = Get("/api/v1/dead-letters?state=discarded", {{"Authorization", "Bearer tok-123456"}});
  ASSERT_EQ(reply.body["data"].size(), 1u) << reply.raw;
  EXPECT_EQ(reply.body["data"][0]["discard_reason"], "sent by a broken producer");
  // The other routes still answer GET only, and the discard route POST only.
  reply = Send("GET", "/api/v1/dead-letters/1/discard", {{"Authorization", "Bearer tok-123456"}});
  EXPECT_EQ(reply.status, 405);
  EXPECT_NE(reply.headers.find("Allow"), reply.headers.end());
  EXPECT_EQ(reply.headers.find("Allow")->second, "POST, OPTIONS");
  EXPECT_EQ(Send("POST", "/api/v1/status", {{"Authorization", "Bearer tok-123456"}}).status, 405);
}

TEST_F(ApiDeadLettersTest, ARoleThatMayNotWriteGetsAClearRefusal) {
  Sql("CREATE ROLE reader LOGIN; GRANT USAGE ON SCHEMA cdc, replica TO reader;"
      " GRANT SELECT ON ALL TABLES IN SCHEMA cdc, replica TO reader;");
  url_ = "postgresql://reader@127.0.0.1:" + std::to_string(cluster_.port()) + "/replica";
  StartApi("  tokens: [tok-123456]\n");
  const HttpReply reply = Discard("1", R"({"reason":"r"})", "tok-123456");
  EXPECT_EQ(reply.status, 403) << reply.raw;
  EXPECT_NE(reply.raw.find("GRANT SELECT, UPDATE ON cdc.dead_letters"), std::string::npos)
      << reply.raw;
}

}  // namespace
}  // namespace cdc::testing

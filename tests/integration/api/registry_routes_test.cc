// cdc-api's Confluent Schema Registry REST subset over the embedded registry (the schemas topic
// on the dev broker): the answers standard clients expect, in the registry's own format.
#include <gtest/gtest.h>

#include <thread>

#include "common/registry/topic_registry.h"
#include "tests/harness/dev_broker.h"
#include "tests/integration/api/api_fixture.h"

namespace cdc::testing {
namespace {

constexpr const char* kFirst =
    R"({"type":"record","name":"V","fields":[{"name":"a","type":"int"}]})";
constexpr const char* kSecond =
    R"({"type":"record","name":"V","fields":[{"name":"a","type":"int"},)"
    R"({"name":"b","type":["null","string"],"default":null}]})";

class RegistryRoutesTest : public ApiTest {
 protected:
  std::string KafkaSection(const std::string& bootstrap) const {
    return "kafka:\n  bootstrap_servers: " + bootstrap + "\n  schemas_topic: _cdc_schemas\n";
  }
  DevBroker broker_{{"--topic", "_cdc_schemas:1"}};
};

TEST_F(RegistryRoutesTest, ServesTheSchemasTopicAsAConfluentRegistry) {
  Logging logging(LogFormat::kText, LogLevel::kWarn);
  registry::TopicRegistry writer({broker_.bootstrap(), {}}, "_cdc_schemas", logging.Get("w"));
  const int32_t first = writer.Register("cdc.SHOP.ORDERS-value", kFirst);
  const int32_t key = writer.Register("cdc.SHOP.ORDERS-key", R"("long")");
  StartApi(KafkaSection(broker_.bootstrap()));

  HttpReply reply = Get("/schemas/ids/" + std::to_string(first) + "?fetchMaxId=false");
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["schema"], kFirst);
  EXPECT_EQ(reply.headers.find("Content-Type")->second, "application/vnd.schemaregistry.v1+json");
  reply = Get("/subjects");
  EXPECT_EQ(reply.body, nlohmann::json({"cdc.SHOP.ORDERS-key", "cdc.SHOP.ORDERS-value"}));
  // A schema registered after the API started is found (the topic is read again).
  const int32_t second = writer.Register("cdc.SHOP.ORDERS-value", kSecond);
  reply = Get("/schemas/ids/" + std::to_string(second));
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["schema"], kSecond);
  EXPECT_EQ(Get("/subjects/cdc.SHOP.ORDERS-value/versions").body, nlohmann::json({1, 2}));
  reply = Get("/subjects/cdc.SHOP.ORDERS-value/versions/latest");
  EXPECT_EQ(reply.body, nlohmann::json({{"subject", "cdc.SHOP.ORDERS-value"},
                                        {"version", 2},
                                        {"id", second},
                                        {"schema", kSecond}}));
  EXPECT_EQ(Get("/subjects/cdc.SHOP.ORDERS-value/versions/1").body["id"], first);
  EXPECT_EQ(Get("/subjects/cdc.SHOP.ORDERS-key/versions/-1").body["id"], key);
  EXPECT_EQ(Get("/subjects/cdc%2ESHOP.ORDERS-key/versions/1").body["id"], key);  // encoded

  // Errors as the registry gives them.
  reply = Get("/schemas/ids/99");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body["error_code"], 40403);
  EXPECT_EQ(Get("/schemas/ids/x").body["error_code"], 40403);
  EXPECT_EQ(Get("/subjects/nope/versions").body["error_code"], 40401);
  EXPECT_EQ(Get("/subjects/nope/versions/1").body["error_code"], 40401);
  EXPECT_EQ(Get("/subjects/cdc.SHOP.ORDERS-value/versions/3").body["error_code"], 40402);
  reply = Get("/subjects/cdc.SHOP.ORDERS-value/versions/two");
  EXPECT_EQ(reply.status, 422);
  EXPECT_EQ(reply.body["error_code"], 42202);
  EXPECT_EQ(Send("POST", "/subjects/x/versions").status, 405);  // read only
  // Bytes that are not UTF-8, echoed in the message, never turn into a 500.
  EXPECT_EQ(Get("/subjects/%FF/versions").body["error_code"], 40401);
  EXPECT_EQ(Get("/subjects/%E2%82/versions/latest").body["error_code"], 40401);
  reply = Get("/subjects/cdc.SHOP.ORDERS-value/versions/aaaaaaaaaaaaaaaaaaa%E2%82%AC");
  EXPECT_EQ(reply.status, 422) << reply.raw;

  // The broker loses everything (the dev broker keeps topics in memory): schemas registered
  // again are found by a running API (an id it does not know is looked up in a new reader).
  std::this_thread::sleep_for(std::chrono::seconds(6));
  broker_.Restart();
  registry::TopicRegistry again({broker_.bootstrap(), {}}, "_cdc_schemas", logging.Get("w2"));
  const std::string third_schema =
      R"({"type":"record","name":"V","fields":[{"name":"c","type":"long"}]})";
  const int32_t third = again.Register("cdc.SHOP.ORDERS-value", third_schema);
  reply = Get("/schemas/ids/" + std::to_string(third));
  ASSERT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(reply.body["schema"], third_schema);
}

TEST_F(RegistryRoutesTest, WithoutItsKafkaTheRestOfTheApiStillServes) {
  StartApi(KafkaSection("127.0.0.1:1"));  // nothing listens there
  HttpReply reply = Get("/subjects");
  EXPECT_EQ(reply.status, 503) << reply.raw;
  EXPECT_EQ(reply.body["error_code"], 50002);
  // Answered at once for a while after a failed read, not after another wait for Kafka.
  const auto started = std::chrono::steady_clock::now();
  reply = Get("/schemas/ids/1");
  EXPECT_EQ(reply.status, 503) << reply.raw;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(Get("/api/v1/tables").status, 200);
  EXPECT_EQ(Get("/ready").status, 200);
}

TEST_F(RegistryRoutesTest, WithAnExternalRegistryTheRoutesSaySo) {
  StartApi("kafka:\n  schema_registry_url: http://registry.example:8081\n");
  const HttpReply reply = Get("/schemas/ids/1");
  EXPECT_EQ(reply.status, 404);
  EXPECT_NE(reply.raw.find("kafka.schema_registry_url"), std::string::npos) << reply.raw;
}

}  // namespace
}  // namespace cdc::testing

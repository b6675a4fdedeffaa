#include "consumer/settings.h"

#include <gtest/gtest.h>

namespace cdc::consumer {
namespace {

std::vector<std::string> Problems(const std::string& consumer_yaml,
                                  const std::string& postgres = "  url: postgresql://x/db\n") {
  try {
    ConsumerSettings::FromConfig(config::Config::Parse(
        "pipeline: {name: t}\npostgres:\n" + postgres + "consumer:\n" + consumer_yaml,
        config::ProjectSchema(), {}));
  } catch (const config::ConfigError& e) {
    return e.problems();
  }
  return {};
}

TEST(ConsumerSettings, DefaultsAndDerivedValues) {
  const ConsumerSettings s = ConsumerSettings::FromConfig(
      config::Config::Parse("pipeline: {name: t}\npostgres: {url: 'postgresql://x/db'}\n"
                            "consumer: {topic_pattern: '^cdc\\..*'}\n",
                            config::ProjectSchema(), {}));
  EXPECT_EQ(s.group_id, "cdc-pg");
  EXPECT_EQ(s.dlq_topic, "cdc-pg.dlq");
  EXPECT_EQ(s.target_schema, "replica");
  EXPECT_EQ(s.batch_max_events, 5000u);
  EXPECT_EQ(s.apply_lanes, 2u);
  EXPECT_EQ(s.delete_mode, DeleteMode::kHard);
  EXPECT_TRUE(s.IsInputTopic("cdc.SHOP.ORDERS"));
  EXPECT_FALSE(s.IsInputTopic("cdc-pg.dlq"));
  EXPECT_EQ(s.Subscription(), std::vector<std::string>{"^cdc\\..*"});
}

TEST(ConsumerSettings, ProblemsNameTheirKeys) {
  EXPECT_EQ(Problems("  topics: [a]\n", ""),
            std::vector<std::string>{
                "postgres.url: required by cdc-consumer (a libpq URL of the replica)"});
  EXPECT_EQ(Problems("  group_id: g\n"),
            std::vector<std::string>{
                "consumer.topics: set either consumer.topics (a list) or consumer.topic_pattern"});
  EXPECT_EQ(Problems("  topics: [cdc.A.B, g.dlq]\n  group_id: g\n"),
            std::vector<std::string>{"consumer.dlq_topic: \"g.dlq\" is also an input topic (dead "
                                     "letters would be consumed again)"});
  EXPECT_EQ(Problems("  topics: [cdc.SHOP.ORDERS, cdc.SALES.ORDERS]\n"),
            std::vector<std::string>{
                "consumer.table_map: sources SHOP.ORDERS and SALES.ORDERS would both replicate "
                "into \"orders\"; map one of them to another table in consumer.table_map"});
  EXPECT_TRUE(Problems("  topics: [cdc.SHOP.ORDERS, cdc.SALES.ORDERS]\n"
                       "  table_map: {SALES.ORDERS: sales_orders}\n")
                  .empty());
  EXPECT_EQ(Problems("  topic_pattern: '(unclosed'\n").size(), 1u);
}

TEST(ConsumerSettings, TargetNames) {
  EXPECT_EQ(TargetTableName({}, "SHOP", "ORDERS"), "orders");
  EXPECT_EQ(TargetTableName({{"SHOP.ORDERS", "shop_orders"}}, "SHOP", "ORDERS"), "shop_orders");
}

}  // namespace
}  // namespace cdc::consumer

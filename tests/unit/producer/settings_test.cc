#include "producer/settings.h"

#include <gtest/gtest.h>

namespace cdc::producer {
namespace {

config::Config Parse(const std::string& yaml) {
  return config::Config::Parse(yaml, config::ProjectSchema(), {});
}

TEST(ProducerSettings, DefaultsFollowTheContract) {
  const ProducerSettings settings = ProducerSettings::FromConfig(Parse(R"(
pipeline: {name: p}
source: {connection: "Driver=SQLite3;Database=/tmp/x.db;"}
producer:
  tables:
    - name: SHOP.ORDERS
    - name: ITEMS
      change_table: ITEMS_CHANGES
      key: [SKU]
      topic: items
)"));
  ASSERT_EQ(settings.tables.size(), 2u);
  EXPECT_EQ(settings.tables[0].source.change_table.ToString(), "SHOP.ORDERS_CT");
  EXPECT_EQ(settings.tables[0].topic, "cdc.SHOP.ORDERS");
  EXPECT_TRUE(settings.tables[0].source.key.empty());
  EXPECT_EQ(settings.tables[1].source.change_table.ToString(), "ITEMS_CHANGES");
  EXPECT_EQ(settings.tables[1].source.key, (std::vector<std::string>{"SKU"}));
  EXPECT_EQ(settings.tables[1].topic, "items");
  EXPECT_EQ(settings.stream.batch_size, 5000u);
  EXPECT_EQ(settings.stream.gap_timeout, std::chrono::milliseconds(30000));
  EXPECT_TRUE(settings.stream.snapshot_initial);
  EXPECT_EQ(settings.checkpoint_topic, "_cdc_offsets");
  EXPECT_EQ(settings.metrics_listen.port, 9101);
  EXPECT_FALSE(settings.dialect.has_value());
}

TEST(ProducerSettings, EveryProblemNamesItsKey) {
  try {
    ProducerSettings::FromConfig(Parse(R"(
pipeline: {name: p}
producer:
  tables:
    - name: a.b.c
    - name: SHOP.ORDERS
      topic: "bad topic"
    - name: SHOP.ORDERS
  metrics_listen: nowhere
)"));
    FAIL() << "expected ConfigError";
  } catch (const config::ConfigError& e) {
    const std::vector<std::string>& problems = e.problems();
    auto has = [&](const std::string& prefix) {
      for (const std::string& p : problems) {
        if (p.rfind(prefix, 0) == 0) return true;
      }
      return false;
    };
    EXPECT_TRUE(has("source.connection:"));
    EXPECT_TRUE(has("producer.tables[0].name:"));
    EXPECT_TRUE(has("producer.tables[1].topic:"));
    EXPECT_TRUE(has("producer.tables[2].name:"));
    EXPECT_TRUE(has("producer.metrics_listen:"));
  }
}

TEST(ProducerSettings, RejectsUnknownDialect) {
  EXPECT_THROW(Parse(R"(
pipeline: {name: p}
source: {connection: x, dialect: db2}
)"),
               config::ConfigError);
}

}  // namespace
}  // namespace cdc::producer

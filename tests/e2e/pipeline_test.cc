// End to end (label e2e): the quickstart topology with the workload generator making 50k changes
// (inserts, updates, primary-key changes, deletes) while the pipeline runs; once the generator
// stops and the lag drains, every source table equals its replica row for row, read through SQL,
// through the API's pagination and rebuilt from the API's change feed, with no dead letters, and
// the example subscriber prints every change. Once with Avro, once with JSON.
#include "tests/e2e/pipeline.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/harness/scale.h"

namespace cdc::testing {
namespace {

class EndToEnd : public ::testing::TestWithParam<std::string> {};

TEST_P(EndToEnd, FiftyThousandChangesReplicateRowForRow) {
  Pipeline pipeline(GetParam());
  pipeline.Start();
  // The changes are made while the pipeline streams (20k changes/s, 500 per transaction).
  const int64_t changes = Scaled(50'000);
  const nlohmann::json totals = nlohmann::json::parse(pipeline.RunWorkload(
      {"run", "--count", std::to_string(changes), "--rate", "20000", "--seed", "20261201"}));
  ASSERT_EQ(totals.at("changes").get<int64_t>(), changes);
  ASSERT_GT(totals.at("deletes").get<int64_t>(), changes / 20);
  ASSERT_GT(totals.at("key_changes").get<int64_t>(), changes / 50);

  std::string why;
  ASSERT_TRUE(pipeline.WaitDrained(std::chrono::seconds(180), &why)) << why;

  size_t total_rows = 0;
  for (const DemoTable& table : DemoTables()) {
    SCOPED_TRACE(table.name);
    const std::vector<CanonicalRow> source = pipeline.SourceRows(table);
    ASSERT_GT(source.size(), 100u);
    total_rows += source.size();
    EXPECT_TRUE(SameRows(source, pipeline.ReplicaRows(table)));
    int pages = 0;
    EXPECT_TRUE(SameRows(source, pipeline.ApiRows(table, &pages)));
    EXPECT_GE(pages, static_cast<int>(source.size() / 1000));
    // The change feed (consumer.change_feed: true, as in the quickstart) replayed from the
    // start rebuilds the table: each key's last change, the remembered deletes dropping keys.
    EXPECT_TRUE(SameRows(source, pipeline.FeedRows(table)));
  }
  EXPECT_GT(total_rows, static_cast<size_t>(changes / 10));
  EXPECT_EQ(pipeline.Sql("SELECT count(*) FROM cdc.dead_letters"), "0");

  // A downstream team's subscriber (deploy/examples/subscriber.py, as a consumer group) prints
  // exactly the source's changes: every change-table row once, with its op and row image, and an
  // update's old image where the table records one (ORDERS: before_image) - none in ORDER_LINES.
  for (const DemoTable& table : {DemoTables()[2], DemoTables()[3]}) {  // ORDERS, ORDER_LINES
    SCOPED_TRACE("subscriber " + table.name);
    const std::vector<CanonicalRow> changes = pipeline.SourceChanges(table);
    ASSERT_GT(changes.size(), 100u);
    EXPECT_TRUE(
        SameRows(changes, pipeline.SubscriberChanges(table, "e2e-subscriber-" + table.name)));
  }

  for (const auto& [name, status] : pipeline.Stop()) {
    EXPECT_EQ(status, 0) << name << ":\n" << pipeline.LogTail(name);
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, EndToEnd, ::testing::Values("avro", "json"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace cdc::testing

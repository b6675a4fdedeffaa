// The README's runbook "The broker lost data, or a topic was re-created", followed as written on
// the quickstart topology. The dev broker keeps its topics in memory, so killing it loses
// everything (a lost cluster): killed while the consumer is 5 s behind and changes are being
// made, then started again. The producer must stop without a checkpoint; the consumer must stop
// the partitions whose logs were replaced; after the three steps every source table equals its
// replica (none missing, none wrong, no deleted row resurrected) and no dead letter is open.
// CI size: ~20k changes; CDC_TEST_SCALE=10 for 200k by hand.
#include <gtest/gtest.h>

#include <iostream>
#include <thread>

#include "tests/e2e/pipeline.h"
#include "tests/harness/scale.h"

namespace cdc::testing {
namespace {

class BrokerLoss : public ::testing::TestWithParam<std::string> {};

TEST_P(BrokerLoss, TheRunbookRepairsABrokerThatLostEverything) {
  const bool replay_policy = GetParam() == "on_offset_reset_replay";
  Pipeline pipeline("avro", replay_policy ? "  on_offset_reset: replay\n" : "");
  pipeline.Start();
  auto changes = [&](int64_t count, int rate, int seed) {
    pipeline.RunWorkload({"run", "--count", std::to_string(Scaled(count)), "--rate",
                          std::to_string(Scaled(rate)), "--seed", std::to_string(seed)});
  };
  changes(10'000, 10'000, 1);
  std::string why;
  ASSERT_TRUE(pipeline.WaitDrained(std::chrono::seconds(120), &why)) << why;

  // 5 s of consumer lag: the consumer is away while the producer publishes.
  ASSERT_EQ(pipeline.StopProcess("consumer"), 0);
  changes(5'000, 1'000, 2);
  // The broker dies while changes are being made, and comes back empty 3 s later.
  std::thread writer([&] { changes(4'000, 2'000, 3); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  pipeline.RestartBroker(std::chrono::seconds(3));
  writer.join();
  const std::optional<int> producer_exit = pipeline.WaitExit("producer", std::chrono::seconds(90));
  ASSERT_TRUE(producer_exit.has_value())
      << "the producer went on after the broker lost what it confirmed\n"
      << pipeline.LogTail("producer", 60);
  EXPECT_EQ(*producer_exit, 1);
  EXPECT_NE(pipeline.LogTail("producer", 400).find("the broker lost messages it had confirmed"),
            std::string::npos)
      << pipeline.LogTail("producer", 60);

  // 1. The producer starts again: no checkpoint survived, it re-publishes its change tables.
  pipeline.StartProcess("producer");
  // 2. The consumer, started again, finds its positions gone with the old logs.
  pipeline.StartProcess("consumer");
  if (replay_policy) {
    ASSERT_TRUE(pipeline.WaitDrained(std::chrono::seconds(180), &why)) << why;
  } else {
    std::pair<int, std::string> ready;
    for (int i = 0; i < 600; ++i) {
      ready = pipeline.Status("consumer", "/ready");
      if (ready.first == 503 && ready.second.find("] stopped: ") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(ready.first, 503) << ready.second;
    ASSERT_NE(ready.second.find("] stopped: "), std::string::npos) << ready.second;
    ASSERT_EQ(pipeline.StopProcess("consumer"), 0);
    // The replay runs until its remaining lag is 0, then is stopped; the consumer starts again.
    pipeline.StartProcess("replay", {"--from-beginning"});
    ASSERT_TRUE(pipeline.WaitDrained(std::chrono::seconds(180), &why))
        << why << "\nreplay:\n"
        << pipeline.LogTail("replay", 40);
    std::pair<int, std::string> replay_ready;
    for (int i = 0; i < 300 && replay_ready.first != 200; ++i) {
      replay_ready = pipeline.Status("replay", "/ready");
      if (replay_ready.first != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(replay_ready.first, 200) << replay_ready.second;
    ASSERT_EQ(pipeline.StopProcess("replay"), 0);
    pipeline.StartProcess("consumer");
  }
  const std::string resets = pipeline.LogTail("consumer", 2000);
  EXPECT_NE(resets.find("\"reason\":\"log_replaced\""), std::string::npos) << resets;
  // 3. Whatever was dead-lettered meanwhile is applied again.
  const std::string dead_before =
      pipeline.Sql("SELECT count(*) FROM cdc.dead_letters WHERE redriven_at IS NULL");
  std::string output;
  ASSERT_EQ(RunShell(BinaryPath("consumer") + " dlq redrive --all --config " +
                         pipeline.config_path() + " 2>&1",
                     &output),
            0)
      << output;
  ASSERT_TRUE(pipeline.WaitDrained(std::chrono::seconds(120), &why)) << why;
  std::pair<int, std::string> ready;
  for (int i = 0; i < 300 && ready.first != 200; ++i) {
    ready = pipeline.Status("consumer", "/ready");
    if (ready.first != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ready.first, 200) << ready.second;

  size_t rows = 0;
  for (const DemoTable& table : DemoTables()) {
    SCOPED_TRACE(table.name);
    const std::vector<CanonicalRow> source = pipeline.SourceRows(table);
    rows += source.size();
    EXPECT_TRUE(SameRows(source, pipeline.ReplicaRows(table)));
  }
  const std::string dead_after =
      pipeline.Sql("SELECT count(*) FROM cdc.dead_letters WHERE redriven_at IS NULL");
  EXPECT_EQ(dead_after, "0");
  std::cout << "broker loss (" << GetParam() << "): " << rows << " source rows compared, "
            << dead_before << " dead letters before redrive, " << dead_after << " after\n";
  for (const auto& [name, status] : pipeline.Stop()) {
    EXPECT_EQ(status, 0) << name << ":\n" << pipeline.LogTail(name);
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, BrokerLoss,
                         ::testing::Values("runbook_replay", "on_offset_reset_replay"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace cdc::testing

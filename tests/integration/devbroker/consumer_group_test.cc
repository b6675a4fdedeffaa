// A consumer group of two members splits the partitions of a topic between them (slow: the mock
// coordinator waits ~3 s for the group to form).
#include <gtest/gtest.h>

#include <set>

#include "common/kafka/consumer.h"
#include "tests/harness/dev_broker.h"
#include "tests/integration/devbroker/kafka_test_util.h"

namespace cdc::testing {
namespace {

using std::chrono::milliseconds;

class RecordingListener : public kafka::RebalanceListener {
 public:
  void OnAssign(std::vector<kafka::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) owned.insert(tp.partition);
  }
  void OnRevoke(const std::vector<kafka::TopicPartition>& partitions) override {
    for (const auto& tp : partitions) owned.erase(tp.partition);
    ++revocations;
  }
  std::set<int32_t> owned;
  int revocations = 0;
};

TEST(ConsumerGroup, TwoMembersSplitThePartitions) {
  DevBroker broker({"--topic", "split:4"});
  const std::map<std::string, std::string> overrides = {{"session.timeout.ms", "6000"},
                                                        {"heartbeat.interval.ms", "300"}};
  RecordingListener a_listener;
  RecordingListener b_listener;
  kafka::Consumer a({broker.bootstrap(), {}}, "grp", &a_listener, TestLogging().Get("a"),
                    overrides);
  kafka::Consumer b({broker.bootstrap(), {}}, "grp", &b_listener, TestLogging().Get("b"),
                    overrides);
  a.Subscribe({"split"});
  b.Subscribe({"split"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         !(a_listener.owned.size() == 2 && b_listener.owned.size() == 2)) {
    (void)a.Poll(milliseconds(100));
    (void)b.Poll(milliseconds(100));
  }
  ASSERT_EQ(a_listener.owned.size(), 2u);
  ASSERT_EQ(b_listener.owned.size(), 2u);
  std::set<int32_t> all = a_listener.owned;
  all.insert(b_listener.owned.begin(), b_listener.owned.end());
  EXPECT_EQ(all, (std::set<int32_t>{0, 1, 2, 3}));  // disjoint and complete
  EXPECT_EQ(a.Assignment().size(), 2u);

  // When one member leaves, the other takes over every partition.
  b.Close();
  const auto takeover = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < takeover && a_listener.owned.size() != 4) {
    (void)a.Poll(milliseconds(100));
  }
  EXPECT_EQ(a_listener.owned.size(), 4u);
  EXPECT_GE(b_listener.revocations, 1);
}

}  // namespace
}  // namespace cdc::testing

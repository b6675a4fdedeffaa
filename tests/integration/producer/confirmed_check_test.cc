// The publisher's check, after every broker was unreachable, that the broker still holds what it
// confirmed (producer/confirmed_check.h), against the dev broker: a restart loses its topics,
// BrokerDown/BrokerUp keeps them. Each case would pass silently if the check compared log ends
// only (the first) or counted an outage as a loss (the last).
#include <gtest/gtest.h>

#include <thread>

#include "common/config/config.h"
#include "common/metrics/registry.h"
#include "producer/publisher.h"
#include "tests/harness/dev_broker.h"

namespace cdc::testing {
namespace {

using producer::LostMessages;
using producer::Publisher;
using producer::TablePosition;

class ConfirmedCheckTest : public ::testing::Test {
 protected:
  ConfirmedCheckTest()
      : config_(config::Config::Parse(
            "pipeline: {name: test}\nkafka:\n  bootstrap_servers: " + broker_.bootstrap() + "\n",
            config::ProjectSchema(), {})),
        kafka_(kafka::KafkaSettings::FromConfig(config_)),
        metrics_(registry_),
        publisher_(kafka_, metrics_, clock_, logging_.Get("publisher")) {
    table_ = publisher_.AddTable("T", TablePosition{});
  }

  // Publishes `count` messages with distinct keys and values to partition 0 (one-partition
  // topic) and waits for their delivery reports.
  void Publish(int count, const std::string& tag) {
    std::vector<event::Message> messages;
    for (int i = 0; i < count; ++i) {
      messages.push_back(
          {tag + "-key-" + std::to_string(i), tag + "-value-" + std::to_string(i), {}});
    }
    publisher_.Publish(table_, kTopic, std::move(messages));
    Deliver();
  }

  void Deliver() {
    for (int i = 0; i < 300 && publisher_.InFlight() > 0; ++i) {
      publisher_.Serve(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(publisher_.InFlight(), 0);
  }

  // Serves until the client counted every broker unreachable.
  void SeeOutage(uint64_t before) {
    for (int i = 0; i < 100 && publisher_.BrokerOutages() == before; ++i) {
      publisher_.Serve(std::chrono::milliseconds(100));
    }
    ASSERT_GT(publisher_.BrokerOutages(), before);
  }

  std::vector<LostMessages> Check() {
    for (int attempt = 0;; ++attempt) {
      try {
        return publisher_.LostConfirmed(std::chrono::seconds(5));
      } catch (const TransientError&) {
        if (attempt == 10) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    }
  }

  static constexpr const char* kTopic = "orders";
  DevBroker broker_{{"--topic", std::string(kTopic) + ":1"}};
  Logging logging_{LogFormat::kText, LogLevel::kWarn};
  ManualClock clock_;
  config::Config config_;
  kafka::KafkaSettings kafka_;
  metrics::Registry registry_;
  producer::ProducerMetrics metrics_;
  Publisher publisher_;
  size_t table_ = 0;
};

TEST_F(ConfirmedCheckTest, ALostLogFilledAgainPastTheConfirmedOffsetIsFound) {
  Publish(5, "old");  // offsets 0..4
  const uint64_t outages = publisher_.BrokerOutages();
  broker_.Restart(std::chrono::milliseconds(500));  // with --topic orders:1 again
  SeeOutage(outages);
  Publish(20, "new");  // the new log: offsets 0..19, past the confirmed 4
  const std::vector<LostMessages> lost = Check();
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].topic, kTopic);
  EXPECT_EQ(lost[0].partition, 0);
  EXPECT_EQ(lost[0].confirmed, 4);
  EXPECT_EQ(lost[0].log_end, 20);
  EXPECT_EQ(lost[0].reason, "message_replaced");
}

TEST_F(ConfirmedCheckTest, ALostLogShorterThanTheConfirmedOffsetIsFound) {
  Publish(5, "old");
  const uint64_t outages = publisher_.BrokerOutages();
  broker_.Restart(std::chrono::milliseconds(500));  // with --topic orders:1 again
  SeeOutage(outages);
  Publish(2, "new");
  const std::vector<LostMessages> lost = Check();
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].confirmed, 4);
  EXPECT_EQ(lost[0].log_end, 2);
  EXPECT_EQ(lost[0].reason, "log_shorter");
}

TEST_F(ConfirmedCheckTest, AnOutageThatKeptTheLogIsNoLoss) {
  Publish(5, "old");
  const uint64_t outages = publisher_.BrokerOutages();
  broker_.BrokerDown(1);
  SeeOutage(outages);
  broker_.BrokerUp(1);
  Publish(20, "new");
  EXPECT_TRUE(Check().empty());
  // Checked once: a second call without another outage has nothing to check.
  EXPECT_TRUE(Check().empty());
}

}  // namespace
}  // namespace cdc::testing

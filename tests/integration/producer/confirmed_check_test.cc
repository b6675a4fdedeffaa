// The publisher's check, after every broker was unreachable, that the broker still holds what it
// confirmed (producer/confirmed_check.h), against the dev broker: a restart loses its topics,
// BrokerDown/BrokerUp keeps them. Each case would pass silently if the check compared log ends
// only (the first) or counted an outage as a loss (the last).
#include <gtest/gtest.h>

#include <thread>

#include "common/config/config.h"
#include "common/metrics/registry.h"
#include "common/registry/factory.h"
#include "producer/loss_watch.h"
#include "producer/publisher.h"
#include "tests/harness/dev_broker.h"
#include "tests/harness/event_writer.h"

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

  // The broker restarts empty (with --topic orders:1 again); the publisher sees the outage.
  void LoseEverything() {
    const uint64_t outages = publisher_.BrokerOutages();
    broker_.Restart(std::chrono::milliseconds(500));
    SeeOutage(outages);
  }

  // Polls the watch, serving delivery reports, until a check found lost messages (returned) or
  // the check after the outage passed (empty).
  std::vector<LostMessages> Watch(producer::LossWatch& watch) {
    for (int i = 0; i < 300; ++i) {
      publisher_.Serve(std::chrono::milliseconds(100));
      std::vector<LostMessages> lost = watch.Poll();
      if (!lost.empty()) return lost;
      if (watch.checkpoints_allowed()) return {};
    }
    ADD_FAILURE() << "no check finished in 30 s";
    return {};
  }

  producer::LossWatch MakeWatch(std::chrono::milliseconds interval) {
    return producer::LossWatch(publisher_, *schemas_, kafka_, interval, clock_,
                               logging_.Get("watch"));
  }

  static constexpr const char* kTopic = "orders";
  DevBroker broker_{{"--topic", std::string(kTopic) + ":1"}};
  Logging logging_{LogFormat::kText, LogLevel::kWarn};
  SystemClock clock_;
  config::Config config_;
  kafka::KafkaSettings kafka_;
  metrics::Registry registry_;
  producer::ProducerMetrics metrics_;
  Publisher publisher_;
  std::unique_ptr<registry::SchemaRegistry> schemas_ =
      registry::MakeSchemaRegistry(config_, kafka_, clock_, logging_.Get("registry"));
  size_t table_ = 0;
};

TEST_F(ConfirmedCheckTest, ALostLogFilledAgainPastTheConfirmedOffsetIsFound) {
  producer::LossWatch watch = MakeWatch(std::chrono::milliseconds(0));
  Publish(5, "old");  // offsets 0..4
  LoseEverything();
  Publish(20, "new");  // the new log: offsets 0..19, past the confirmed 4
  const std::vector<LostMessages> lost = Watch(watch);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].topic, kTopic);
  EXPECT_EQ(lost[0].partition, 0);
  EXPECT_EQ(lost[0].confirmed, 4);
  EXPECT_EQ(lost[0].log_end, 20);
  EXPECT_EQ(lost[0].reason, "message_replaced");
  EXPECT_FALSE(watch.checkpoints_allowed());
}

TEST_F(ConfirmedCheckTest, ALostLogShorterThanTheConfirmedOffsetIsFound) {
  producer::LossWatch watch = MakeWatch(std::chrono::milliseconds(0));
  Publish(5, "old");
  LoseEverything();
  Publish(2, "new");
  const std::vector<LostMessages> lost = Watch(watch);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].confirmed, 4);
  EXPECT_EQ(lost[0].log_end, 2);
  EXPECT_EQ(lost[0].reason, "log_shorter");
}

// A loss that no outage announced to this producer (here: the broker restarted before the watch
// began, and another client filled the new log; on a cluster: unclean leader election while other
// brokers stayed up, a topic re-created) is found by the periodic check.
TEST_F(ConfirmedCheckTest, ALossNoOutageAnnouncedIsFoundByThePeriodicCheck) {
  Publish(5, "old");
  LoseEverything();
  {
    EventWriter other(broker_.bootstrap(), event::Format::kJson);
    for (int i = 0; i < 20; ++i) other.WriteRaw(kTopic, "other-" + std::to_string(i), "x", {});
    other.Flush();
  }
  producer::LossWatch watch = MakeWatch(std::chrono::milliseconds(100));
  std::vector<LostMessages> lost;
  for (int i = 0; i < 300 && lost.empty(); ++i) {
    publisher_.Serve(std::chrono::milliseconds(100));
    lost = watch.Poll();
  }
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].confirmed, 4);
  EXPECT_EQ(lost[0].reason, "message_replaced");
  EXPECT_FALSE(watch.checkpoints_allowed());
}

// Checked after the outage and every 100 ms besides: nothing is reported lost, and checkpoints
// are allowed again once the outage's check passed.
TEST_F(ConfirmedCheckTest, AnOutageThatKeptTheLogIsNoLoss) {
  producer::LossWatch watch = MakeWatch(std::chrono::milliseconds(100));
  Publish(5, "old");
  const uint64_t outages = publisher_.BrokerOutages();
  broker_.BrokerDown(1);
  SeeOutage(outages);
  broker_.BrokerUp(1);
  Publish(20, "new");
  EXPECT_TRUE(Watch(watch).empty());
  EXPECT_TRUE(watch.checkpoints_allowed());
  const uint64_t checks = watch.checks();
  for (int i = 0; i < 100 && watch.checks() < checks + 3; ++i) {
    Publish(1, "more-" + std::to_string(i));
    EXPECT_TRUE(watch.Poll().empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(watch.checks(), checks + 3);
  EXPECT_TRUE(watch.checkpoints_allowed());
}

}  // namespace
}  // namespace cdc::testing

// Fault injection through the dev broker's control endpoint: broker down -> client error ->
// broker up -> recovery, and injected request errors that the idempotent producer retries.
#include <gtest/gtest.h>

#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "tests/harness/dev_broker.h"
#include "tests/integration/devbroker/kafka_test_util.h"

namespace cdc::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(BrokerFaults, BrokerDownFailsDeliveryThenRecoversWhenUp) {
  DevBroker broker({"--topic", "faults:1"});
  CollectingHandler handler;
  kafka::Producer producer({broker.bootstrap(), {}}, handler, TestLogging().Get("producer"),
                           {{"message.timeout.ms", "3000"}, {"reconnect.backoff.max.ms", "200"}});
  producer.Produce(
      {"faults", std::string_view("k"), std::string_view("before"), {}, std::nullopt, 1});
  ASSERT_TRUE(producer.Flush(seconds(20)));
  ASSERT_TRUE(handler.reports().at(0).ok());

  broker.BrokerDown(1);
  producer.Produce(
      {"faults", std::string_view("k"), std::string_view("while-down"), {}, std::nullopt, 2});
  (void)producer.Flush(seconds(20));
  const auto reports = handler.reports();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_FALSE(reports[1].ok());
  EXPECT_EQ(reports[1].error_class, RetryClass::kTransient) << reports[1].error_code;
  EXPECT_EQ(reports[1].error_code, "_MSG_TIMED_OUT");
  EXPECT_FALSE(producer.LastClientError().empty());  // e.g. _TRANSPORT / _ALL_BROKERS_DOWN

  broker.BrokerUp(1);
  producer.Produce(
      {"faults", std::string_view("k"), std::string_view("after"), {}, std::nullopt, 3});
  ASSERT_TRUE(producer.Flush(seconds(30)));
  const auto final_reports = handler.reports();
  ASSERT_EQ(final_reports.size(), 3u);
  EXPECT_TRUE(final_reports[2].ok()) << final_reports[2].error_code;

  kafka::Consumer consumer({broker.bootstrap(), {}}, "faults", nullptr, TestLogging().Get("c"),
                           {{"session.timeout.ms", "6000"}});
  consumer.Subscribe({"faults"});
  const auto consumed = ConsumeN(consumer, 2, seconds(30));
  ASSERT_EQ(consumed.size(), 2u);
  EXPECT_EQ(*consumed[0].value, "before");
  EXPECT_EQ(*consumed[1].value, "after");
}

TEST(BrokerFaults, InjectedProduceErrorsAreRetriedWithoutDuplicates) {
  DevBroker broker({"--topic", "retry:1"});
  broker.PushErrors("Produce", "NOT_ENOUGH_REPLICAS", 3);
  CollectingHandler handler;
  kafka::Producer producer({broker.bootstrap(), {}}, handler, TestLogging().Get("producer"),
                           {{"retry.backoff.ms", "50"}});
  for (int i = 0; i < 5; ++i) {
    producer.Produce({"retry",
                      std::to_string(i),
                      "v" + std::to_string(i),
                      {},
                      std::nullopt,
                      static_cast<uint64_t>(i)});
  }
  ASSERT_TRUE(producer.Flush(seconds(30)));
  for (const auto& report : handler.reports()) EXPECT_TRUE(report.ok()) << report.error_code;

  kafka::Consumer consumer({broker.bootstrap(), {}}, "retry", nullptr, TestLogging().Get("c"),
                           {{"session.timeout.ms", "6000"}});
  consumer.Subscribe({"retry"});
  const auto consumed = ConsumeN(consumer, 6, seconds(20));  // ask for one more than exists
  ASSERT_EQ(consumed.size(), 5u);                            // each exactly once, in order
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(*consumed[static_cast<size_t>(i)].value, "v" + std::to_string(i));
}

TEST(BrokerFaults, RoundTripTimeSlowsButDoesNotBreakDelivery) {
  DevBroker broker({"--topic", "slow:1"});
  broker.SetRtt(1, 300);
  CollectingHandler handler;
  kafka::Producer producer({broker.bootstrap(), {}}, handler, TestLogging().Get("producer"));
  const auto start = std::chrono::steady_clock::now();
  producer.Produce({"slow", std::string_view("k"), std::string_view("v"), {}, std::nullopt, 1});
  ASSERT_TRUE(producer.Flush(seconds(30)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(250));
  EXPECT_TRUE(handler.reports().at(0).ok());
}

}  // namespace
}  // namespace cdc::testing

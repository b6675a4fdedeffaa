// An apply lane in-process against a real PostgreSQL and dev broker (schemas topic): a batch may
// wait behind the one in flight, decoded ahead, and is applied after it; after a batch was
// abandoned no later batch of the lane is applied (cdc.offsets would skip the abandoned records);
// a replica table name over PostgreSQL's limit is dead-lettered with the fix.
#include "consumer/apply_lane.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stop_token>
#include <thread>

#include "common/event/decoder.h"
#include "consumer/migrations.h"
#include "consumer/record_decoder.h"
#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

class ApplyLaneTest : public ConsumerTest {
 protected:
  void SetUp() override {
    ConsumerTest::SetUp();
    config_.emplace(config::Config::Parse(ConsumerConfig(broker_.bootstrap(), url_),
                                          config::ProjectSchema(), {}));
    settings_ = consumer::ConsumerSettings::FromConfig(*config_);
    kafka_ = kafka::KafkaSettings::FromConfig(*config_);
    pg::Connection connection(url_, "apply-lane-test");
    consumer::ApplyMigrations(connection, logging_.Get("test"));
  }

  // Two ORDERS events, published (their values as a consumer reads them), as two batches of one
  // record each at offsets 0 and 1 of partition 0.
  std::pair<consumer::Batch, consumer::Batch> TwoBatches(const event::ChangeEvent& first,
                                                         const event::ChangeEvent& second) {
    EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
    writer.Write(OrdersTable(), first);
    writer.Write(OrdersTable(), second);
    writer.Flush();
    std::vector<consumer::Batch> batches;
    for (ReadMessage& message : ReadAll(broker_.bootstrap(), kTopic)) {
      consumer::Record record;
      record.position = {kTopic, 0, static_cast<int64_t>(batches.size()), 0};
      record.value = std::move(message.value);
      record.headers = std::move(message.headers);
      batches.emplace_back().records.push_back(std::move(record));
    }
    EXPECT_EQ(batches.size(), 2U);
    batches.resize(2);
    return {std::move(batches[0]), std::move(batches[1])};
  }

  // A lane as cdc-consumer makes it (after the events are published: the registry reads them).
  consumer::ApplyLane& StartLane() {
    schemas_ = registry::MakeSchemaRegistry(*config_, kafka_, clock_, logging_.Get("registry"));
    decoder_.emplace(*schemas_, event::Format::kAvro);
    dead_letters_.emplace(kafka_, settings_.dlq_topic, settings_.group_id, logging_.Get("dlq"));
    lane_ = std::make_unique<consumer::ApplyLane>(0, settings_, *decoder_, *dead_letters_, metrics_,
                                                  clock_, logging_.Get("lane"), signal_,
                                                  stop_.get_token());
    return *lane_;
  }

  static constexpr const char* kTopic = "cdc.SHOP.ORDERS";
  Logging logging_{LogFormat::kText, LogLevel::kWarn};
  std::optional<config::Config> config_;
  consumer::ConsumerSettings settings_;
  kafka::KafkaSettings kafka_;
  SystemClock clock_;
  metrics::Registry registry_;
  consumer::ConsumerMetrics metrics_{registry_};
  consumer::LaneSignal signal_;
  std::stop_source stop_;
  std::unique_ptr<registry::SchemaRegistry> schemas_;
  std::optional<event::EventDecoder> decoder_;
  std::optional<consumer::DeadLetterPublisher> dead_letters_;
  std::unique_ptr<consumer::ApplyLane> lane_;  // last: stopped first
};

TEST_F(ApplyLaneTest, ABatchWaitingBehindTheOneInFlightIsAppliedAfterItAsDecodedAhead) {
  auto [first, second] = TwoBatches(OrderEvent(Op::kCreate, 1, 1, "first", 1),
                                    OrderEvent(Op::kUpdate, 1, 2, "second", 2));
  // The first batch is held in its transaction (cdc.offsets locked) while the second is handed.
  pg::Connection blocker(url_, "apply-lane-test-blocker");
  blocker.Exec("BEGIN");
  blocker.Exec("LOCK TABLE cdc.offsets IN EXCLUSIVE MODE");
  consumer::ApplyLane& lane = StartLane();
  lane.Submit(std::move(first));
  EXPECT_TRUE(lane.Accepting());
  consumer::RecordDecoder ahead(*decoder_, settings_.table_map);
  ahead.DecodeAll(second);
  ASSERT_TRUE(second.decoded);
  ASSERT_EQ(second.events.size(), 1U);
  // Its value no longer decodes: applied all the same, the lane used the events decoded ahead.
  second.records[0].value = std::string("\x01garbage");
  lane.Submit(std::move(second));
  EXPECT_FALSE(lane.Accepting());  // one in flight, one waiting
  EXPECT_FALSE(lane.Idle());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(AppliedThrough(kTopic), -1);  // still held
  blocker.Exec("COMMIT");
  ASSERT_TRUE(WaitUntil([&] { return lane.Idle(); }, std::chrono::seconds(30)));
  const std::vector<consumer::LaneDone> done = lane.TakeDone();
  ASSERT_EQ(done.size(), 2U);
  EXPECT_EQ(done[0].positions.at({kTopic, 0}).next_offset, 1);
  EXPECT_EQ(done[1].positions.at({kTopic, 0}).next_offset, 2);
  EXPECT_EQ(Sql("SELECT id || ':' || note || ':' || _cdc_seq FROM replica.orders"), "1:second:2");
  EXPECT_EQ(AppliedThrough(kTopic), 2);
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
}

// A replica table name PostgreSQL cannot hold (over 63 bytes: it would cut it) dead-letters the
// events naming the setting that fixes it, instead of failing in PostgreSQL.
TEST_F(ApplyLaneTest, ATargetNameOverTheLimitIsDeadLetteredNamingTheSetting) {
  auto [first, second] = TwoBatches(OrderEvent(Op::kCreate, 1, 1, "first", 1),
                                    OrderEvent(Op::kUpdate, 1, 2, "second", 2));
  StartLane();
  consumer::RecordDecoder decoder(*decoder_, {{"SHOP.ORDERS", std::string(64, 'o')}});
  decoder.DecodeAll(first);
  ASSERT_EQ(first.dead_letters.size(), 1U);
  EXPECT_EQ(first.dead_letters[0].error_code, "NAME");
  EXPECT_NE(first.dead_letters[0].message.find("is 64 bytes, over PostgreSQL's limit of 63: map "
                                               "it to a shorter name in consumer.table_map"),
            std::string::npos)
      << first.dead_letters[0].message;
  consumer::RecordDecoder fitting(*decoder_, {{"SHOP.ORDERS", std::string(63, 'o')}});
  fitting.DecodeAll(second);
  EXPECT_TRUE(second.dead_letters.empty());
}

TEST_F(ApplyLaneTest, NoBatchIsAppliedAfterAnAbandonedOne) {
  auto [first, later] = TwoBatches(OrderEvent(Op::kCreate, 1, 1, "first", 1),
                                   OrderEvent(Op::kCreate, 2, 2, "second", 2));
  consumer::ApplyLane& lane = StartLane();
  // PostgreSQL is down: the first batch fails transiently and is retried until the stop.
  cluster_.Stop();
  lane.Submit(std::move(first));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(lane.Idle());
  stop_.request_stop();
  ASSERT_TRUE(WaitUntil([&] { return lane.Idle(); }, std::chrono::seconds(30)));
  EXPECT_TRUE(lane.TakeDone().empty());
  // PostgreSQL is back, and the next batch of the same partition is handed over: applying it
  // would store next_offset 2 and lose offset 0 for good.
  cluster_.Start();
  lane.Submit(std::move(later));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_TRUE(lane.Idle());
  EXPECT_TRUE(lane.TakeDone().empty());
  EXPECT_EQ(AppliedThrough(kTopic), -1);
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'replica'"), "0");
}

}  // namespace
}  // namespace cdc::testing

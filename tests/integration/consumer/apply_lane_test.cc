// An apply lane in-process against a real PostgreSQL and dev broker (schemas topic): a batch may
// wait behind the one in flight, decoded ahead, and is applied after it; after a batch was
// abandoned no later batch of the lane is applied (cdc.offsets would skip the abandoned records).
#include <gtest/gtest.h>

#include <optional>
#include <stop_token>
#include <thread>

#include "common/event/decoder.h"
#include "consumer/apply_lane.h"
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

  // ORDERS events 1..n as records at offsets 0..n-1 of partition 0 (their values as published).
  std::vector<consumer::Record> Records(const std::vector<event::ChangeEvent>& events) {
    EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
    for (const event::ChangeEvent& e : events) writer.Write(OrdersTable(), e);
    writer.Flush();
    std::vector<consumer::Record> records;
    for (ReadMessage& message : ReadAll(broker_.bootstrap(), kTopic)) {
      consumer::Record record;
      record.position = {kTopic, 0, static_cast<int64_t>(records.size()), 0};
      record.value = std::move(message.value);
      record.headers = std::move(message.headers);
      records.push_back(std::move(record));
    }
    return records;
  }

  static consumer::Batch BatchOf(std::vector<consumer::Record> records) {
    consumer::Batch batch;
    batch.records = std::move(records);
    return batch;
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
};

TEST_F(ApplyLaneTest, ABatchWaitingBehindTheOneInFlightIsAppliedAfterItAsDecodedAhead) {
  std::vector<consumer::Record> records = Records(
      {OrderEvent(Op::kCreate, 1, 1, "first", 1), OrderEvent(Op::kUpdate, 1, 2, "second", 2)});
  ASSERT_EQ(records.size(), 2U);
  const auto schemas = registry::MakeSchemaRegistry(*config_, kafka_, clock_, logging_.Get("reg"));
  event::EventDecoder decoder(*schemas, event::Format::kAvro);
  consumer::DeadLetterPublisher dead_letters(kafka_, settings_.dlq_topic, settings_.group_id,
                                             logging_.Get("dlq"));
  // The first batch is held in its transaction (cdc.offsets locked) while the second is handed.
  pg::Connection blocker(url_, "apply-lane-test-blocker");
  blocker.Exec("BEGIN");
  blocker.Exec("LOCK TABLE cdc.offsets IN EXCLUSIVE MODE");
  consumer::ApplyLane lane(0, settings_, decoder, dead_letters, metrics_, clock_,
                           logging_.Get("lane"), signal_, stop_.get_token());
  std::vector<consumer::Record> second_records;
  second_records.push_back(std::move(records[1]));
  records.pop_back();
  lane.Submit(BatchOf(std::move(records)));
  EXPECT_TRUE(lane.Accepting());
  consumer::Batch second = BatchOf(std::move(second_records));
  second.records[0].position.offset = 1;
  consumer::RecordDecoder ahead(decoder, settings_.table_map);
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
  EXPECT_EQ(done[0].next_offsets.at({kTopic, 0}), 1);
  EXPECT_EQ(done[1].next_offsets.at({kTopic, 0}), 2);
  EXPECT_EQ(Sql("SELECT id || ':' || note || ':' || _cdc_seq FROM replica.orders"), "1:second:2");
  EXPECT_EQ(AppliedThrough(kTopic), 2);
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
}

TEST_F(ApplyLaneTest, NoBatchIsAppliedAfterAnAbandonedOne) {
  std::vector<consumer::Record> records = Records(
      {OrderEvent(Op::kCreate, 1, 1, "first", 1), OrderEvent(Op::kCreate, 2, 2, "second", 2)});
  ASSERT_EQ(records.size(), 2U);
  const auto schemas = registry::MakeSchemaRegistry(*config_, kafka_, clock_, logging_.Get("reg"));
  event::EventDecoder decoder(*schemas, event::Format::kAvro);
  consumer::DeadLetterPublisher dead_letters(kafka_, settings_.dlq_topic, settings_.group_id,
                                             logging_.Get("dlq"));
  consumer::ApplyLane lane(0, settings_, decoder, dead_letters, metrics_, clock_,
                           logging_.Get("lane"), signal_, stop_.get_token());
  std::vector<consumer::Record> later;
  later.push_back(std::move(records[1]));
  records.pop_back();
  // PostgreSQL is down: the first batch fails transiently and is retried until the stop.
  cluster_.Stop();
  lane.Submit(BatchOf(std::move(records)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_FALSE(lane.Idle());
  stop_.request_stop();
  ASSERT_TRUE(WaitUntil([&] { return lane.Idle(); }, std::chrono::seconds(30)));
  EXPECT_TRUE(lane.TakeDone().empty());
  // PostgreSQL is back, and the next batch of the same partition is handed over: applying it
  // would store next_offset 2 and lose offset 0 for good.
  cluster_.Start();
  lane.Submit(BatchOf(std::move(later)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_TRUE(lane.Idle());
  EXPECT_TRUE(lane.TakeDone().empty());
  EXPECT_EQ(AppliedThrough(kTopic), -1);
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'replica'"), "0");
}

}  // namespace
}  // namespace cdc::testing

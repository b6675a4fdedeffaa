// An event whose schema id the registry does not know is usually late, not poison (the producer
// registers it again after the broker lost the schemas topic): the consumer retries it for
// consumer.unknown_schema_wait_ms before dead-lettering it as schema_unknown, and such dead
// letters are redriven in bulk once the schema is back.
#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/integration/consumer/consumer_fixture.h"

namespace cdc::testing {
namespace {

using event::Op;

TEST_F(ConsumerTest, AnUnknownSchemaIsWaitedForThenDeadLetteredAndRedrivenOnceRegistered) {
  const event::TableMeta orders = OrdersTable();
  const event::TableMeta colored = OrdersTable(/*with_color=*/true);
  const std::string topic = EventWriter::Topic(orders);
  broker_.CreateTopic(topic, 1);
  // Registered elsewhere: the consumer's registry (the default schemas topic) lacks them.
  EventWriter elsewhere(broker_.bootstrap(), event::Format::kAvro, 5, "_other_schemas");
  EventWriter writer(broker_.bootstrap(), event::Format::kAvro);
  const std::string config = ConfigPath("  unknown_schema_wait_ms: 4000\n");
  ConsumerProcess consumer({"run", "--config", config}, LogPath());
  ASSERT_TRUE(
      WaitUntil([&] { return LogTail(200).find("partition assigned") != std::string::npos; },
                std::chrono::seconds(60)));
  // An event of the colored shape (ORDERS with a COLOR column).
  auto colored_event = [](int64_t id, const std::string& note) {
    event::ChangeEvent e = OrderEvent(Op::kCreate, id, id, note, 1);
    e.after->push_back(std::string("red"));
    return e;
  };

  // Late: registered 2 s after the event arrived, within the wait: applied, no dead letter.
  elsewhere.Write(orders, OrderEvent(Op::kCreate, 1, 1, "late schema", 1));
  elsewhere.Flush();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  writer.Write(orders, OrderEvent(Op::kCreate, 2, 2, "registers it", 1));
  writer.Flush();
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 2; }, std::chrono::seconds(60)))
      << LogTail(40);
  EXPECT_EQ(Sql("SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM replica.orders"),
            "1:late schema,2:registers it");
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters"), "0");
  ASSERT_TRUE(WaitUntil([&] { return StatusPort(LogPath()) > 0; }, std::chrono::seconds(30)));
  httplib::Client status("127.0.0.1", StatusPort(LogPath()));
  const auto metrics = status.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->body.find("cdc_consumer_unknown_schema_waits_total 0"), std::string::npos)
      << metrics->body;

  // Never registered within the wait: dead-lettered as schema_unknown after it, not before.
  const auto sent = std::chrono::steady_clock::now();
  elsewhere.Write(colored, colored_event(3, "no schema"));
  elsewhere.Flush();
  ASSERT_TRUE(WaitUntil([&] { return Sql("SELECT count(*) FROM cdc.dead_letters") == "1"; },
                        std::chrono::seconds(60)))
      << LogTail(40);
  EXPECT_GE(std::chrono::steady_clock::now() - sent, std::chrono::milliseconds(3500));
  EXPECT_EQ(Sql("SELECT error_class FROM cdc.dead_letters"), "schema_unknown");
  ASSERT_TRUE(WaitUntil([&] { return AppliedThrough(topic) >= 3; }, std::chrono::seconds(30)));
  EXPECT_EQ(consumer.Stop(), 0) << LogTail(80);

  // Once the schema is back, `dlq redrive --all` applies it and leaves no open dead letter.
  writer.Write(colored, colored_event(4, "registers the colored shape"));
  writer.Flush();
  ConsumerProcess redrive({"dlq", "redrive", "--config", config, "--all"},
                          dir_.path() + "/redrive.log");
  const std::string out = redrive.Output();
  EXPECT_EQ(redrive.Wait(std::chrono::seconds(60)), 0) << out;
  EXPECT_NE(out.find("redrive: 1 applied, 0 failed again"), std::string::npos) << out;
  EXPECT_EQ(Sql("SELECT count(*) FROM cdc.dead_letters WHERE redriven_at IS NULL"), "0");
  EXPECT_EQ(Sql("SELECT note FROM replica.orders WHERE id = 3"), "no schema");
}

}  // namespace
}  // namespace cdc::testing

// The schemas-topic registry against the dev broker.
#include "common/registry/topic_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/avro/canonical.h"
#include "common/avro/schema.h"
#include "common/error.h"
#include "tests/harness/dev_broker.h"
#include "tests/unit/common/avro/test_tables.h"

namespace cdc::registry {
namespace {

Logging& QuietLogging() {
  static Logging logging(LogFormat::kText, LogLevel::kError);
  return logging;
}

TEST(TopicRegistry, IdsAreDeterministicAndSharedThroughTheTopic) {
  cdc::testing::DevBroker broker({"--topic", "_cdc_schemas:1"});
  const kafka::KafkaSettings settings{broker.bootstrap(), {}};
  const event::TableMeta table = cdc::testing::AllTypesTable();
  const std::string value = avro::ValueSchema("cdc", table);
  const std::string key = avro::KeySchema("cdc", table);
  TopicRegistry producer_a(settings, "_cdc_schemas", QuietLogging().Get("a"));
  const int32_t value_id = producer_a.Register("cdc.SHOP.ORDERS-value", value);
  const int32_t key_id = producer_a.Register("cdc.SHOP.ORDERS-key", key);
  EXPECT_EQ(value_id, avro::SchemaIdFor(value));
  EXPECT_EQ(producer_a.Register("cdc.SHOP.ORDERS-value", value), value_id);  // idempotent

  // A second producer (e.g. after a restart) derives the same ids without coordination.
  TopicRegistry producer_b(settings, "_cdc_schemas", QuietLogging().Get("b"));
  EXPECT_EQ(producer_b.Register("cdc.SHOP.ORDERS-value", value), value_id);

  // A reader loads the topic and finds both schemas by id.
  TopicRegistry reader(settings, "_cdc_schemas", QuietLogging().Get("reader"));
  EXPECT_EQ(reader.Lookup(value_id), value);
  EXPECT_EQ(reader.Lookup(key_id), key);

  // An id registered after the reader loaded is found by reloading.
  const std::string evolved = avro::ValueSchema("cdc", [&] {
    event::TableMeta t = table;
    t.columns.push_back(event::MapOdbcColumn("EXTRA", 12, 10, 0, true));
    return t;
  }());
  const int32_t evolved_id = producer_b.Register("cdc.SHOP.ORDERS-value", evolved);
  EXPECT_NE(evolved_id, value_id);
  EXPECT_EQ(reader.Lookup(evolved_id), evolved);
  EXPECT_THROW(reader.Lookup(12345), PermanentError);

  // Schemas whose Parsing Canonical Form is the same but that read differently (a decimal's
  // precision and scale) are two schemas: a numeric(5,2) widened to numeric(10,4) got the old
  // id, and its values arrived 100 times too large.
  const std::string narrow = R"({"type":"bytes","logicalType":"decimal","precision":5,"scale":2})";
  const std::string wide = R"({"type":"bytes","logicalType":"decimal","precision":10,"scale":4})";
  ASSERT_EQ(avro::ParsingCanonicalForm(narrow), avro::ParsingCanonicalForm(wide));
  const int32_t narrow_id = producer_b.Register("dec-value", narrow);
  const int32_t wide_id = producer_b.Register("dec-value", wide);
  EXPECT_NE(narrow_id, wide_id);
  EXPECT_EQ(reader.Lookup(narrow_id), narrow);
  EXPECT_EQ(reader.Lookup(wide_id), wide);
}

TEST(TopicRegistry, SubjectsAndVersionsAreTheSameForEveryReader) {
  cdc::testing::DevBroker broker({"--topic", "_cdc_schemas:1"});
  const kafka::KafkaSettings settings{broker.bootstrap(), {}};
  const std::string first = R"({"type":"record","name":"V","fields":[{"name":"a","type":"int"}]})";
  const std::string second = R"({"type":"record","name":"V","fields":[{"name":"a","type":"int"},)"
                             R"({"name":"b","type":["null","string"],"default":null}]})";
  TopicRegistry writer(settings, "_cdc_schemas", QuietLogging().Get("w"));
  const int32_t first_id = writer.Register("t-value", first);
  writer.Register("t-key", R"("long")");
  TopicRegistry reader(settings, "_cdc_schemas", QuietLogging().Get("r"), std::chrono::seconds(10),
                       TopicRegistry::Mode::kReader);
  EXPECT_THAT(reader.Subjects(), ::testing::ElementsAre("t-key", "t-value"));
  EXPECT_THAT(reader.Versions("t-value"), ::testing::ElementsAre(1));
  const int32_t second_id = writer.Register("t-value", second);
  writer.Register("t-value", first);                                      // again: no new version
  EXPECT_THAT(reader.Versions("t-value"), ::testing::ElementsAre(1, 2));  // loads what is new
  const auto latest = reader.Find("t-value", std::nullopt);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->id, second_id);
  EXPECT_EQ(latest->schema, second);
  EXPECT_EQ(reader.Find("t-value", 1)->id, first_id);
  EXPECT_FALSE(reader.Find("t-value", 3));
  EXPECT_FALSE(reader.Find("t-value", 0));
  EXPECT_FALSE(reader.Find("nope", std::nullopt));
  EXPECT_TRUE(reader.Versions("nope").empty());
  // Another reader, started later, numbers the versions the same way.
  TopicRegistry late(settings, "_cdc_schemas", QuietLogging().Get("l"), std::chrono::seconds(10),
                     TopicRegistry::Mode::kReader);
  EXPECT_EQ(late.Find("t-value", 2)->id, second_id);
  EXPECT_EQ(late.Register("t-value", first), first_id);               // known: a lookup
  EXPECT_THROW(late.Register("u-value", R"("string")"), FatalError);  // new: a reader cannot
}

TEST(TopicRegistry, RecordsAreReadableJsonKeyedById) {
  cdc::testing::DevBroker broker;  // the topic does not exist yet: the first publish creates it
  TopicRegistry registry({broker.bootstrap(), {}}, "_schemas", QuietLogging().Get("r"));
  const int32_t id = registry.Register("orders-value", R"("string")");
  std::string out;
  ASSERT_EQ(cdc::testing::RunShell("kcat -b " + broker.bootstrap() +
                                       " -C -t _schemas -o beginning -e -q -f '%k|%s\\n'",
                                   &out),
            0);
  EXPECT_EQ(out, std::to_string(id) + "|" +
                     TopicRegistry::Record("orders-value", 1, id, R"("string")") + "\n");
}

TEST(TopicRegistry, ADifferentSchemaUnderAnExistingIdIsFatal) {
  cdc::testing::DevBroker broker({"--topic", "_cdc_schemas:1"});
  const kafka::KafkaSettings settings{broker.bootstrap(), {}};
  // Simulate a fingerprint collision: another writer put a different schema under the id that
  // "long" derives.
  const int32_t id = avro::SchemaIdFor(R"("long")");
  {
    class Ignore : public kafka::DeliveryHandler {
      void OnDelivery(const kafka::DeliveryReport&) override {}
    } ignore;
    kafka::Producer writer(settings, ignore, QuietLogging().Get("w"));
    const std::string record = TopicRegistry::Record("other-value", 1, id, R"("int")");
    writer.Produce({"_cdc_schemas", std::to_string(id), record, {}, std::nullopt, 0});
    ASSERT_TRUE(writer.Flush(std::chrono::seconds(10)));
  }
  TopicRegistry registry(settings, "_cdc_schemas", QuietLogging().Get("r"));
  try {
    registry.Register("mine-value", R"("long")");
    FAIL();
  } catch (const FatalError& e) {
    EXPECT_EQ(e.code(), "SCHEMA_ID_CONFLICT");
    EXPECT_THAT(e.what(), ::testing::HasSubstr("\"int\""));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("\"long\""));
  }
}

}  // namespace
}  // namespace cdc::registry

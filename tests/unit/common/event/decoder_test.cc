#include "common/event/decoder.h"

#include <gtest/gtest.h>

#include <map>

#include "common/avro/canonical.h"
#include "common/avro/codec.h"
#include "common/avro/schema.h"
#include "common/error.h"
#include "tests/unit/common/avro/test_tables.h"

namespace cdc::event {
namespace {

// In-memory registry for decoder unit tests (the real ones have integration tests).
class MemoryRegistry final : public registry::SchemaRegistry {
 public:
  int32_t Register(const std::string&, const std::string& schema) override {
    const int32_t id = avro::SchemaIdFor(schema);
    schemas_[id] = schema;
    return id;
  }
  std::string Lookup(int32_t id) override {
    ++lookups;
    const auto found = schemas_.find(id);
    if (found == schemas_.end())
      throw PermanentError("SCHEMA_ID", "unknown id " + std::to_string(id));
    return found->second;
  }
  int lookups = 0;

 private:
  std::map<int32_t, std::string> schemas_;
};

TEST(EventDecoder, DecodesAvroAndJsonThroughTheRegistry) {
  MemoryRegistry registry;
  const TableMeta table = cdc::testing::AllTypesTable();
  const SchemaIds ids{registry.Register("t-key", avro::KeySchema("cdc", table)),
                      registry.Register("t-value", avro::ValueSchema("cdc", table))};
  const ChangeEvent event = cdc::testing::UpdateEvent(table, 5);
  for (Format format : {Format::kAvro, Format::kJson}) {
    EventDecoder decoder(registry, format);
    const Message message = BuildMessages(table, event, ids, {format, true, "p"})[0];
    const DecodedEvent decoded = decoder.Decode(*message.value, message.headers);
    EXPECT_EQ(decoded.event, event);
    EXPECT_EQ(decoded.schema_id, ids.value);
    EXPECT_EQ(decoded.table->columns.size(), table.columns.size());
    (void)decoder.Decode(*message.value, message.headers);
  }
  EXPECT_EQ(registry.lookups, 2);  // one per decoder: tables are cached per id
}

TEST(EventDecoder, UnknownIdsAndMissingHeadersArePermanent) {
  MemoryRegistry registry;
  EventDecoder avro_decoder(registry, Format::kAvro);
  std::string framed;
  avro::AppendWireHeader(777, framed);
  EXPECT_THROW(avro_decoder.Decode(framed + "x", {}), PermanentError);
  EXPECT_THROW(avro_decoder.Decode("\x01garbage", {}), PermanentError);
  EventDecoder json_decoder(registry, Format::kJson);
  EXPECT_THROW(json_decoder.Decode("{}", {}), PermanentError);
  EXPECT_THROW(json_decoder.Decode("{}", {{"cdc.schema_id", std::string("abc")}}), PermanentError);
  EXPECT_THROW(json_decoder.Decode("{}", {{"cdc.schema_id", std::string("777")}}), PermanentError);
}

}  // namespace
}  // namespace cdc::event

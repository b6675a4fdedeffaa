#include "tests/fuzz/decoder_targets.h"

#include <string_view>

#include "common/avro/canonical.h"
#include "common/avro/codec.h"
#include "common/avro/schema.h"
#include "common/error.h"
#include "common/json/codec.h"
#include "tests/unit/common/avro/test_tables.h"

namespace cdc::fuzz {
namespace {

const event::TableMeta& Table() {
  static const event::TableMeta kTable = cdc::testing::AllTypesTable();
  return kTable;
}

template <typename Fn>
void ExpectOnlyPermanentErrors(Fn&& fn) {
  try {
    fn();
  } catch (const PermanentError&) {
    // Malformed input, reported as such: the expected outcome for most mutants.
  }
}

}  // namespace

void FuzzAvroMessage(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ExpectOnlyPermanentErrors([&] {
    const avro::WirePayload payload = avro::ParseWireHeader(input);
    const event::ChangeEvent event = avro::DecodeEnvelope(Table(), payload.body);
    // Whatever decodes must encode again to the same bytes (the format has one encoding).
    if (avro::EncodeEnvelope(Table(), event) != payload.body) {
      // Non-minimal varints decode fine but re-encode shorter; only the decoded value matters.
      (void)avro::DecodeEnvelope(Table(), avro::EncodeEnvelope(Table(), event));
    }
  });
  ExpectOnlyPermanentErrors([&] { (void)avro::DecodeKey(Table(), input); });
}

void FuzzJsonMessage(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ExpectOnlyPermanentErrors([&] {
    const event::ChangeEvent event = json::DecodeEnvelope(Table(), input);
    (void)json::DecodeEnvelope(Table(), json::EncodeEnvelope(Table(), event));
  });
  ExpectOnlyPermanentErrors([&] { (void)json::DecodeKey(Table(), input); });
}

void FuzzSchemaText(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ExpectOnlyPermanentErrors([&] { (void)avro::ParsingCanonicalForm(input); });
  ExpectOnlyPermanentErrors([&] { (void)avro::TableFromValueSchema(input); });
}

std::vector<std::string> AvroSeeds() {
  std::vector<std::string> seeds;
  const event::TableMeta& table = Table();
  event::ChangeEvent update = cdc::testing::UpdateEvent(table, 7);
  event::ChangeEvent insert = update;
  insert.op = event::Op::kCreate;
  insert.before.reset();
  event::ChangeEvent nulls = insert;
  for (size_t i = 1; i < nulls.after->size(); ++i) (*nulls.after)[i] = std::monostate{};
  for (const event::ChangeEvent& e : {update, insert, nulls}) {
    std::string framed;
    avro::AppendWireHeader(12345, framed);
    avro::AppendEnvelope(table, e, framed);
    seeds.push_back(framed);
  }
  seeds.push_back(avro::EncodeKey(table, {int64_t{7}}));
  return seeds;
}

std::vector<std::string> JsonSeeds() {
  const event::TableMeta& table = Table();
  event::ChangeEvent update = cdc::testing::UpdateEvent(table, 7);
  event::ChangeEvent deleted = update;
  deleted.op = event::Op::kDelete;
  deleted.after.reset();
  return {json::EncodeEnvelope(table, update), json::EncodeEnvelope(table, deleted),
          json::EncodeKey(table, {int64_t{7}})};
}

std::vector<std::string> SchemaSeeds() {
  return {
      avro::ValueSchema("cdc", Table()), avro::KeySchema("cdc", Table()),
      R"({"type":"record","name":"r","fields":[{"name":"a","type":{"type":"array","items":"int"}}]})"};
}

}  // namespace cdc::fuzz

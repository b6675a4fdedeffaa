#include "common/event/decoder.h"

#include <charconv>

#include "common/avro/codec.h"
#include "common/avro/schema.h"
#include "common/error.h"
#include "common/json/codec.h"

namespace cdc::event {

EventDecoder::EventDecoder(registry::SchemaRegistry& registry, Format format)
    : registry_(registry), format_(format) {}

std::shared_ptr<const TableMeta> EventDecoder::Table(int32_t schema_id) {
  {
    std::lock_guard lock(mutex_);
    const auto found = tables_.find(schema_id);
    if (found != tables_.end()) return found->second;
  }
  // Registry calls may take a while (retries): not under the lock.
  auto table =
      std::make_shared<const TableMeta>(avro::TableFromValueSchema(registry_.Lookup(schema_id)));
  std::lock_guard lock(mutex_);
  return tables_.emplace(schema_id, std::move(table)).first->second;
}

DecodedEvent EventDecoder::Decode(std::string_view value,
                                  const std::vector<kafka::Header>& headers) {
  DecodedEvent decoded;
  if (format_ == Format::kAvro) {
    const avro::WirePayload payload = avro::ParseWireHeader(value);
    decoded.schema_id = payload.schema_id;
    decoded.table = Table(payload.schema_id);
    decoded.event = avro::DecodeEnvelope(*decoded.table, payload.body);
    return decoded;
  }
  const std::string* id_text = nullptr;
  for (const kafka::Header& header : headers) {
    if (header.key == "cdc.schema_id" && header.value) id_text = &*header.value;
  }
  if (id_text == nullptr) {
    throw PermanentError("JSON", "JSON change event without a cdc.schema_id header");
  }
  int32_t id = 0;
  const auto [ptr, ec] = std::from_chars(id_text->data(), id_text->data() + id_text->size(), id);
  if (ec != std::errc() || ptr != id_text->data() + id_text->size() || id <= 0) {
    throw PermanentError(
        "JSON", "cdc.schema_id header \"" + id_text->substr(0, 20) + "\" is not a schema id");
  }
  decoded.schema_id = id;
  decoded.table = Table(id);
  decoded.event = json::DecodeEnvelope(*decoded.table, value);
  return decoded;
}

}  // namespace cdc::event

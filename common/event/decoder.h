// Decoding side of the contract for consumers: a Kafka message value (plus headers) to the table
// metadata of its writer schema and the change event. Avro values name their schema id in the
// Confluent header; JSON values in the cdc.schema_id header. Parsed tables are cached per id.
// Every malformed input, unknown id or schema mismatch is a PermanentError; a registry that
// cannot be reached is a TransientError.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "common/event/change_event.h"
#include "common/event/messages.h"
#include "common/event/types.h"
#include "common/kafka/message.h"
#include "common/registry/schema_registry.h"

namespace cdc::event {

struct DecodedEvent {
  std::shared_ptr<const TableMeta> table;  // the writer's table metadata
  int32_t schema_id = 0;
  ChangeEvent event;
};

class EventDecoder {
 public:
  // `registry` must outlive the decoder. Thread-safe.
  EventDecoder(registry::SchemaRegistry& registry, Format format);

  // Decodes a non-null value. Tombstones (null values) are the caller's to recognise. Only JSON
  // reads the headers (the schema id); Avro carries it in the value.
  DecodedEvent Decode(std::string_view value, const std::vector<kafka::Header>& headers);
  bool NeedsHeaders() const { return format_ == Format::kJson; }
  // The table metadata for a value schema id (cached).
  std::shared_ptr<const TableMeta> Table(int32_t schema_id);

 private:
  registry::SchemaRegistry& registry_;
  const Format format_;
  std::mutex mutex_;
  std::map<int32_t, std::shared_ptr<const TableMeta>> tables_;
};

}  // namespace cdc::event

// Kafka messages for change events: key, value and headers in either format, and the tombstone
// that follows a delete so compacted topics forget the key.
//
// Headers on every message: cdc.op, cdc.table (schema.table), cdc.seq, cdc.source_ts (ISO-8601,
// UTC), cdc.producer (instance id) and, when a value schema id is known, cdc.schema_id (Avro; JSON
// messages carry it too so that readers can find the column types).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/event/change_event.h"
#include "common/event/types.h"
#include "common/kafka/message.h"

namespace cdc::event {

enum class Format { kAvro, kJson };

// Parses the config's kafka.format value ("avro" | "json").
Format ParseFormat(std::string_view text);

struct MessageOptions {
  Format format = Format::kAvro;
  bool tombstones = true;   // kafka.tombstones
  std::string producer_id;  // this producer instance
};

struct SchemaIds {
  int32_t key = 0;    // Avro key schema id (0 = none, JSON only)
  int32_t value = 0;  // Avro value schema id
};

struct Message {
  std::string key;
  std::optional<std::string> value;  // nullopt = tombstone
  std::vector<kafka::Header> headers;
};

// The message for `event`, followed by a tombstone when the event is a delete and
// options.tombstones is set. Avro keys and values are framed in the Confluent wire format with
// `ids` (which must then be non-zero). Throws PermanentError when a value does not fit its column.
std::vector<Message> BuildMessages(const TableMeta& table, const ChangeEvent& event,
                                   const SchemaIds& ids, const MessageOptions& options);

}  // namespace cdc::event

#include "common/event/messages.h"

#include "common/avro/codec.h"
#include "common/error.h"
#include "common/event/temporal.h"
#include "common/json/codec.h"

namespace cdc::event {

Format ParseFormat(std::string_view text) { return text == "json" ? Format::kJson : Format::kAvro; }

std::vector<Message> BuildMessages(const TableMeta& table, const ChangeEvent& event,
                                   const SchemaIds& ids, const MessageOptions& options) {
  Message message;
  if (options.format == Format::kAvro) {
    if (ids.key <= 0 || ids.value <= 0) {
      throw std::logic_error("Avro messages need registered key and value schema ids");
    }
    avro::AppendWireHeader(ids.key, message.key);
    message.key += avro::EncodeKey(table, event.key);
    std::string value;
    value.reserve(64 + table.columns.size() * 24);
    avro::AppendWireHeader(ids.value, value);
    avro::AppendEnvelope(table, event, value);
    message.value = std::move(value);
  } else {
    message.key = json::EncodeKey(table, event.key);
    message.value = json::EncodeEnvelope(table, event);
  }
  const char op = static_cast<char>(event.op);
  message.headers.reserve(6);
  message.headers.push_back({"cdc.op", std::string(1, op)});
  message.headers.push_back({"cdc.table", event.source.schema + "." + event.source.table});
  message.headers.push_back({"cdc.seq", std::to_string(event.source.seq)});
  message.headers.push_back({"cdc.source_ts", FormatTimestampTz(event.source.change_ts_micros)});
  message.headers.push_back({"cdc.producer", options.producer_id});
  if (ids.value > 0) message.headers.push_back({"cdc.schema_id", std::to_string(ids.value)});

  std::vector<Message> out;
  const bool tombstone = event.op == Op::kDelete && options.tombstones;
  if (tombstone) {
    Message tomb{message.key, std::nullopt, message.headers};
    out.push_back(std::move(message));
    out.push_back(std::move(tomb));
  } else {
    out.push_back(std::move(message));
  }
  return out;
}

}  // namespace cdc::event

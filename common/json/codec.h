// The JSON format of change events (kafka.format: json): the same envelope as Avro, as one JSON
// object per message. Row objects are keyed by the source column names; values per the type table
// (decimals as strings, bytes as base64, dates/timestamps as ISO-8601, non-finite floats as the
// strings "NaN", "Infinity", "-Infinity"). The key is a JSON object of the key columns.
// Decoding validates the shape strictly: anything else is a PermanentError (code "JSON") saying
// what is wrong.
#pragma once

#include <string>
#include <string_view>

#include "common/event/change_event.h"
#include "common/event/types.h"

namespace cdc::json {

// Appends `text` (valid UTF-8) as a JSON string: quotes, backslashes and control characters
// escaped, everything else as is (the escaping nlohmann::json's dump uses).
void AppendString(std::string_view text, std::string& out);

std::string EncodeKey(const event::TableMeta& table, const event::Row& key);
event::Row DecodeKey(const event::TableMeta& table, std::string_view text);

void AppendEnvelope(const event::TableMeta& table, const event::ChangeEvent& event,
                    std::string& out);
std::string EncodeEnvelope(const event::TableMeta& table, const event::ChangeEvent& event);
event::ChangeEvent DecodeEnvelope(const event::TableMeta& table, std::string_view text);

// RFC 4648 base64 (with padding), used for bytes columns.
std::string Base64Encode(std::string_view bytes);
// Throws PermanentError("JSON") on invalid characters or padding.
std::string Base64Decode(std::string_view text);

}  // namespace cdc::json

// Avro binary encoding of change events (Avro 1.11 spec) and the Confluent wire format.
// The encoder and decoder work from the table's metadata (TableMeta) rather than a generic Avro
// library: the shapes are fixed by schema.h, which keeps them exact and fast. Decoding is
// bounds-checked throughout: malformed input is a PermanentError (code "AVRO") saying what and
// where, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/event/change_event.h"
#include "common/event/types.h"

namespace cdc::avro {

// Confluent wire format: magic byte 0x00, 4-byte big-endian schema id, Avro binary body.
inline constexpr size_t kWireHeaderSize = 5;
void AppendWireHeader(int32_t schema_id, std::string& out);
struct WirePayload {
  int32_t schema_id = 0;
  std::string_view body;
};
WirePayload ParseWireHeader(std::string_view message);

// Key record: the key columns in key order (`key` values aligned with table.key).
std::string EncodeKey(const event::TableMeta& table, const event::Row& key);
event::Row DecodeKey(const event::TableMeta& table, std::string_view body);

// Envelope record (ValueSchema). Rows are aligned with table.columns. A delete's `before` may
// hold only key columns: the other columns must then be null (and nullable).
std::string EncodeEnvelope(const event::TableMeta& table, const event::ChangeEvent& event);
// Decodes a body written with `table` (the writer schema). `key` of the result is filled from
// the row image (after, else before).
event::ChangeEvent DecodeEnvelope(const event::TableMeta& table, std::string_view body);

// Schema evolution: maps a row decoded with `writer` onto `reader` by source column name.
// Columns the writer lacks become null when nullable in the reader; otherwise, or when a column's
// type changed, PermanentError("SCHEMA_EVOLUTION").
event::Row ProjectRow(const event::TableMeta& writer, const event::Row& row,
                      const event::TableMeta& reader);

// Appends the event's encoding to `out` (the allocation-free path used by the producer).
void AppendEnvelope(const event::TableMeta& table, const event::ChangeEvent& event,
                    std::string& out);

}  // namespace cdc::avro

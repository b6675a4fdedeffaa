// Event values in PostgreSQL's text input format (for COPY and bound parameters), and the
// canonical text of a row's key (dedupe within a batch; the key of a remembered delete). Pure.
#pragma once

#include <string>

#include "common/event/change_event.h"
#include "common/event/types.h"

namespace cdc::consumer {

// Appends `value` of `column` to a COPY text line, escaped (\N for NULL). Throws
// PermanentError("22021") for text PostgreSQL cannot store (a NUL character).
void AppendCopyValue(std::string& line, const event::ColumnMeta& column, const event::Value& value);

// PostgreSQL's hex input text of bytea, e.g. "\\x01ff" (unescaped).
std::string ByteaHex(std::string_view bytes);

// The PostgreSQL input text of a non-null value (unescaped).
std::string PgText(const event::ColumnMeta& column, const event::Value& value);

// The canonical key text: a JSON array of the key values' PostgreSQL text, e.g. ["1001","EU"]
// (null for a NULL part). Equal keys give equal text.
std::string KeyText(const event::TableMeta& table, const event::Row& key);

}  // namespace cdc::consumer

// Event values in PostgreSQL's binary COPY format, for staging tables whose column types are the
// ones the contract maps to (checked per column by BinaryCopyFits). A value without an exact
// binary form here (a decimal text numeric_in would read differently, a float32 column's value
// that is not a float, an integer out of range) makes the caller stage the whole group as text,
// where PostgreSQL itself judges it: the two formats store the same values or fail the same
// records. Pure.
#pragma once

#include <string>
#include <string_view>

#include "common/event/change_event.h"
#include "common/event/types.h"

namespace cdc::consumer {

// True when a value of `type` can be sent in binary to a column of `pg_type` (format_type's
// spelling, typmod included: "numeric(12,2)", "character varying(40)").
bool BinaryCopyFits(event::ColumnType type, std::string_view pg_type);

// The 19-byte header and the 2-byte trailer of binary COPY data.
void AppendBinaryCopyHeader(std::string& out);
void AppendBinaryCopyTrailer(std::string& out);

// One row: the field count, then each field (length and bytes; NULL is length -1).
void AppendBinaryFieldCount(std::string& out, int16_t fields);
void AppendBinaryNull(std::string& out);
void AppendBinaryInt64(std::string& out, int64_t value);                  // bigint
void AppendBinaryBytes(std::string& out, std::string_view bytes);         // text, bytea, char(n)
void AppendBinaryTimestamp(std::string& out, int64_t micros_since_1970);  // timestamp[tz]

// Appends `value` of `column` as one field; false (and `out` unchanged) when it has no exact
// binary form here. Throws PermanentError("22021") for text PostgreSQL cannot store (a NUL
// character), as the text format does.
bool AppendBinaryValue(std::string& out, const event::ColumnMeta& column,
                       const event::Value& value);

// numeric's binary form of a decimal text ("-12.50", "1e-3", ".5"); false for text this parser
// does not read exactly as numeric_in does (NaN, Infinity, spaces, > 1000 digits).
bool AppendBinaryNumeric(std::string& out, std::string_view text);

}  // namespace cdc::consumer

// Column values between PostgreSQL's text format and the API: what kind of value a column holds
// (from its catalog type), whether a filter value parses for it, how a parameter is cast, and how
// a result field becomes JSON (exact decimals as strings, bytes as base64, timestamps as
// ISO-8601). Pure.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace cdc::api {

enum class ValueKind {
  kInteger,  // smallint, integer, bigint
  kDecimal,  // numeric
  kFloat,    // real, double precision
  kBoolean,
  kText,   // text, character varying, character
  kBytes,  // bytea
  kDate,
  kTimestamp,    // timestamp without time zone
  kTimestampTz,  // timestamp with time zone
  kUuid,
  kOther,  // anything else: compared and returned as text
};

// The kind of a column from its format_type() text, e.g. "numeric(12,2)" -> kDecimal.
ValueKind KindOfType(std::string_view pg_type);

// The text to bind for a filter, key or cursor value of `kind`, or nullopt when `text` does not
// parse as one (booleans are normalised to true/false, bytes given in base64 become \x hex, a
// timestamptz without a zone is UTC).
std::optional<std::string> ParseValue(ValueKind kind, std::string_view text);

// "$n::type" for a bound parameter compared with a column of `kind` ("$n" for kOther, whose column
// is compared as text).
std::string CastParam(ValueKind kind, int n);
// The column expression to compare with CastParam: `quoted` itself, or `quoted::text` for kOther.
std::string CompareColumn(ValueKind kind, const std::string& quoted);

// A result field (PostgreSQL text output with DateStyle ISO and TimeZone UTC) as JSON.
nlohmann::json ToJson(ValueKind kind, std::string_view text);
// Appends the same value as JSON text, without building a json value (pages of rows); strings
// that are not valid UTF-8 get U+FFFD like nlohmann::json's replacing dump.
void AppendJson(std::string& out, ValueKind kind, std::string_view text);

}  // namespace cdc::api

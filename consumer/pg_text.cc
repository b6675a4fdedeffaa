#include "consumer/pg_text.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/event/temporal.h"
#include "common/json/codec.h"
#include "common/pg/connection.h"
#include "common/utf8.h"

namespace cdc::consumer {
namespace {

void AppendInt(std::string& out, int64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

void AppendDouble(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
  } else if (std::isinf(value)) {
    out.append(value > 0 ? "Infinity" : "-Infinity");
  } else {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);  // shortest exact
    out.append(buffer, result.ptr);
  }
}

void AppendHex(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out.reserve(out.size() + 2 + bytes.size() * 2);
  out.append("\\x");
  for (const unsigned char byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xF]);
  }
}

// Appends the unescaped text of a non-null value.
void AppendText(std::string& out, const event::ColumnMeta& column, const event::Value& value) {
  using event::ColumnType;
  switch (column.type) {
    case ColumnType::kInt32:
    case ColumnType::kInt64:
      AppendInt(out, std::get<int64_t>(value));
      return;
    case ColumnType::kDate:
      out.append(event::FormatDate(static_cast<int32_t>(std::get<int64_t>(value)),
                                   event::TemporalStyle::kPostgres));
      return;
    case ColumnType::kTimestamp:
      out.append(event::FormatTimestamp(std::get<int64_t>(value), event::TemporalStyle::kPostgres));
      return;
    case ColumnType::kTimestampTz:
      out.append(
          event::FormatTimestampTz(std::get<int64_t>(value), event::TemporalStyle::kPostgres));
      return;
    case ColumnType::kFloat32:
    case ColumnType::kFloat64:
      AppendDouble(out, std::get<double>(value));
      return;
    case ColumnType::kBoolean:
      out.push_back(std::get<bool>(value) ? 't' : 'f');
      return;
    case ColumnType::kBytes:
      AppendHex(out, std::get<std::string>(value));
      return;
    case ColumnType::kDecimal:
    case ColumnType::kDecimalText:
    case ColumnType::kString:
    case ColumnType::kUuid:
    case ColumnType::kOther: {
      const std::string& text = std::get<std::string>(value);
      if (text.find('\0') != std::string::npos) {
        throw PermanentError(
            "22021", "column " + column.name + ": PostgreSQL text cannot contain a NUL character");
      }
      out.append(text);
      return;
    }
  }
}

}  // namespace

std::string ByteaHex(std::string_view bytes) {
  std::string out;
  AppendHex(out, bytes);
  return out;
}

std::string PgText(const event::ColumnMeta& column, const event::Value& value) {
  std::string out;
  AppendText(out, column, value);
  return out;
}

void AppendCopyValue(std::string& line, const event::ColumnMeta& column,
                     const event::Value& value) {
  if (event::IsNull(value)) {
    pg::AppendCopyNull(line);
    return;
  }
  switch (column.type) {
    case event::ColumnType::kInt32:
    case event::ColumnType::kInt64:
    case event::ColumnType::kFloat32:
    case event::ColumnType::kFloat64:
    case event::ColumnType::kBoolean:
    case event::ColumnType::kDate:
    case event::ColumnType::kTimestamp:
    case event::ColumnType::kTimestampTz:
      AppendText(line, column, value);  // never contains a character COPY escapes
      return;
    case event::ColumnType::kBytes:
      line.push_back('\\');  // "\x…" escaped for COPY is "\\x…"
      AppendText(line, column, value);
      return;
    default: {
      std::string text;
      AppendText(text, column, value);
      pg::AppendCopyField(line, text);
    }
  }
}

namespace {

std::string KeyTextReplacingInvalidUtf8(const event::TableMeta& table, const event::Row& key) {
  nlohmann::json parts = nlohmann::json::array();
  for (size_t i = 0; i < key.size() && i < table.key.size(); ++i) {
    if (event::IsNull(key[i])) {
      parts.push_back(nullptr);
    } else {
      parts.push_back(PgText(table.columns[table.key[i]], key[i]));
    }
  }
  return parts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string KeyText(const event::TableMeta& table, const event::Row& key) {
  // A JSON array of the key values' PostgreSQL text (stored in cdc.tombstones, so the spelling is
  // fixed: compact, UTF-8 as is). Invalid UTF-8 (only possible from a hand-made event) takes the
  // library's replacement path.
  std::string out = "[";
  for (size_t i = 0; i < key.size() && i < table.key.size(); ++i) {
    if (i > 0) out.push_back(',');
    if (event::IsNull(key[i])) {
      out += "null";
      continue;
    }
    const std::string text = PgText(table.columns[table.key[i]], key[i]);
    if (!IsValidUtf8(text)) return KeyTextReplacingInvalidUtf8(table, key);
    json::AppendString(text, out);
  }
  out.push_back(']');
  return out;
}

}  // namespace cdc::consumer

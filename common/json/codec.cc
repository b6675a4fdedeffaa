#include "common/json/codec.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/event/decimal.h"
#include "common/event/temporal.h"
#include "common/utf8.h"

namespace cdc::json {
namespace {

using event::ColumnMeta;
using event::ColumnType;
using event::Row;
using event::TableMeta;
using event::Value;
using Json = nlohmann::json;

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

[[noreturn]] void Fail(const std::string& why) {
  throw PermanentError("JSON", "malformed JSON event: " + why);
}

[[noreturn]] void BadValue(const ColumnMeta& column, const std::string& why) {
  throw PermanentError("VALUE", "column " + column.name + " (" +
                                    std::string(event::ColumnTypeName(column.type)) + "): " + why);
}

void AppendInt(int64_t value, std::string& out) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

void AppendDouble(double value, bool as_float, std::string& out) {
  if (std::isnan(value)) return out.append("\"NaN\""), void();
  if (std::isinf(value)) return out.append(value > 0 ? "\"Infinity\"" : "\"-Infinity\""), void();
  // "-0" would read back as the integer 0: the sign of zero needs a fraction to survive.
  if (value == 0 && std::signbit(value)) return out.append("-0.0"), void();
  char buffer[32];
  // Shortest text that reads back to the same float/double.
  const auto result =
      as_float ? std::to_chars(buffer, buffer + sizeof(buffer), static_cast<float>(value))
               : std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

void AppendValue(const ColumnMeta& column, const Value& value, std::string& out) {
  if (event::IsNull(value)) {
    if (!column.nullable) BadValue(column, "null in a NOT NULL column");
    out += "null";
    return;
  }
  const auto* number = std::get_if<int64_t>(&value);
  const auto* text = std::get_if<std::string>(&value);
  switch (column.type) {
    case ColumnType::kInt32:
    case ColumnType::kInt64:
      if (number == nullptr) BadValue(column, "expected an integer");
      AppendInt(*number, out);
      return;
    case ColumnType::kDate:
      if (number == nullptr || *number < INT32_MIN || *number > INT32_MAX)
        BadValue(column, "expected days");
      AppendString(event::FormatDate(static_cast<int32_t>(*number)), out);
      return;
    case ColumnType::kTimestamp:
      if (number == nullptr) BadValue(column, "expected microseconds");
      AppendString(event::FormatTimestamp(*number), out);
      return;
    case ColumnType::kTimestampTz:
      if (number == nullptr) BadValue(column, "expected microseconds");
      AppendString(event::FormatTimestampTz(*number), out);
      return;
    case ColumnType::kFloat32:
    case ColumnType::kFloat64: {
      const auto* real = std::get_if<double>(&value);
      if (real == nullptr) BadValue(column, "expected a floating-point number");
      AppendDouble(*real, column.type == ColumnType::kFloat32, out);
      return;
    }
    case ColumnType::kBoolean: {
      const auto* flag = std::get_if<bool>(&value);
      if (flag == nullptr) BadValue(column, "expected a boolean");
      out += *flag ? "true" : "false";
      return;
    }
    case ColumnType::kDecimal:
      if (text == nullptr) BadValue(column, "expected decimal text");
      AppendString(event::NormalizeDecimal(*text, column.precision, column.scale), out);
      return;
    case ColumnType::kDecimalText:
      if (text == nullptr || !event::IsDecimalText(*text, true))
        BadValue(column, "expected decimal text");
      AppendString(*text, out);
      return;
    case ColumnType::kBytes:
      if (text == nullptr) BadValue(column, "expected bytes");
      AppendString(Base64Encode(*text), out);
      return;
    case ColumnType::kString:
    case ColumnType::kUuid:
    case ColumnType::kOther:
      if (text == nullptr) BadValue(column, "expected text");
      if (!IsValidUtf8(*text)) BadValue(column, "invalid UTF-8");
      AppendString(*text, out);
      return;
  }
}

void AppendRowObject(const TableMeta& table, const std::vector<size_t>& columns, const Row& values,
                     std::string& out) {
  out += '{';
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += ',';
    const ColumnMeta& column = table.columns[columns[i]];
    AppendString(column.name, out);
    out += ':';
    AppendValue(column, values[i], out);
  }
  out += '}';
}

std::vector<size_t> AllColumns(const TableMeta& table) {
  std::vector<size_t> all(table.columns.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return all;
}

void AppendOptionalRow(const TableMeta& table, const std::optional<Row>& row, std::string& out) {
  if (!row) return out.append("null"), void();
  event::CheckArity(table, *row, table.columns.size(), "row");
  AppendRowObject(table, AllColumns(table), *row, out);
}

// ---- decoding -------------------------------------------------------------------------------

const Json& Member(const Json& object, const char* name, const std::string& where) {
  const auto found = object.find(name);
  if (found == object.end()) Fail(where + ": missing \"" + name + "\"");
  return *found;
}

std::string TextOf(const Json& node, const std::string& where) {
  if (!node.is_string()) Fail(where + ": expected a string, got " + std::string(node.type_name()));
  return node.get<std::string>();
}

int64_t IntegerOf(const Json& node, const std::string& where) {
  if (!node.is_number_integer())
    Fail(where + ": expected an integer, got " + std::string(node.type_name()));
  if (node.is_number_unsigned() && node.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    Fail(where + ": integer out of range");
  }
  return node.get<int64_t>();
}

Value ValueOf(const ColumnMeta& column, const Json& node, const std::string& where) {
  if (node.is_null()) {
    if (!column.nullable) Fail(where + ": null in a NOT NULL column");
    return std::monostate{};
  }
  try {
    switch (column.type) {
      case ColumnType::kInt32: {
        const int64_t value = IntegerOf(node, where);
        if (value < INT32_MIN || value > INT32_MAX) Fail(where + ": out of 32-bit range");
        return value;
      }
      case ColumnType::kInt64:
        return IntegerOf(node, where);
      case ColumnType::kDate:
        return static_cast<int64_t>(event::ParseDate(TextOf(node, where)));
      case ColumnType::kTimestamp:
        return event::ParseTimestamp(TextOf(node, where));
      case ColumnType::kTimestampTz:
        return event::ParseTimestampTz(TextOf(node, where));
      case ColumnType::kFloat32:
      case ColumnType::kFloat64:
        if (node.is_number()) return node.get<double>();
        if (node == "NaN") return std::numeric_limits<double>::quiet_NaN();
        if (node == "Infinity") return std::numeric_limits<double>::infinity();
        if (node == "-Infinity") return -std::numeric_limits<double>::infinity();
        Fail(where + ": expected a number");
      case ColumnType::kBoolean:
        if (!node.is_boolean()) Fail(where + ": expected true or false");
        return node.get<bool>();
      case ColumnType::kDecimal:
        return event::NormalizeDecimal(TextOf(node, where), column.precision, column.scale);
      case ColumnType::kDecimalText: {
        std::string text = TextOf(node, where);
        if (!event::IsDecimalText(text, true)) Fail(where + ": not a decimal number");
        return text;
      }
      case ColumnType::kBytes:
        return Base64Decode(TextOf(node, where));
      case ColumnType::kString:
      case ColumnType::kUuid:
      case ColumnType::kOther:
        return TextOf(node, where);
    }
  } catch (const PermanentError& e) {
    if (e.code() == "JSON") throw;
    Fail(where + ": " + e.what());
  }
  Fail(where + ": unknown column type");
}

Row RowOf(const TableMeta& table, const std::vector<size_t>& columns, const Json& node,
          const std::string& where) {
  if (!node.is_object()) Fail(where + ": expected an object, got " + std::string(node.type_name()));
  if (node.size() != columns.size()) {
    Fail(where + ": has " + std::to_string(node.size()) + " members for " +
         std::to_string(columns.size()) + " columns");
  }
  Row row;
  row.reserve(columns.size());
  for (size_t index : columns) {
    const ColumnMeta& column = table.columns[index];
    const auto found = node.find(column.name);
    if (found == node.end()) Fail(where + ": missing column \"" + column.name + "\"");
    row.push_back(ValueOf(column, *found, where + "." + column.name));
  }
  return row;
}

Json Parse(std::string_view text) {
  // Strict parse: no comments; invalid UTF-8 is a parse error in nlohmann::json.
  Json root = Json::parse(text, nullptr, false);
  if (root.is_discarded()) Fail("not valid JSON (or not valid UTF-8)");
  return root;
}

}  // namespace

void AppendString(std::string_view text, std::string& out) {
  out += '"';
  size_t run = 0;  // start of the pending run of characters that need no escaping
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        out.append(escape, sizeof(escape));
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64[n >> 18];
    out += kBase64[(n >> 12) & 63];
    out += kBase64[(n >> 6) & 63];
    out += kBase64[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kBase64[n >> 18];
    out += kBase64[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0)
    Fail("base64 length " + std::to_string(text.size()) + " is not a multiple of 4");
  auto sextet = [&](char c) -> uint32_t {
    if (c >= 'A' && c <= 'Z') return static_cast<uint32_t>(c - 'A');
    if (c >= 'a' && c <= 'z') return static_cast<uint32_t>(c - 'a' + 26);
    if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0' + 52);
    if (c == '+') return 62;
    if (c == '/') return 63;
    Fail("invalid base64 character");
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const size_t padding = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    if (padding == 1 && text[i + 2] == '=') Fail("invalid base64 padding");
    uint32_t n = (sextet(text[i]) << 18) | (sextet(text[i + 1]) << 12);
    if (padding < 2) n |= sextet(text[i + 2]) << 6;
    if (padding < 1) n |= sextet(text[i + 3]);
    out += static_cast<char>(n >> 16);
    if (padding < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::string EncodeKey(const TableMeta& table, const Row& key) {
  event::CheckArity(table, key, table.key.size(), "key");
  std::string out;
  AppendRowObject(table, table.key, key, out);
  return out;
}

Row DecodeKey(const TableMeta& table, std::string_view text) {
  return RowOf(table, table.key, Parse(text), "key");
}

void AppendEnvelope(const TableMeta& table, const event::ChangeEvent& event, std::string& out) {
  out += "{\"before\":";
  AppendOptionalRow(table, event.before, out);
  out += ",\"after\":";
  AppendOptionalRow(table, event.after, out);
  const event::SourceInfo& source = event.source;
  out += ",\"source\":{\"name\":";
  AppendString(source.name, out);
  out += ",\"db\":";
  AppendString(source.db, out);
  out += ",\"schema\":";
  AppendString(source.schema, out);
  out += ",\"table\":";
  AppendString(source.table, out);
  out += ",\"seq\":";
  AppendInt(source.seq, out);
  out += ",\"change_ts\":";
  AppendString(event::FormatTimestampTz(source.change_ts_micros), out);
  out += ",\"txid\":";
  if (source.txid) {
    AppendString(*source.txid, out);
  } else {
    out += "null";
  }
  out += source.snapshot ? ",\"snapshot\":true}" : ",\"snapshot\":false}";
  out += ",\"op\":\"";
  out += static_cast<char>(event.op);
  out += "\",\"ts_ms\":";
  AppendInt(event.ts_ms, out);
  out += '}';
}

std::string EncodeEnvelope(const TableMeta& table, const event::ChangeEvent& event) {
  std::string out;
  out.reserve(160 + table.columns.size() * 32);
  AppendEnvelope(table, event, out);
  return out;
}

event::ChangeEvent DecodeEnvelope(const TableMeta& table, std::string_view text) {
  const Json root = Parse(text);
  if (!root.is_object()) Fail("expected an object, got " + std::string(root.type_name()));
  event::ChangeEvent event;
  const std::vector<size_t> all = AllColumns(table);
  const Json& before = Member(root, "before", "envelope");
  if (!before.is_null()) event.before = RowOf(table, all, before, "before");
  const Json& after = Member(root, "after", "envelope");
  if (!after.is_null()) event.after = RowOf(table, all, after, "after");
  const Json& source = Member(root, "source", "envelope");
  if (!source.is_object()) Fail("source: expected an object");
  event.source.name = TextOf(Member(source, "name", "source"), "source.name");
  event.source.db = TextOf(Member(source, "db", "source"), "source.db");
  event.source.schema = TextOf(Member(source, "schema", "source"), "source.schema");
  event.source.table = TextOf(Member(source, "table", "source"), "source.table");
  event.source.seq = IntegerOf(Member(source, "seq", "source"), "source.seq");
  try {
    event.source.change_ts_micros =
        event::ParseTimestampTz(TextOf(Member(source, "change_ts", "source"), "source.change_ts"));
  } catch (const PermanentError& e) {
    if (e.code() == "JSON") throw;
    Fail(std::string("source.change_ts: ") + e.what());
  }
  const Json& txid = Member(source, "txid", "source");
  if (!txid.is_null()) event.source.txid = TextOf(txid, "source.txid");
  const Json& snapshot = Member(source, "snapshot", "source");
  if (!snapshot.is_boolean()) Fail("source.snapshot: expected true or false");
  event.source.snapshot = snapshot.get<bool>();
  const std::string op = TextOf(Member(root, "op", "envelope"), "op");
  if (op != "c" && op != "u" && op != "d" && op != "r") Fail("op \"" + op.substr(0, 8) + "\"");
  event.op = static_cast<event::Op>(op[0]);
  event.ts_ms = IntegerOf(Member(root, "ts_ms", "envelope"), "ts_ms");
  event.key = event::KeyFromImage(table, event);
  return event;
}

}  // namespace cdc::json

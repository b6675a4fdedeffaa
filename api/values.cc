#include "api/values.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "api/response.h"
#include "common/json/codec.h"
#include "common/utf8.h"

namespace cdc::api {
namespace {

bool Digits(std::string_view text, size_t begin, size_t count) {
  if (begin + count > text.size()) return false;
  for (size_t i = begin; i < begin + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

int Number(std::string_view text, size_t begin, size_t count) {
  int value = 0;
  for (size_t i = begin; i < begin + count; ++i) value = value * 10 + (text[i] - '0');
  return value;
}

// YYYY-MM-DD with a plausible month and day.
bool IsDate(std::string_view text) {
  if (text.size() != 10 || !Digits(text, 0, 4) || text[4] != '-' || !Digits(text, 5, 2) ||
      text[7] != '-' || !Digits(text, 8, 2)) {
    return false;
  }
  const int month = Number(text, 5, 2);
  const int day = Number(text, 8, 2);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// HH:MM[:SS[.ffffff]] starting at `at`; returns where it ends, or npos.
size_t TimeEnd(std::string_view text, size_t at) {
  if (!Digits(text, at, 2) || at + 2 >= text.size() || text[at + 2] != ':' ||
      !Digits(text, at + 3, 2)) {
    return std::string_view::npos;
  }
  if (Number(text, at, 2) > 23 || Number(text, at + 3, 2) > 59) return std::string_view::npos;
  size_t end = at + 5;
  if (end < text.size() && text[end] == ':') {
    if (!Digits(text, end + 1, 2) || Number(text, end + 1, 2) > 60) return std::string_view::npos;
    end += 3;
    if (end < text.size() && text[end] == '.') {
      size_t digits = 0;
      while (end + 1 + digits < text.size() &&
             std::isdigit(static_cast<unsigned char>(text[end + 1 + digits]))) {
        ++digits;
      }
      if (digits == 0 || digits > 6) return std::string_view::npos;
      end += 1 + digits;
    }
  }
  return end;
}

// "YYYY-MM-DD[T ]HH:MM[:SS[.f]]" and what follows it (the zone), or nullopt.
std::optional<std::string_view> TimestampZone(std::string_view text) {
  if (text.size() < 16 || !IsDate(text.substr(0, 10)) || (text[10] != 'T' && text[10] != ' ')) {
    return std::nullopt;
  }
  const size_t end = TimeEnd(text, 11);
  if (end == std::string_view::npos) return std::nullopt;
  return text.substr(end);
}

bool IsZone(std::string_view zone) {
  if (zone == "Z") return true;
  if (zone.size() == 3) return (zone[0] == '+' || zone[0] == '-') && Digits(zone, 1, 2);
  if (zone.size() == 6) {
    return (zone[0] == '+' || zone[0] == '-') && Digits(zone, 1, 2) && zone[3] == ':' &&
           Digits(zone, 4, 2);
  }
  return false;
}

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

bool IsDecimal(std::string_view text) {
  size_t i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, ++digits;
  }
  return digits > 0 && i == text.size() && digits <= 1000;
}

std::string HexFromBytes(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  for (const unsigned char byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 0xF]);
  }
  return out;
}

}  // namespace

ValueKind KindOfType(std::string_view type) {
  const std::string_view base = type.substr(0, type.find('('));
  if (base == "smallint" || base == "integer" || base == "bigint") return ValueKind::kInteger;
  if (base == "numeric") return ValueKind::kDecimal;
  if (base == "real" || base == "double precision") return ValueKind::kFloat;
  if (base == "boolean") return ValueKind::kBoolean;
  if (base == "text" || base == "character varying" || base == "character") {
    return ValueKind::kText;
  }
  if (base == "bytea") return ValueKind::kBytes;
  if (base == "date") return ValueKind::kDate;
  if (type.rfind("timestamp", 0) == 0) {
    return type.find("with time zone") != std::string_view::npos &&
                   type.find("without") == std::string_view::npos
               ? ValueKind::kTimestampTz
               : ValueKind::kTimestamp;
  }
  if (base == "uuid") return ValueKind::kUuid;
  return ValueKind::kOther;
}

std::optional<std::string> ParseValue(ValueKind kind, std::string_view text) {
  switch (kind) {
    case ValueKind::kInteger: {
      int64_t value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
      return std::to_string(value);
    }
    case ValueKind::kDecimal:
      if (!IsDecimal(text)) return std::nullopt;
      return std::string(text);
    case ValueKind::kFloat: {
      if (text == "NaN" || text == "Infinity" || text == "-Infinity") return std::string(text);
      const std::string copy(text);
      char* end = nullptr;
      const double value = std::strtod(copy.c_str(), &end);
      if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(value)) {
        return std::nullopt;
      }
      return copy;
    }
    case ValueKind::kBoolean:
      if (text == "true" || text == "t" || text == "1") return std::string("true");
      if (text == "false" || text == "f" || text == "0") return std::string("false");
      return std::nullopt;
    case ValueKind::kBytes:
      try {
        return HexFromBytes(json::Base64Decode(text));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    case ValueKind::kDate:
      if (!IsDate(text)) return std::nullopt;
      return std::string(text);
    case ValueKind::kTimestamp: {
      const auto zone = TimestampZone(text);
      if (!zone || !zone->empty()) return std::nullopt;
      return std::string(text);
    }
    case ValueKind::kTimestampTz: {
      const auto zone = TimestampZone(text);
      if (!zone) return std::nullopt;
      if (zone->empty()) return std::string(text) + "+00";
      if (!IsZone(*zone)) return std::nullopt;
      return std::string(text);
    }
    case ValueKind::kUuid:
      if (!IsUuid(text)) return std::nullopt;
      return std::string(text);
    case ValueKind::kText:
    case ValueKind::kOther:
      if (!IsValidUtf8(text) || text.find('\0') != std::string_view::npos) return std::nullopt;
      return std::string(text);
  }
  return std::nullopt;
}

std::string CastParam(ValueKind kind, int n) {
  const std::string param = "$" + std::to_string(n);
  switch (kind) {
    case ValueKind::kInteger:
      return param + "::bigint";
    case ValueKind::kDecimal:
      return param + "::numeric";
    case ValueKind::kFloat:
      return param + "::double precision";
    case ValueKind::kBoolean:
      return param + "::boolean";
    case ValueKind::kText:
      return param + "::text";
    case ValueKind::kBytes:
      return param + "::bytea";
    case ValueKind::kDate:
      return param + "::date";
    case ValueKind::kTimestamp:
      return param + "::timestamp";
    case ValueKind::kTimestampTz:
      return param + "::timestamptz";
    case ValueKind::kUuid:
      return param + "::uuid";
    case ValueKind::kOther:
      return param + "::text";
  }
  return param;
}

std::string CompareColumn(ValueKind kind, const std::string& quoted) {
  return kind == ValueKind::kOther ? quoted + "::text" : quoted;
}

namespace {

// A timestamp's text as ISO-8601: 'T' between date and time, and for timestamptz "+00" as Z.
std::string IsoTimestamp(ValueKind kind, std::string_view text) {
  std::string out(text);
  if (out.size() > 10 && out[10] == ' ') out[10] = 'T';
  if (kind == ValueKind::kTimestampTz && out.size() > 3 &&
      out.compare(out.size() - 3, 3, "+00") == 0) {
    out.replace(out.size() - 3, 3, "Z");
  }
  return out;
}

void AppendJsonString(std::string& out, std::string_view text) {
  if (IsValidUtf8(text)) {
    json::AppendString(text, out);
  } else {
    out += DumpJson(std::string(text));
  }
}

}  // namespace

nlohmann::json ToJson(ValueKind kind, std::string_view text) {
  switch (kind) {
    case ValueKind::kInteger: {
      int64_t value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error == std::errc() && end == text.data() + text.size()) return value;
      return std::string(text);
    }
    case ValueKind::kFloat: {
      const std::string copy(text);
      char* end = nullptr;
      const double value = std::strtod(copy.c_str(), &end);
      if (!copy.empty() && end == copy.c_str() + copy.size() && std::isfinite(value)) return value;
      return copy;  // NaN, Infinity, -Infinity
    }
    case ValueKind::kBoolean:
      return text == "t";
    case ValueKind::kBytes: {
      std::string bytes;
      for (size_t i = 2; i + 1 < text.size(); i += 2) {  // "\x…"
        const auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
        bytes.push_back(static_cast<char>(nibble(text[i]) << 4 | nibble(text[i + 1])));
      }
      return json::Base64Encode(bytes);
    }
    case ValueKind::kTimestamp:
    case ValueKind::kTimestampTz:
      return IsoTimestamp(kind, text);
    case ValueKind::kDecimal:
    case ValueKind::kText:
    case ValueKind::kDate:
    case ValueKind::kUuid:
    case ValueKind::kOther:
      return std::string(text);
  }
  return std::string(text);
}

void AppendJson(std::string& out, ValueKind kind, std::string_view text) {
  switch (kind) {
    case ValueKind::kInteger: {
      int64_t value = 0;
      const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error == std::errc() && end == text.data() + text.size()) {
        out += text;  // PostgreSQL's integer output is the canonical decimal
      } else {
        AppendJsonString(out, text);
      }
      return;
    }
    case ValueKind::kBoolean:
      out += text == "t" ? "true" : "false";
      return;
    case ValueKind::kTimestamp:
    case ValueKind::kTimestampTz:
      AppendJsonString(out, IsoTimestamp(kind, text));
      return;
    case ValueKind::kDecimal:
    case ValueKind::kText:
    case ValueKind::kDate:
    case ValueKind::kUuid:
    case ValueKind::kOther:
      AppendJsonString(out, text);
      return;
    case ValueKind::kFloat:
    case ValueKind::kBytes:
      break;
  }
  out += DumpJson(ToJson(kind, text));
}

}  // namespace cdc::api

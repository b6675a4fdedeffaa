#include "producer/value_text.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "common/event/decimal.h"
#include "common/event/temporal.h"
#include "common/sql_quote.h"

namespace cdc::producer {
namespace {

[[noreturn]] void Bad(const event::ColumnMeta& column, std::string_view text, const char* what) {
  throw PermanentError("VALUE", "column " + column.name + ": \"" + std::string(text.substr(0, 80)) +
                                    "\" is not " + what);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string HexToBytes(const event::ColumnMeta& column, std::string_view text) {
  std::string_view hex = text;
  if (hex.size() >= 3 && (hex[0] == 'X' || hex[0] == 'x') && hex[1] == '\'' && hex.back() == '\'') {
    hex = hex.substr(2, hex.size() - 3);
  } else if (hex.size() >= 2 && hex[0] == '\\' && hex[1] == 'x') {
    hex.remove_prefix(2);
  }
  if (hex.size() % 2 != 0) Bad(column, text, "hex-encoded bytes");
  std::string bytes(hex.size() / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int high = HexDigit(hex[2 * i]);
    const int low = HexDigit(hex[2 * i + 1]);
    if (high < 0 || low < 0) Bad(column, text, "hex-encoded bytes");
    bytes[i] = static_cast<char>((high << 4) | low);
  }
  return bytes;
}

bool HasOffset(std::string_view text) {
  if (text.empty()) return false;
  if (text.back() == 'Z' || text.back() == 'z') return true;
  // An offset sign after the time part ("...:SS+01", "...-05:00").
  const size_t time = text.find_first_of("T ", 8);
  if (time == std::string_view::npos) return false;
  return text.find_first_of("+-", time) != std::string_view::npos;
}

}  // namespace

std::string ExpandExponent(std::string_view text) {
  const size_t e = text.find_first_of("eE");
  if (e == std::string_view::npos) {
    if (!event::IsDecimalText(text, false)) {
      throw PermanentError("VALUE", "\"" + std::string(text.substr(0, 80)) + "\" is not a decimal");
    }
    return std::string(text);
  }
  if (!event::IsDecimalText(text, true)) {
    throw PermanentError("VALUE", "\"" + std::string(text.substr(0, 80)) + "\" is not a decimal");
  }
  std::string_view mantissa = text.substr(0, e);
  int exponent = 0;
  std::string_view exp_text = text.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  const auto [ptr, ec] =
      std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
  if (ec != std::errc() || exponent > 400 || exponent < -400) {
    throw PermanentError("VALUE", "\"" + std::string(text.substr(0, 80)) + "\" is out of range");
  }
  bool negative = false;
  if (!mantissa.empty() && (mantissa[0] == '+' || mantissa[0] == '-')) {
    negative = mantissa[0] == '-';
    mantissa.remove_prefix(1);
  }
  std::string digits;
  int point = 0;  // digits before the decimal point
  bool seen_point = false;
  for (char c : mantissa) {
    if (c == '.') {
      seen_point = true;
      continue;
    }
    digits.push_back(c);
    if (!seen_point) ++point;
  }
  point += exponent;
  if (point <= 0) {
    digits.insert(0, static_cast<size_t>(-point) + 1, '0');
    point = 1;
  } else if (point > static_cast<int>(digits.size())) {
    digits.append(static_cast<size_t>(point) - digits.size(), '0');
  }
  std::string out = negative ? "-" : "";
  out += digits.substr(0, static_cast<size_t>(point));
  if (static_cast<size_t>(point) < digits.size()) {
    out += '.';
    out.append(digits, static_cast<size_t>(point));
  }
  return out;
}

event::Value ValueFromText(const event::ColumnMeta& column, std::string_view text) {
  using event::ColumnType;
  switch (column.type) {
    case ColumnType::kInt32:
    case ColumnType::kInt64: {
      int64_t value = 0;
      const char* end = text.data() + text.size();
      const char* begin = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
      const auto [ptr, ec] = std::from_chars(begin, end, value);
      if (ec != std::errc() || ptr != end) Bad(column, text, "an integer");
      if (column.type == ColumnType::kInt32 && (value < INT32_MIN || value > INT32_MAX)) {
        Bad(column, text, "a 32-bit integer");
      }
      return value;
    }
    case ColumnType::kDecimal:
      try {
        return event::NormalizeDecimal(ExpandExponent(text), column.precision, column.scale);
      } catch (const PermanentError& e) {
        throw PermanentError("VALUE", "column " + column.name + ": " + e.what());
      }
    case ColumnType::kDecimalText:
      try {
        return ExpandExponent(text);
      } catch (const PermanentError& e) {
        throw PermanentError("VALUE", "column " + column.name + ": " + e.what());
      }
    case ColumnType::kFloat32:
    case ColumnType::kFloat64: {
      const std::string copy(text);
      char* end = nullptr;
      const double value = std::strtod(copy.c_str(), &end);
      if (copy.empty() || end != copy.c_str() + copy.size()) Bad(column, text, "a number");
      return value;
    }
    case ColumnType::kBytes:
      return HexToBytes(column, text);
    case ColumnType::kDate: {
      // A time part of midnight (drivers that render dates as timestamps) is dropped.
      std::string_view date = text;
      const size_t time = date.find_first_of(" T");
      if (time != std::string_view::npos &&
          date.substr(time).find_first_not_of(" T0:.") == std::string_view::npos) {
        date = date.substr(0, time);
      }
      try {
        return static_cast<int64_t>(event::ParseDate(date));
      } catch (const PermanentError& e) {
        throw PermanentError("VALUE", "column " + column.name + ": " + e.what());
      }
    }
    case ColumnType::kTimestamp:
    case ColumnType::kTimestampTz:
      try {
        if (column.type == ColumnType::kTimestampTz && HasOffset(text)) {
          return event::ParseTimestampTz(text);
        }
        return event::ParseTimestamp(text);
      } catch (const PermanentError& e) {
        throw PermanentError("VALUE", "column " + column.name + ": " + e.what());
      }
    case ColumnType::kBoolean:
      for (std::string_view yes : {"1", "true", "t", "yes", "y"}) {
        if (EqualsIgnoreCase(text, yes)) return true;
      }
      for (std::string_view no : {"0", "false", "f", "no", "n"}) {
        if (EqualsIgnoreCase(text, no)) return false;
      }
      Bad(column, text, "a boolean");
    case ColumnType::kUuid: {
      std::string uuid(text);
      std::transform(uuid.begin(), uuid.end(), uuid.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      return uuid;
    }
    case ColumnType::kString:
    case ColumnType::kOther:
      return std::string(text);
  }
  return std::string(text);
}

}  // namespace cdc::producer

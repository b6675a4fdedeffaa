#include "consumer/pg_binary.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common/error.h"
#include "common/event/temporal.h"

namespace cdc::consumer {
namespace {

constexpr int64_t kPgEpochDays = 10'957;  // 2000-01-01, PostgreSQL's epoch, in days since 1970
constexpr int64_t kPgEpochMicros = kPgEpochDays * 86'400'000'000;
constexpr int kMaxNumericDigits = 1000;    // more: staged as text
constexpr int kMaxNumericExponent = 1000;  // |e| above: staged as text

void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void PutLength(std::string& out, size_t length) { PutU32(out, static_cast<uint32_t>(length)); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The 16 bytes of a uuid spelled as 32 hex digits, bare or hyphenated 8-4-4-4-12; false otherwise.
bool ParseUuid(std::string_view text, std::array<unsigned char, 16>& bytes) {
  const bool dashed = text.size() == 36;
  if (!dashed && text.size() != 32) return false;
  size_t byte = 0;
  for (size_t i = 0; i < text.size();) {
    if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (text[i] != '-') return false;
      ++i;
      continue;
    }
    const int high = HexValue(text[i]);
    const int low = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
    if (high < 0 || low < 0) return false;
    bytes[byte++] = static_cast<unsigned char>(high * 16 + low);
    i += 2;
  }
  return byte == 16;
}

void ThrowIfNul(const event::ColumnMeta& column, const std::string& text) {
  if (text.find('\0') != std::string::npos) {
    throw PermanentError(
        "22021", "column " + column.name + ": PostgreSQL text cannot contain a NUL character");
  }
}

int64_t FloorDiv4(int64_t p) { return p >= 0 ? p / 4 : -((-p + 3) / 4); }

// A 4-byte integer field (integer; date as days); false when `v` does not fit.
bool PutInt32Field(std::string& out, int64_t v) {
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  PutLength(out, 4);
  PutU32(out, static_cast<uint32_t>(static_cast<int32_t>(v)));
  return true;
}

}  // namespace

bool BinaryCopyFits(event::ColumnType type, std::string_view pg_type) {
  using event::ColumnType;
  switch (type) {
    case ColumnType::kInt32:
      return pg_type == "integer";
    case ColumnType::kInt64:
      return pg_type == "bigint";
    case ColumnType::kDecimal:
    case ColumnType::kDecimalText:
      return pg_type == "numeric" || pg_type.rfind("numeric(", 0) == 0;
    case ColumnType::kFloat32:
      return pg_type == "real";
    case ColumnType::kFloat64:
      return pg_type == "double precision";
    case ColumnType::kString:
    case ColumnType::kOther:
      return pg_type == "text" || pg_type.rfind("character varying", 0) == 0;
    case ColumnType::kBytes:
      return pg_type == "bytea";
    case ColumnType::kDate:
      return pg_type == "date";
    case ColumnType::kTimestamp:
      return pg_type == "timestamp without time zone";
    case ColumnType::kTimestampTz:
      return pg_type == "timestamp with time zone";
    case ColumnType::kBoolean:
      return pg_type == "boolean";
    case ColumnType::kUuid:
      return pg_type == "uuid";
  }
  return false;
}

void AppendBinaryCopyHeader(std::string& out) {
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // + its terminating NUL: 11 bytes
  out.append(kSignature, sizeof(kSignature));
  PutU32(out, 0);  // flags
  PutU32(out, 0);  // header extension length
}

void AppendBinaryCopyTrailer(std::string& out) { PutU16(out, 0xFFFF); }

void AppendBinaryFieldCount(std::string& out, int16_t fields) {
  PutU16(out, static_cast<uint16_t>(fields));
}

void AppendBinaryNull(std::string& out) { PutU32(out, 0xFFFFFFFF); }

void AppendBinaryInt64(std::string& out, int64_t value) {
  PutLength(out, 8);
  PutU64(out, static_cast<uint64_t>(value));
}

void AppendBinaryBytes(std::string& out, std::string_view bytes) {
  PutLength(out, bytes.size());
  out.append(bytes);
}

void AppendBinaryTimestamp(std::string& out, int64_t micros_since_1970) {
  AppendBinaryInt64(out, micros_since_1970 - kPgEpochMicros);
}

bool AppendBinaryNumeric(std::string& out, std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  std::string digits;  // significant digits, leading zeros dropped
  int64_t fraction = 0;
  bool point = false;
  bool any = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (IsDigit(c)) {
      any = true;
      if (point) ++fraction;
      if (c != '0' || !digits.empty()) digits.push_back(c);
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (!any) return false;
  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exponent_negative = text[i++] == '-';
    if (i == text.size()) return false;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      exponent = exponent * 10 + (text[i] - '0');
      if (exponent > kMaxNumericExponent) return false;
    }
    if (exponent_negative) exponent = -exponent;
  }
  if (i != text.size() || static_cast<int>(digits.size()) > kMaxNumericDigits) return false;
  if (fraction > kMaxNumericDigits) return false;
  // value = digits * 10^scale; numeric_in's display scale is the fraction digits less the exponent.
  const int64_t scale = exponent - fraction;
  const int64_t dscale = std::max<int64_t>(0, fraction - exponent);
  std::vector<int16_t> groups;  // base-10000 digits, most significant first
  int64_t weight = 0;
  if (!digits.empty()) {
    const int64_t m = static_cast<int64_t>(digits.size());
    const int64_t top = FloorDiv4(m - 1 + scale);
    const int64_t bottom = FloorDiv4(scale);
    weight = top;
    groups.assign(static_cast<size_t>(top - bottom + 1), 0);
    static constexpr int16_t kPow10[] = {1, 10, 100, 1000};
    for (int64_t j = 0; j < m; ++j) {
      const int64_t power = m - 1 - j + scale;
      const int64_t group = FloorDiv4(power);
      groups[static_cast<size_t>(top - group)] =
          static_cast<int16_t>(groups[static_cast<size_t>(top - group)] +
                               (digits[static_cast<size_t>(j)] - '0') * kPow10[power - group * 4]);
    }
    while (!groups.empty() && groups.back() == 0) groups.pop_back();
  }
  PutLength(out, 8 + groups.size() * 2);
  PutU16(out, static_cast<uint16_t>(groups.size()));
  PutU16(out, static_cast<uint16_t>(static_cast<int16_t>(groups.empty() ? 0 : weight)));
  PutU16(out, negative && !groups.empty() ? 0x4000 : 0x0000);
  PutU16(out, static_cast<uint16_t>(dscale));
  for (const int16_t g : groups) PutU16(out, static_cast<uint16_t>(g));
  return true;
}

bool AppendBinaryValue(std::string& out, const event::ColumnMeta& column,
                       const event::Value& value) {
  using event::ColumnType;
  if (event::IsNull(value)) {
    AppendBinaryNull(out);
    return true;
  }
  switch (column.type) {
    case ColumnType::kInt32:
      return PutInt32Field(out, std::get<int64_t>(value));
    case ColumnType::kInt64:
      AppendBinaryInt64(out, std::get<int64_t>(value));
      return true;
    case ColumnType::kFloat32: {
      const double v = std::get<double>(value);
      const float f = static_cast<float>(v);
      if (!std::isnan(v) && static_cast<double>(f) != v) return false;  // not a float: as text
      uint32_t bits;
      std::memcpy(&bits, &f, sizeof(bits));
      PutLength(out, 4);
      PutU32(out, bits);
      return true;
    }
    case ColumnType::kFloat64: {
      const double v = std::get<double>(value);
      uint64_t bits;
      std::memcpy(&bits, &v, sizeof(bits));
      PutLength(out, 8);
      PutU64(out, bits);
      return true;
    }
    case ColumnType::kBoolean:
      PutLength(out, 1);
      out.push_back(std::get<bool>(value) ? 1 : 0);
      return true;
    case ColumnType::kDate: {
      // PostgreSQL's infinities are the same extreme values as the contract's.
      const int64_t days = std::get<int64_t>(value);
      const bool infinite = days == event::kDateInfinity || days == event::kDateMinusInfinity;
      return PutInt32Field(out, infinite ? days : days - kPgEpochDays);
    }
    case ColumnType::kTimestamp:
    case ColumnType::kTimestampTz: {
      const int64_t micros = std::get<int64_t>(value);
      if (micros == event::kTimestampInfinity || micros == event::kTimestampMinusInfinity) {
        AppendBinaryInt64(out, micros);
        return true;
      }
      if (micros < std::numeric_limits<int64_t>::min() + kPgEpochMicros) return false;
      AppendBinaryTimestamp(out, micros);
      return true;
    }
    case ColumnType::kBytes:
      AppendBinaryBytes(out, std::get<std::string>(value));
      return true;
    case ColumnType::kDecimal:
    case ColumnType::kDecimalText:
      return AppendBinaryNumeric(out, std::get<std::string>(value));
    case ColumnType::kUuid: {
      std::array<unsigned char, 16> bytes;
      if (!ParseUuid(std::get<std::string>(value), bytes)) return false;
      PutLength(out, bytes.size());
      out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return true;
    }
    case ColumnType::kString:
    case ColumnType::kOther: {
      const std::string& text = std::get<std::string>(value);
      ThrowIfNul(column, text);
      AppendBinaryBytes(out, text);
      return true;
    }
  }
  return false;
}

}  // namespace cdc::consumer

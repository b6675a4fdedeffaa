#include "common/event/decimal.h"

#include "common/error.h"

namespace cdc::event {
namespace {

using Int128 = __int128;

[[noreturn]] void Fail(std::string_view text, const std::string& why) {
  throw PermanentError("DECIMAL", "decimal \"" + std::string(text.substr(0, 80)) + "\" " + why);
}

struct Parsed {
  bool negative = false;
  std::string digits;  // unscaled digits, no leading zeros (may be empty for zero)
};

// Parses plain decimal text and rescales it to `scale` fraction digits.
Parsed ParseScaled(std::string_view text, int precision, int scale) {
  if (!IsDecimalText(text, false)) Fail(text, "is not a decimal number");
  Parsed parsed;
  size_t i = 0;
  if (text[i] == '+' || text[i] == '-') parsed.negative = text[i++] == '-';
  const size_t dot = text.find('.', i);
  std::string_view integer =
      text.substr(i, dot == std::string_view::npos ? std::string_view::npos : dot - i);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  while (static_cast<int>(fraction.size()) > scale) {
    if (fraction.back() != '0') {
      Fail(text, "has more than " + std::to_string(scale) + " fraction digits");
    }
    fraction.remove_suffix(1);
  }
  while (!integer.empty() && integer.front() == '0') integer.remove_prefix(1);
  if (static_cast<int>(integer.size()) > precision - scale) {
    Fail(text,
         "does not fit numeric(" + std::to_string(precision) + "," + std::to_string(scale) + ")");
  }
  parsed.digits.append(integer);
  parsed.digits.append(fraction);
  parsed.digits.append(static_cast<size_t>(scale) - fraction.size(), '0');
  const size_t first = parsed.digits.find_first_not_of('0');
  parsed.digits = first == std::string::npos ? std::string() : parsed.digits.substr(first);
  if (parsed.digits.empty()) parsed.negative = false;  // -0 is 0
  return parsed;
}

std::string Render(bool negative, std::string digits, int scale) {
  if (static_cast<int>(digits.size()) <= scale) {
    digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
  }
  if (scale > 0) digits.insert(digits.size() - static_cast<size_t>(scale), 1, '.');
  if (negative) digits.insert(0, 1, '-');
  return digits;
}

}  // namespace

bool IsDecimalText(std::string_view text, bool allow_exponent) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  size_t digits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (allow_exponent && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    size_t exponent_digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i, ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  return i == text.size();
}

std::string DecimalToAvroBytes(std::string_view text, int precision, int scale) {
  const Parsed parsed = ParseScaled(text, precision, scale);
  Int128 value = 0;
  for (char digit : parsed.digits) value = value * 10 + (digit - '0');  // <= 38 digits fit
  if (parsed.negative) value = -value;
  // Minimal big-endian two's complement: drop leading bytes that are pure sign extension.
  unsigned char bytes[16];
  for (int b = 15; b >= 0; --b) {
    bytes[b] = static_cast<unsigned char>(value & 0xFF);
    value >>= 8;  // arithmetic shift keeps the sign
  }
  int start = 0;
  while (start < 15 && ((bytes[start] == 0x00 && (bytes[start + 1] & 0x80) == 0) ||
                        (bytes[start] == 0xFF && (bytes[start + 1] & 0x80) != 0))) {
    ++start;
  }
  return std::string(reinterpret_cast<const char*>(bytes + start), static_cast<size_t>(16 - start));
}

std::string AvroBytesToDecimal(std::string_view bytes, int precision, int scale) {
  if (bytes.empty()) Fail("<empty bytes>", "is empty");
  if (bytes.size() > 16) Fail("<" + std::to_string(bytes.size()) + " bytes>", "exceeds 38 digits");
  const bool negative = (static_cast<unsigned char>(bytes[0]) & 0x80) != 0;
  unsigned __int128 magnitude_bits = negative ? ~static_cast<unsigned __int128>(0) : 0;
  for (char byte : bytes) {
    magnitude_bits = (magnitude_bits << 8) | static_cast<unsigned char>(byte);
  }
  Int128 value = static_cast<Int128>(magnitude_bits);
  // 16 bytes can hold -2^127, whose negation overflows: reject (it exceeds 38 digits anyway).
  if (negative && value == (static_cast<Int128>(1) << 127)) Fail("<16 bytes>", "exceeds 38 digits");
  unsigned __int128 magnitude =
      negative ? static_cast<unsigned __int128>(-value) : static_cast<unsigned __int128>(value);
  std::string digits;
  while (magnitude > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  if (static_cast<int>(digits.size()) > precision) {
    Fail(digits, "has more than " + std::to_string(precision) + " digits");
  }
  const bool negative_result = negative && !digits.empty();  // before digits is moved
  return Render(negative_result, std::move(digits), scale);
}

std::string NormalizeDecimal(std::string_view text, int precision, int scale) {
  Parsed parsed = ParseScaled(text, precision, scale);
  return Render(parsed.negative, std::move(parsed.digits), scale);
}

}  // namespace cdc::event

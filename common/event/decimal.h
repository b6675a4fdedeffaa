// Exact decimals. Values travel as text end to end; for Avro's decimal logical type they become
// the unscaled integer in big-endian two's complement. Nothing here ever uses floating point.
// Errors are PermanentError (code "DECIMAL") naming the value and the column's precision/scale.
#pragma once

#include <string>
#include <string_view>

namespace cdc::event {

// True for [+-]?digits[.digits] (at least one digit) and, when `allow_exponent`, an optional
// [eE][+-]?digits. No NaN or infinity.
bool IsDecimalText(std::string_view text, bool allow_exponent);

// Avro decimal(precision, scale) bytes for `text`. More fraction digits than `scale` are accepted
// only when the extra digits are zeros; more integer digits than precision - scale is an error.
std::string DecimalToAvroBytes(std::string_view text, int precision, int scale);

// The text of Avro decimal bytes with exactly `scale` fraction digits ("-0.000001", "12.50").
// Errors on empty input, more than 16 bytes, or more than `precision` digits.
std::string AvroBytesToDecimal(std::string_view bytes, int precision, int scale);

// `text` rewritten with exactly `scale` fraction digits (the PostgreSQL numeric(p,s) rendering),
// validated against precision like DecimalToAvroBytes.
std::string NormalizeDecimal(std::string_view text, int precision, int scale);

}  // namespace cdc::event

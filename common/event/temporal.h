// Dates and timestamps of the event contract, exact to the microsecond:
//   date        <-> days since 1970-01-01                       ("YYYY-MM-DD")
//   timestamp   <-> microseconds since 1970-01-01T00:00:00, no zone
//   ("YYYY-MM-DDTHH:MM:SS[.ffffff]") timestamptz <-> microseconds since the epoch, UTC
//   ("YYYY-MM-DDTHH:MM:SS[.ffffff]Z")
// Years are proleptic Gregorian and astronomical (year 0 is 1 BC): years 0000-9999 have four
// digits, later ones a "+" and five or more ("+12026-01-01"), earlier ones a "-" ("-0043-03-15"
// is 44 BC), as in ISO 8601's expanded form. Infinity (PostgreSQL's 'infinity' and '-infinity')
// is "infinity" / "-infinity" in text and the extreme value of the type in numbers: INT32_MAX /
// INT32_MIN days, INT64_MAX / INT64_MIN microseconds - which is also how PostgreSQL stores them.
// A finite value outside the numbers' range (a timestamp after about 294246 AD) is an error, never
// clamped.
// Parsers also accept what ODBC drivers and PostgreSQL render: space or 'T' separator, 0-9
// fraction digits, offsets "+HH", "+HH:MM", "+HHMM", "Z", five-digit years without a sign and a
// trailing " BC"; sub-microsecond digits must be zero (no silent truncation). Errors are
// PermanentError (code "TEMPORAL") naming the text.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace cdc::event {

inline constexpr int32_t kDateInfinity = std::numeric_limits<int32_t>::max();
inline constexpr int32_t kDateMinusInfinity = std::numeric_limits<int32_t>::min();
inline constexpr int64_t kTimestampInfinity = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kTimestampMinusInfinity = std::numeric_limits<int64_t>::min();

int32_t ParseDate(std::string_view text);
int64_t ParseTimestamp(std::string_view text);    // no offset allowed
int64_t ParseTimestampTz(std::string_view text);  // offset required; result in UTC

// The contract's text (above), or with kPostgres PostgreSQL's input syntax ("0044-03-15 BC",
// "12026-01-01", "infinity") for writing to PostgreSQL as text.
enum class TemporalStyle { kContract, kPostgres };
std::string FormatDate(int32_t days, TemporalStyle style = TemporalStyle::kContract);
std::string FormatTimestamp(int64_t micros, TemporalStyle style = TemporalStyle::kContract);
std::string FormatTimestampTz(int64_t micros, TemporalStyle style = TemporalStyle::kContract);

// Civil calendar helpers (proleptic Gregorian, astronomical years).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

}  // namespace cdc::event

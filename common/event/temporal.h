// Dates and timestamps of the event contract, exact to the microsecond:
//   date        <-> days since 1970-01-01            ("YYYY-MM-DD")
//   timestamp   <-> microseconds since 1970-01-01T00:00:00, no zone
//   ("YYYY-MM-DDTHH:MM:SS[.ffffff]") timestamptz <-> microseconds since the epoch, UTC
//   ("YYYY-MM-DDTHH:MM:SS[.ffffff]Z")
// Parsers accept what ODBC drivers render (space or 'T' separator, 0-9 fraction digits, offsets
// "+HH", "+HH:MM", "+HHMM", "Z"); sub-microsecond digits must be zero (no silent truncation).
// Errors are PermanentError (code "TEMPORAL") naming the text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdc::event {

int32_t ParseDate(std::string_view text);
int64_t ParseTimestamp(std::string_view text);    // no offset allowed
int64_t ParseTimestampTz(std::string_view text);  // offset required; result in UTC

std::string FormatDate(int32_t days);
std::string FormatTimestamp(int64_t micros);    // no offset
std::string FormatTimestampTz(int64_t micros);  // UTC, with "Z"

// Civil calendar helpers (proleptic Gregorian).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);

}  // namespace cdc::event

// Column values from the text ODBC drivers render (every column is fetched as SQL_C_CHAR so
// decimals stay exact). Pure functions; errors are PermanentError("VALUE") naming the column.
#pragma once

#include <string_view>

#include "common/event/change_event.h"
#include "common/event/types.h"

namespace cdc::producer {

// The event value of `column` for the driver text `text`:
//   integers      decimal digits ("42", "-7")
//   decimal       plain or exponent notation ("12.50", "1.5e+3"), rescaled to the column's scale
//   float         anything strtod accepts
//   bytes         hex: "00FF10", "X'00FF10'" (sqliteodbc), "\x00ff10" (PostgreSQL escape)
//   date          "YYYY-MM-DD" (a time part of 00:00:00 is accepted)
//   timestamp     "YYYY-MM-DD HH:MM:SS[.f]"
//   timestamptz   with an offset, or without one meaning UTC (the producer's sessions run in UTC)
//   boolean       1/0, true/false, t/f, yes/no (any case)
//   uuid          any case, rendered lower-case
event::Value ValueFromText(const event::ColumnMeta& column, std::string_view text);

// "1.5e+3" -> "1500", "-2.5E-2" -> "-0.025"; plain decimal text is returned unchanged.
// Throws PermanentError("VALUE") when `text` is not a decimal number.
std::string ExpandExponent(std::string_view text);

}  // namespace cdc::producer

#include "common/event/temporal.h"

#include <cstdio>

#include "common/error.h"

namespace cdc::event {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

[[noreturn]] void Fail(std::string_view text, std::string_view expected) {
  throw PermanentError(
      "TEMPORAL", "\"" + std::string(text.substr(0, 64)) + "\" is not " + std::string(expected));
}

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool Digits(size_t count, int64_t* out) {
    if (pos_ + count > text_.size()) return false;
    int64_t value = 0;
    for (size_t i = 0; i < count; ++i) {
      const char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    pos_ += count;
    *out = value;
    return true;
  }
  bool Char(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) return ++pos_, true;
    return false;
  }
  bool AtEnd() const { return pos_ == text_.size(); }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// [+|-]YYYY[Y...]-MM-DD; `bc` (a trailing " BC" was seen) turns year y into 1 - y.
bool ParseDatePart(Cursor& in, bool bc, int64_t* days) {
  const bool minus = in.Char('-');
  const bool plus = !minus && in.Char('+');
  int64_t year = 0, month = 0, day = 0, digit = 0;
  int year_digits = 0;
  while (year_digits < 9 && in.Digits(1, &digit)) year = year * 10 + digit, ++year_digits;
  if (year_digits < 4 || (plus && year_digits < 5) || ((minus || plus) && bc)) return false;
  if (!in.Char('-') || !in.Digits(2, &month) || !in.Char('-') || !in.Digits(2, &day)) {
    return false;
  }
  if (minus) year = -year;
  if (bc) {
    if (year < 1) return false;  // there is no year 0 BC
    year = 1 - year;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, static_cast<unsigned>(month))) {
    return false;
  }
  *days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return true;
}

// Removes PostgreSQL's " BC" suffix from `text`; true when it was there.
bool StripBc(std::string_view* text) {
  constexpr std::string_view kBc = " BC";
  if (text->size() <= kBc.size() || text->substr(text->size() - kBc.size()) != kBc) return false;
  text->remove_suffix(kBc.size());
  return true;
}

// 1 for "infinity" (or "+infinity"), -1 for "-infinity", 0 otherwise.
int Infinity(std::string_view text) {
  if (text == "infinity" || text == "+infinity") return 1;
  if (text == "-infinity") return -1;
  return 0;
}

// "YYYY-MM-DD[ T]HH:MM:SS[.f...]" -> micros since epoch (local/naive).
bool ParseDateTime(Cursor& in, bool bc, std::string_view text, int64_t* micros) {
  int64_t days = 0, hour = 0, minute = 0, second = 0;
  if (!ParseDatePart(in, bc, &days)) return false;
  if (!(in.Char(' ') || in.Char('T'))) return false;
  if (!in.Digits(2, &hour) || !in.Char(':') || !in.Digits(2, &minute) || !in.Char(':') ||
      !in.Digits(2, &second)) {
    return false;
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  int64_t fraction = 0;
  if (in.Char('.')) {
    int digits = 0;
    int64_t digit = 0;
    while (in.Digits(1, &digit)) {
      if (digits < 6) {
        fraction = fraction * 10 + digit;
      } else if (digit != 0) {
        return false;  // sub-microsecond precision would be lost
      }
      if (++digits > 9) return false;
    }
    if (digits == 0) return false;
    for (int d = std::min(digits, 6); d < 6; ++d) fraction *= 10;
  }
  const int64_t time = ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + fraction;
  // Out of the microseconds' range (or onto an infinity's value): an error, never wrapped.
  if (__builtin_mul_overflow(days, kMicrosPerDay, micros) ||
      __builtin_add_overflow(*micros, time, micros) || *micros == kTimestampInfinity ||
      *micros == kTimestampMinusInfinity) {
    Fail(text, "in range (microseconds since 1970 hold 290308 BC to 294247 AD)");
  }
  return true;
}

}  // namespace

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int64_t>(yoe) + era * 400 + (*month <= 2);
}

int32_t ParseDate(std::string_view text) {
  if (const int infinity = Infinity(text)) {
    return infinity > 0 ? kDateInfinity : kDateMinusInfinity;
  }
  const bool bc = StripBc(&text);
  Cursor in(text);
  int64_t days = 0;
  if (!ParseDatePart(in, bc, &days) || !in.AtEnd() || days <= kDateMinusInfinity ||
      days >= kDateInfinity) {
    Fail(text, "a date (YYYY-MM-DD)");
  }
  return static_cast<int32_t>(days);
}

int64_t ParseTimestamp(std::string_view text) {
  if (const int infinity = Infinity(text)) {
    return infinity > 0 ? kTimestampInfinity : kTimestampMinusInfinity;
  }
  const bool bc = StripBc(&text);
  Cursor in(text);
  int64_t micros = 0;
  if (!ParseDateTime(in, bc, text, &micros) || !in.AtEnd()) {
    Fail(text, "a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff], at most microsecond precision)");
  }
  return micros;
}

int64_t ParseTimestampTz(std::string_view text) {
  if (const int infinity = Infinity(text)) {
    return infinity > 0 ? kTimestampInfinity : kTimestampMinusInfinity;
  }
  const bool bc = StripBc(&text);
  Cursor in(text);
  int64_t micros = 0;
  constexpr std::string_view kExpected =
      "a timestamp with time zone (YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM] or Z)";
  if (!ParseDateTime(in, bc, text, &micros)) Fail(text, kExpected);
  in.Char(' ');  // some drivers put a space before the offset
  if (in.Char('Z')) {
    if (!in.AtEnd()) Fail(text, kExpected);
    return micros;
  }
  const char sign = in.Peek();
  if (!(in.Char('+') || in.Char('-'))) Fail(text, kExpected);
  int64_t hours = 0, minutes = 0;
  if (!in.Digits(2, &hours)) Fail(text, kExpected);
  if (in.Char(':')) {
    if (!in.Digits(2, &minutes)) Fail(text, kExpected);
  } else if (!in.AtEnd() && !in.Digits(2, &minutes)) {
    Fail(text, kExpected);
  }
  if (!in.AtEnd() || hours > 15 || minutes > 59) Fail(text, kExpected);
  const int64_t offset = (hours * 60 + minutes) * 60 * kMicrosPerSecond;
  int64_t utc = 0;
  if (sign == '+' ? __builtin_sub_overflow(micros, offset, &utc)
                  : __builtin_add_overflow(micros, offset, &utc)) {
    Fail(text, kExpected);
  }
  if (utc == kTimestampInfinity || utc == kTimestampMinusInfinity) Fail(text, kExpected);
  return utc;
}

namespace {

// Writes `value` as exactly `width` decimal digits (zero-padded) at `out`; returns the end.
char* PutDigits(char* out, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

// The date part for days since the epoch, in `style` (see the header); returns the end. `bc`
// is set when the PostgreSQL style needs a " BC" after the whole value.
char* PutDate(char* out, int64_t days, TemporalStyle style, bool* bc) {
  int64_t year = 0;
  unsigned month = 0, day = 0;
  CivilFromDays(days, &year, &month, &day);
  *bc = style == TemporalStyle::kPostgres && year < 1;
  if (*bc) year = 1 - year;
  if (year < 0) *out++ = '-', year = -year;
  int width = 4;
  for (int64_t rest = year / 10'000; rest > 0; rest /= 10) ++width;
  if (width > 4 && style == TemporalStyle::kContract) *out++ = '+';
  out = PutDigits(out, year, width);
  *out++ = '-';
  out = PutDigits(out, month, 2);
  *out++ = '-';
  return PutDigits(out, day, 2);
}

std::string WithBc(std::string text, bool bc) { return bc ? text + " BC" : text; }

// The date and time of `micros` ("YYYY-MM-DDTHH:MM:SS[.ffffff]"); `bc` as in PutDate.
std::string DateTime(int64_t micros, TemporalStyle style, bool* bc) {
  int64_t days = micros / kMicrosPerDay;
  int64_t rest = micros % kMicrosPerDay;
  if (rest < 0) rest += kMicrosPerDay, --days;
  const int64_t seconds = rest / kMicrosPerSecond;
  const int64_t fraction = rest % kMicrosPerSecond;
  char buffer[48];
  char* out = PutDate(buffer, days, style, bc);
  *out++ = 'T';
  out = PutDigits(out, seconds / 3600, 2);
  *out++ = ':';
  out = PutDigits(out, seconds / 60 % 60, 2);
  *out++ = ':';
  out = PutDigits(out, seconds % 60, 2);
  if (fraction != 0) {
    *out++ = '.';
    out = PutDigits(out, fraction, 6);
  }
  return std::string(buffer, out);
}

}  // namespace

std::string FormatDate(int32_t days, TemporalStyle style) {
  if (days == kDateInfinity) return "infinity";
  if (days == kDateMinusInfinity) return "-infinity";
  char buffer[24];
  bool bc = false;
  char* end = PutDate(buffer, days, style, &bc);
  return WithBc(std::string(buffer, static_cast<size_t>(end - buffer)), bc);
}

std::string FormatTimestamp(int64_t micros, TemporalStyle style) {
  if (micros == kTimestampInfinity) return "infinity";
  if (micros == kTimestampMinusInfinity) return "-infinity";
  bool bc = false;
  std::string text = DateTime(micros, style, &bc);
  return WithBc(std::move(text), bc);
}

std::string FormatTimestampTz(int64_t micros, TemporalStyle style) {
  if (micros == kTimestampInfinity) return "infinity";
  if (micros == kTimestampMinusInfinity) return "-infinity";
  bool bc = false;
  std::string text = DateTime(micros, style, &bc) + "Z";
  return WithBc(std::move(text), bc);
}

}  // namespace cdc::event

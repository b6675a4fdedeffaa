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

bool ParseDatePart(Cursor& in, int64_t* days) {
  int64_t year = 0, month = 0, day = 0;
  if (!in.Digits(4, &year) || !in.Char('-') || !in.Digits(2, &month) || !in.Char('-') ||
      !in.Digits(2, &day)) {
    return false;
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 ||
      day > DaysInMonth(year, static_cast<unsigned>(month))) {
    return false;
  }
  *days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return true;
}

// "YYYY-MM-DD[ T]HH:MM:SS[.f...]" -> micros since epoch (local/naive).
bool ParseDateTime(Cursor& in, int64_t* micros) {
  int64_t days = 0, hour = 0, minute = 0, second = 0;
  if (!ParseDatePart(in, &days)) return false;
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
  *micros =
      days * kMicrosPerDay + ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + fraction;
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
  Cursor in(text);
  int64_t days = 0;
  if (!ParseDatePart(in, &days) || !in.AtEnd()) Fail(text, "a date (YYYY-MM-DD)");
  return static_cast<int32_t>(days);
}

int64_t ParseTimestamp(std::string_view text) {
  Cursor in(text);
  int64_t micros = 0;
  if (!ParseDateTime(in, &micros) || !in.AtEnd()) {
    Fail(text, "a timestamp (YYYY-MM-DD HH:MM:SS[.ffffff], at most microsecond precision)");
  }
  return micros;
}

int64_t ParseTimestampTz(std::string_view text) {
  Cursor in(text);
  int64_t micros = 0;
  constexpr std::string_view kExpected =
      "a timestamp with time zone (YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM] or Z)";
  if (!ParseDateTime(in, &micros)) Fail(text, kExpected);
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
  return sign == '+' ? micros - offset : micros + offset;
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

// "YYYY-MM-DD" for days since the epoch; years 0001..9999 (the parser's range).
char* PutDate(char* out, int64_t days) {
  int64_t year = 0;
  unsigned month = 0, day = 0;
  CivilFromDays(days, &year, &month, &day);
  out = PutDigits(out, year, 4);
  *out++ = '-';
  out = PutDigits(out, month, 2);
  *out++ = '-';
  return PutDigits(out, day, 2);
}

}  // namespace

std::string FormatDate(int32_t days) {
  char buffer[16];
  return std::string(buffer, PutDate(buffer, days));
}

std::string FormatTimestamp(int64_t micros) {
  int64_t days = micros / kMicrosPerDay;
  int64_t rest = micros % kMicrosPerDay;
  if (rest < 0) rest += kMicrosPerDay, --days;
  const int64_t seconds = rest / kMicrosPerSecond;
  const int64_t fraction = rest % kMicrosPerSecond;
  char buffer[40];
  char* out = PutDate(buffer, days);
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

std::string FormatTimestampTz(int64_t micros) { return FormatTimestamp(micros) + "Z"; }

}  // namespace cdc::event

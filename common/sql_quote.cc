#include "common/sql_quote.h"

#include <algorithm>
#include <cctype>

#include "common/error.h"
#include "common/utf8.h"

namespace cdc {
namespace {

[[noreturn]] void Reject(SqlDialect dialect, std::string_view name, std::string_view why) {
  std::string shown;
  for (char c : name) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
  throw PermanentError("IDENTIFIER", std::string(SqlDialectName(dialect)) + " identifier \"" +
                                         shown + "\" " + std::string(why));
}

}  // namespace

std::string_view SqlDialectName(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kPostgres:
      return "postgres";
    case SqlDialect::kOracle:
      return "oracle";
    case SqlDialect::kSqlite:
      return "sqlite";
  }
  return "unknown";
}

std::string QuoteIdentifier(SqlDialect dialect, std::string_view name) {
  if (name.empty()) Reject(dialect, name, "is empty");
  if (name.find('\0') != std::string_view::npos) Reject(dialect, name, "contains NUL");
  if (!IsValidUtf8(name)) Reject(dialect, name, "is not valid UTF-8");
  if (dialect == SqlDialect::kPostgres && name.size() > 63) {
    Reject(dialect, name, "is longer than 63 bytes (PostgreSQL would truncate it)");
  }
  if (dialect == SqlDialect::kOracle) {
    if (name.find('"') != std::string_view::npos) {
      Reject(dialect, name, "contains a double quote, which Oracle cannot quote");
    }
    if (name.size() > 128) Reject(dialect, name, "is longer than 128 bytes");
  }
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteQualified(SqlDialect dialect, const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += '.';
    out += QuoteIdentifier(dialect, part);
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace cdc

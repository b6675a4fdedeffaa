// SQL identifier quoting: the only place identifiers are turned into SQL text. Values are never
// quoted here: they are always bound as parameters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cdc {

enum class SqlDialect { kPostgres, kOracle, kSqlite };

std::string_view SqlDialectName(SqlDialect dialect);

// Returns `name` as a delimited identifier for `dialect`, preserving case exactly.
// Throws PermanentError (code "IDENTIFIER") when the dialect cannot represent the name:
//   all dialects: empty, contains NUL, not valid UTF-8;
//   PostgreSQL: longer than 63 bytes (the server would silently truncate it);
//   Oracle: contains a double quote, or longer than 128 bytes.
std::string QuoteIdentifier(SqlDialect dialect, std::string_view name);

// Quotes each part and joins them with '.', e.g. {"SHOP", "ORDERS"} -> "SHOP"."ORDERS".
std::string QuoteQualified(SqlDialect dialect, const std::vector<std::string>& parts);

// ASCII case-insensitive equality (SQLite's rule for names, and SQL keywords').
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace cdc

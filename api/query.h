// What a read request asks for, parsed and checked against the table (unknown columns, values
// that do not parse for their column, limits out of range are ApiErrors), and the SQL that
// answers it: identifiers quoted by the common function, every value a bound parameter. Pure.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/table_catalog.h"
#include "common/pg/connection.h"

namespace cdc::api {

using QueryParams = std::multimap<std::string, std::string>;

enum class FilterOp { kEq, kGt, kGte, kLt, kLte, kIn, kNull };

struct Filter {
  size_t column = 0;
  FilterOp op = FilterOp::kEq;
  std::vector<std::string> values;  // parsed; kNull: {"true"} or {"false"}
};

struct RowsRequest {
  std::vector<size_t> columns;  // returned columns, in table order
  std::vector<Filter> filters;
  std::optional<std::vector<std::string>> after;  // key values of the last row of the last page
  int64_t limit = 50;
};

struct Statement {
  std::string sql;
  std::vector<pg::Param> params;
};

// `limit` (default 50): 1..max_page_size.
int64_t ParseLimit(const QueryParams& params, int64_t max_page_size);
// `include_meta` (true|false, default false).
bool ParseIncludeMeta(const QueryParams& params);
// `fields=a,b` (default every column; _cdc_* ones only with include_meta).
std::vector<size_t> ParseFields(const ApiTable& table, const QueryParams& params);
// Everything a rows listing takes: limit, cursor, fields, include_meta and the filters
// col, col__gt, col__gte, col__lt, col__lte, col__in (comma-separated), col__null (true|false).
RowsRequest ParseRowsRequest(const ApiTable& table, const QueryParams& params,
                             int64_t max_page_size);
// The key of /rows/{key}: the key values joined by ',' in key order, each percent-encoded.
// `raw` is the path segment as sent (not yet decoded).
std::vector<std::string> ParseKeyPath(const ApiTable& table, std::string_view raw);
// Decodes %XX escapes; nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view text);
// A query-string name or value: %XX escapes decoded, '+' as a space, and a '%' not followed by
// two hex digits kept as it is (the parameter's own parser then judges the value).
std::string DecodeQueryComponent(std::string_view text);

// " LIMIT n" with n written into the SQL. A row count, not a value from the request: it is an
// int64 range-checked by ParseLimit and rendered by us. PostgreSQL plans a bound LIMIT as 10% of
// the table, so a generic plan would always look worse than a custom one and every execution of
// the prepared statement would be planned again (a fifth of a page's backend CPU, measured).
std::string LimitClause(int64_t rows);

// Key columns first (for the cursor), then request.columns; limit + 1 rows (to know has_more).
// Soft-deleted rows are left out.
Statement RowsStatement(const ApiTable& table, const RowsRequest& request);
// Rows for many keys in one statement (GET /rows/{key}, batched): the 1-based position of the
// key in `keys` first, then the key columns, then `columns`; a key with no (visible) row
// has no result row, a key given twice gets two. One array parameter per key column, so the SQL
// (and its prepared statement) is the same for any number of keys.
Statement KeysStatement(const ApiTable& table, const std::vector<size_t>& columns,
                        const std::vector<std::vector<std::string>>& keys);
// Rows changed after `after_seq`, in _cdc_seq order: key columns, the data columns, then
// _cdc_seq, _cdc_op, _cdc_source_ts and whether the row is soft-deleted.
Statement ChangesStatement(const ApiTable& table, int64_t after_seq, int64_t limit);
// Hard deletes after `after_seq` from cdc.tombstones: key (JSON array text), seq, source_ts.
Statement TombstonesStatement(const ApiTable& table, int64_t after_seq, int64_t limit);

}  // namespace cdc::api

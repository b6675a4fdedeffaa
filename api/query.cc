#include "api/query.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "api/cursor.h"
#include "api/response.h"
#include "common/sql_quote.h"

namespace cdc::api {
namespace {

constexpr size_t kMaxInValues = 1000;

std::string Q(std::string_view identifier) {
  return QuoteIdentifier(SqlDialect::kPostgres, identifier);
}

std::string Qualified(const ApiTable& table) { return Q(table.schema) + "." + Q(table.target); }

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(separator, start);
    parts.emplace_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

[[noreturn]] void BadValue(const std::string& parameter, const std::string& message) {
  throw ApiError(ErrorCode::kFormat, message, {{"parameter", parameter}});
}

std::string Parsed(const ApiColumn& column, const std::string& parameter, std::string_view text) {
  std::optional<std::string> value = ParseValue(column.kind, text);
  if (!value) {
    BadValue(parameter, "\"" + std::string(text.substr(0, 100)) + "\" is not a valid " +
                            column.type + " for column " + column.name);
  }
  return *value;
}

// Binds `value` and returns its placeholder.
std::string Bind(Statement& statement, ValueKind kind, std::string value) {
  statement.params.emplace_back(std::move(value));
  return CastParam(kind, static_cast<int>(statement.params.size()));
}

std::string SelectList(const ApiTable& table, const std::vector<size_t>& columns) {
  std::string list;
  for (const size_t k : table.key) list += (list.empty() ? "" : ", ") + Q(table.columns[k].name);
  for (const size_t c : columns) list += ", " + Q(table.columns[c].name);
  return list;
}

std::string KeyOrder(const ApiTable& table) {
  std::string order;
  for (const size_t k : table.key) {
    const ApiColumn& column = table.columns[k];
    order += (order.empty() ? "" : ", ") + CompareColumn(column.kind, Q(column.name));
  }
  return order;
}

std::string NotDeleted(const ApiTable& table) {
  return table.HasColumn("_cdc_deleted_at") ? " AND _cdc_deleted_at IS NULL" : "";
}

}  // namespace

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte of the escape at text[i] ('%' and two hex digits), or -1.
int Escape(std::string_view text, size_t i) {
  if (text[i] != '%' || i + 2 >= text.size()) return -1;
  const int high = HexValue(text[i + 1]);
  const int low = HexValue(text[i + 2]);
  return high < 0 || low < 0 ? -1 : high << 4 | low;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int byte = Escape(text, i);
    if (byte < 0) return std::nullopt;
    out.push_back(static_cast<char>(byte));
    i += 2;
  }
  return out;
}

std::string DecodeQueryComponent(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const int byte = Escape(text, i);
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

int64_t ParseLimit(const QueryParams& params, int64_t max_page_size) {
  const auto found = params.find("limit");
  if (found == params.end()) return std::min<int64_t>(50, max_page_size);
  int64_t limit = 0;
  const std::string& text = found->second;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), limit);
  if (error == std::errc::result_out_of_range) {
    throw ApiError(ErrorCode::kRange,
                   "limit must be between 1 and " + std::to_string(max_page_size),
                   {{"parameter", "limit"}, {"max", max_page_size}});
  }
  if (error != std::errc() || end != text.data() + text.size()) {
    BadValue("limit", "limit must be an integer");
  }
  if (limit < 1 || limit > max_page_size) {
    throw ApiError(ErrorCode::kRange,
                   "limit must be between 1 and " + std::to_string(max_page_size),
                   {{"parameter", "limit"}, {"max", max_page_size}});
  }
  return limit;
}

bool ParseIncludeMeta(const QueryParams& params) {
  const auto found = params.find("include_meta");
  if (found == params.end()) return false;
  if (found->second == "true") return true;
  if (found->second == "false") return false;
  BadValue("include_meta", "include_meta must be true or false");
}

std::vector<size_t> ParseFields(const ApiTable& table, const QueryParams& params) {
  const bool meta = ParseIncludeMeta(params);
  std::vector<size_t> columns;
  const auto found = params.find("fields");
  if (found == params.end()) {
    for (size_t c = 0; c < table.columns.size(); ++c) {
      if (meta || !table.columns[c].meta) columns.push_back(c);
    }
    return columns;
  }
  for (const std::string& name : Split(found->second, ',')) {
    const std::optional<size_t> column = table.Find(name);
    if (!column || (table.columns[*column].meta && !meta)) {
      BadValue("fields", "unknown field \"" + name.substr(0, 100) + "\"");
    }
    if (std::find(columns.begin(), columns.end(), *column) == columns.end()) {
      columns.push_back(*column);
    }
  }
  std::sort(columns.begin(), columns.end());
  return columns;
}

RowsRequest ParseRowsRequest(const ApiTable& table, const QueryParams& params,
                             int64_t max_page_size) {
  RowsRequest request;
  request.limit = ParseLimit(params, max_page_size);
  request.columns = ParseFields(table, params);
  if (const auto cursor = params.find("cursor"); cursor != params.end()) {
    request.after =
        DecodeCursor("rows:" + table.schema + "." + table.target, cursor->second, table.key.size());
  }
  static const std::vector<std::pair<std::string, FilterOp>> kSuffixes = {
      {"__gte", FilterOp::kGte}, {"__gt", FilterOp::kGt}, {"__lte", FilterOp::kLte},
      {"__lt", FilterOp::kLt},   {"__in", FilterOp::kIn}, {"__null", FilterOp::kNull}};
  for (const auto& [name, value] : params) {
    if (name == "limit" || name == "cursor" || name == "fields" || name == "include_meta") {
      continue;
    }
    Filter filter;
    std::string column_name = name;
    for (const auto& [suffix, op] : kSuffixes) {
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        column_name = name.substr(0, name.size() - suffix.size());
        filter.op = op;
        break;
      }
    }
    const std::optional<size_t> column = table.Find(column_name);
    if (!column)
      BadValue(name.substr(0, 100), "unknown parameter or column \"" + name.substr(0, 100) + "\"");
    filter.column = *column;
    const ApiColumn& meta = table.columns[*column];
    if (filter.op == FilterOp::kNull) {
      if (value != "true" && value != "false") BadValue(name, name + " must be true or false");
      filter.values = {value};
    } else if (filter.op == FilterOp::kIn) {
      const std::vector<std::string> values = Split(value, ',');
      if (values.size() > kMaxInValues) {
        throw ApiError(ErrorCode::kRange,
                       name + " takes at most " + std::to_string(kMaxInValues) + " values",
                       {{"parameter", name}});
      }
      for (const std::string& v : values) filter.values.push_back(Parsed(meta, name, v));
    } else {
      filter.values = {Parsed(meta, name, value)};
    }
    request.filters.push_back(std::move(filter));
  }
  return request;
}

std::vector<std::string> ParseKeyPath(const ApiTable& table, std::string_view raw) {
  const std::vector<std::string> parts = Split(raw, ',');
  if (parts.size() != table.key.size()) {
    BadValue("key", "the key of " + table.target + " has " + std::to_string(table.key.size()) +
                        " column(s); give the values joined by ','");
  }
  std::vector<std::string> key;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::optional<std::string> decoded = PercentDecode(parts[i]);
    if (!decoded) BadValue("key", "malformed percent-encoding in the key");
    key.push_back(Parsed(table.columns[table.key[i]], "key", *decoded));
  }
  return key;
}

std::string LimitClause(int64_t rows) {
  if (rows < 1) throw std::invalid_argument("LimitClause: rows must be positive");
  return " LIMIT " + std::to_string(rows);
}

Statement RowsStatement(const ApiTable& table, const RowsRequest& request) {
  Statement statement;
  std::string where = "TRUE" + NotDeleted(table);
  for (const Filter& filter : request.filters) {
    const ApiColumn& column = table.columns[filter.column];
    const std::string lhs = CompareColumn(column.kind, Q(column.name));
    switch (filter.op) {
      case FilterOp::kEq:
        where += " AND " + lhs + " = " + Bind(statement, column.kind, filter.values[0]);
        break;
      case FilterOp::kGt:
        where += " AND " + lhs + " > " + Bind(statement, column.kind, filter.values[0]);
        break;
      case FilterOp::kGte:
        where += " AND " + lhs + " >= " + Bind(statement, column.kind, filter.values[0]);
        break;
      case FilterOp::kLt:
        where += " AND " + lhs + " < " + Bind(statement, column.kind, filter.values[0]);
        break;
      case FilterOp::kLte:
        where += " AND " + lhs + " <= " + Bind(statement, column.kind, filter.values[0]);
        break;
      case FilterOp::kIn:
        statement.params.emplace_back(pg::ArrayLiteral(filter.values));
        where += " AND " + lhs + " = ANY(" +
                 CastParam(column.kind, static_cast<int>(statement.params.size())) + "[])";
        break;
      case FilterOp::kNull:
        where +=
            " AND " + Q(column.name) + (filter.values[0] == "true" ? " IS NULL" : " IS NOT NULL");
        break;
    }
  }
  if (request.after) {
    std::string left;
    std::string right;
    for (size_t i = 0; i < table.key.size(); ++i) {
      const ApiColumn& column = table.columns[table.key[i]];
      left += (i ? ", " : "") + CompareColumn(column.kind, Q(column.name));
      right += (i ? ", " : "") + Bind(statement, column.kind, (*request.after)[i]);
    }
    where += " AND (" + left + ") > (" + right + ")";
  }
  statement.sql = "SELECT " + SelectList(table, request.columns) + " FROM " + Qualified(table) +
                  " WHERE " + where + " ORDER BY " + KeyOrder(table) +
                  LimitClause(request.limit + 1);
  return statement;
}

Statement KeysStatement(const ApiTable& table, const std::vector<size_t>& columns,
                        const std::vector<std::vector<std::string>>& keys) {
  // unnest(...) WITH ORDINALITY numbers the keys; everything else is qualified with the table's
  // alias so no column name can clash with the key list's.
  Statement statement;
  std::string arrays;
  std::string names;
  std::string match;
  for (size_t i = 0; i < table.key.size(); ++i) {
    const ApiColumn& column = table.columns[table.key[i]];
    std::vector<std::string> values;
    values.reserve(keys.size());
    for (const std::vector<std::string>& key : keys) values.push_back(key[i]);
    statement.params.emplace_back(pg::ArrayLiteral(values));
    const std::string name = "k" + std::to_string(i);
    arrays += (i ? ", " : "") + CastParam(column.kind, static_cast<int>(i) + 1) + "[]";
    names += name + ", ";
    match +=
        (i ? " AND " : "") + CompareColumn(column.kind, "t." + Q(column.name)) + " = k." + name;
  }
  std::string select = "k.n";
  for (const size_t k : table.key) select += ", t." + Q(table.columns[k].name);
  for (const size_t c : columns) select += ", t." + Q(table.columns[c].name);
  statement.sql = "SELECT " + select + " FROM unnest(" + arrays + ") WITH ORDINALITY AS k(" +
                  names + "n) JOIN " + Qualified(table) + " t ON " + match +
                  (table.HasColumn("_cdc_deleted_at") ? " WHERE t._cdc_deleted_at IS NULL" : "");
  return statement;
}

Statement ChangesStatement(const ApiTable& table, int64_t after_seq, int64_t limit) {
  Statement statement;
  std::vector<size_t> data;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (!table.columns[c].meta) data.push_back(c);
  }
  statement.params = {std::to_string(after_seq)};
  statement.sql = "SELECT " + SelectList(table, data) + ", _cdc_seq, _cdc_op, _cdc_source_ts, " +
                  (table.HasColumn("_cdc_deleted_at") ? "_cdc_deleted_at IS NOT NULL" : "false") +
                  " FROM " + Qualified(table) + " WHERE _cdc_seq > $1::bigint ORDER BY _cdc_seq" +
                  LimitClause(limit);
  return statement;
}

Statement TombstonesStatement(const ApiTable& table, int64_t after_seq, int64_t limit) {
  Statement statement;
  statement.params = {table.schema, table.target, std::to_string(after_seq)};
  statement.sql =
      "SELECT key, seq, source_ts FROM cdc.tombstones WHERE target_schema = $1 AND"
      " target_table = $2 AND seq > $3::bigint ORDER BY seq" +
      LimitClause(limit);
  return statement;
}

}  // namespace cdc::api

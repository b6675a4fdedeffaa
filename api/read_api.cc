#include "api/read_api.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "api/cursor.h"
#include "api/result_json.h"
#include "common/error.h"
#include "common/json/codec.h"

namespace cdc::api {
namespace {

constexpr auto kPollEvery = std::chrono::milliseconds(200);

// An object of `columns` from result row `row`, whose fields start at `first`, written as JSON
// text; members in the order of `columns`.
void AppendRowJson(std::string& out, const ApiTable& table, const pg::Result& result, int row,
                   int first, const std::vector<size_t>& columns) {
  out += '{';
  for (size_t i = 0; i < columns.size(); ++i) {
    const ApiColumn& column = table.columns[columns[i]];
    const int field = first + static_cast<int>(i);
    if (i > 0) out += ',';
    json::AppendString(column.name, out);
    out += ':';
    if (result.IsNull(row, field)) {
      out += "null";
    } else {
      AppendJson(out, column.kind, result.Get(row, field));
    }
  }
  out += '}';
}

std::vector<std::string> KeyTexts(const ApiTable& table, const pg::Result& result, int row) {
  std::vector<std::string> key;
  for (size_t i = 0; i < table.key.size(); ++i) {
    key.emplace_back(result.Get(row, static_cast<int>(i)));
  }
  return key;
}

void AppendTimestamp(std::string& out, const pg::Result& result, int row, int column) {
  if (result.IsNull(row, column)) {
    out += "null";
  } else {
    AppendJson(out, ValueKind::kTimestampTz, result.Get(row, column));
  }
}

int64_t IntParam(const QueryParams& params, const std::string& name, int64_t fallback, int64_t min,
                 int64_t max) {
  const auto found = params.find(name);
  if (found == params.end()) return fallback;
  int64_t value = 0;
  const std::string& text = found->second;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range ||
      (error == std::errc() && end == text.data() + text.size() && (value < min || value > max))) {
    throw ApiError(ErrorCode::kRange,
                   name + " must be between " + std::to_string(min) + " and " + std::to_string(max),
                   {{"parameter", name}});
  }
  if (error != std::errc() || end != text.data() + text.size()) {
    throw ApiError(ErrorCode::kFormat, name + " must be an integer", {{"parameter", name}});
  }
  return value;
}

}  // namespace

void OnlyParams(const QueryParams& params, std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : params) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      throw ApiError(ErrorCode::kFormat, "unknown parameter \"" + name.substr(0, 100) + "\"",
                     {{"parameter", name.substr(0, 100)}});
    }
  }
}

ReadApi::ReadApi(const ApiSettings& settings, ConnectionPool& pool, TableCatalog& catalog,
                 Clock& clock)
    : settings_(settings),
      pool_(pool),
      catalog_(catalog),
      clock_(clock),
      key_batcher_([this](const Statement& statement) { return Run(statement); },
                   kMaxKeysPerStatement) {}

pg::Result ReadApi::Run(const Statement& statement) {
  try {
    return WithConnection([&](pg::Connection& connection) {
      return connection.ExecPrepared(statement.sql, statement.params);
    });
  } catch (const TransientError& e) {
    if (e.code() == "57014") {
      throw ApiError(ErrorCode::kTimeout, "the query took longer than api.statement_timeout_ms");
    }
    throw ApiError(ErrorCode::kUnavailable, "the database is unavailable; retry later");
  } catch (const PermanentError& e) {
    if (e.code().rfind("22", 0) == 0) {
      throw ApiError(ErrorCode::kFormat, "a value is not valid for its column");
    }
    if (e.code() == "42501") {  // retrying cannot help: the role lacks a grant
      throw ApiError(ErrorCode::kForbidden,
                     "the API's PostgreSQL role may not read what this asks for (GRANT SELECT on "
                     "the replica schema and on cdc.* to it)");
    }
    if (e.code().rfind("42", 0) == 0) {
      catalog_.Invalidate();  // the table changed under the cached shape
      throw ApiError(ErrorCode::kUnavailable, "the table is changing; retry");
    }
    throw;
  }
}

std::shared_ptr<const ApiTable> ReadApi::Table(std::string_view name) {
  std::shared_ptr<const ApiTable> table = catalog_.Cached(name);
  if (table) return table;
  try {
    table =
        WithConnection([&](pg::Connection& connection) { return catalog_.Find(connection, name); });
  } catch (const TransientError&) {
    throw ApiError(ErrorCode::kUnavailable, "the database is unavailable; retry later");
  }
  if (!table) {
    throw ApiError(ErrorCode::kNotFound,
                   "no replicated table \"" + std::string(name.substr(0, 200)) + "\"",
                   {{"table", std::string(name.substr(0, 200))}});
  }
  return table;
}

nlohmann::json ReadApi::TablesJson() {
  Statement statement;
  statement.params = {settings_.target_schema};
  statement.sql =
      // reltuples is -1 until the table was first vacuumed or analysed (0 when that found it
      // empty): the statistics' live tuple count stands in until it counts rows.
      "SELECT t.target_table, t.source_table, t.topic,"
      " (CASE WHEN c.reltuples > 0 THEN c.reltuples"
      "  ELSE COALESCE(pg_stat_get_live_tuples(c.oid), 0) END)::bigint,"
      " t.last_seq, t.last_source_ts, t.last_applied_at, t.rows_applied, t.deletes_applied, " +
      HasChangeFeedIndexSql("c") +
      " FROM cdc.tables t LEFT JOIN pg_namespace n ON n.nspname = t.target_schema"
      " LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.target_table"
      " WHERE t.target_schema = $1 ORDER BY t.target_table";
  const pg::Result rows = Run(statement);
  nlohmann::json tables = nlohmann::json::array();
  for (int i = 0; i < rows.rows(); ++i) {
    tables.push_back({{"table", rows.Get(i, 0)},
                      {"source", rows.Get(i, 1)},
                      {"topic", rows.Get(i, 2)},
                      {"row_estimate", Int(rows, i, 3)},
                      {"last_seq", Int(rows, i, 4)},
                      {"last_source_ts", Timestamp(rows, i, 5)},
                      {"last_applied_at", Timestamp(rows, i, 6)},
                      {"rows_applied", Int(rows, i, 7)},
                      {"deletes_applied", Int(rows, i, 8)},
                      {"change_feed", rows.Get(i, 9) == "t"}});
  }
  return tables;
}

Reply ReadApi::Tables() { return {DumpJson(TablesJson()), std::nullopt}; }

Reply ReadApi::Rows(std::string_view name, const QueryParams& params) {
  const std::shared_ptr<const ApiTable> table = Table(name);
  const RowsRequest request = ParseRowsRequest(*table, params, settings_.max_page_size);
  const pg::Result result = Run(RowsStatement(*table, request));
  const int served = std::min<int>(result.rows(), static_cast<int>(request.limit));
  std::string rows = "[";
  rows.reserve(static_cast<size_t>(served) * 64 * request.columns.size());
  for (int i = 0; i < served; ++i) {
    if (i > 0) rows += ',';
    AppendRowJson(rows, *table, result, i, static_cast<int>(table->key.size()), request.columns);
  }
  rows += ']';
  Pagination page{request.limit, std::nullopt, result.rows() > request.limit};
  if (page.has_more && served > 0) {
    page.next_cursor = EncodeCursor("rows:" + table->schema + "." + table->target,
                                    KeyTexts(*table, result, served - 1));
  }
  return {std::move(rows), page};
}

Reply ReadApi::Row(std::string_view name, std::string_view raw_key, const QueryParams& params) {
  const RowLookup lookup = PrepareRow(name, raw_key, params);
  KeyBatcher::KeyLookup outcome;
  outcome.key = &lookup.key;
  key_batcher_.AnswerAll(lookup.table, lookup.columns, {&outcome});
  if (outcome.failure) std::rethrow_exception(outcome.failure);
  if (outcome.error) throw *outcome.error;
  return RowReply(lookup, outcome.found);
}

ReadApi::RowLookup ReadApi::PrepareRow(std::string_view name, std::string_view raw_key,
                                       const QueryParams& params) {
  OnlyParams(params, {"fields", "include_meta"});
  RowLookup lookup;
  lookup.table = Table(name);
  lookup.columns = ParseFields(*lookup.table, params);
  lookup.key = ParseKeyPath(*lookup.table, raw_key);
  return lookup;
}

Reply ReadApi::RowReply(const RowLookup& lookup, const KeyBatcher::Found& found) {
  if (!found.result) {
    throw ApiError(ErrorCode::kNotFound, "no row with this key in " + lookup.table->target);
  }
  // Fields: the key's position in its batch, the key columns, then `columns`.
  std::string row;
  AppendRowJson(row, *lookup.table, *found.result, found.row,
                1 + static_cast<int>(lookup.table->key.size()), lookup.columns);
  return {std::move(row), std::nullopt};
}

Reply ReadApi::Changes(std::string_view name, const QueryParams& params, std::stop_token stop) {
  OnlyParams(params, {"after_seq", "limit", "wait_ms"});
  const std::shared_ptr<const ApiTable> table = Table(name);
  if (!table->HasColumn("_cdc_seq")) {
    throw ApiError(ErrorCode::kNotFound, table->target + " has no change metadata");
  }
  if (!table->change_feed) {
    // Without the index every page would scan the whole table.
    throw ApiError(ErrorCode::kNotFound, table->target +
                                             " has no change feed: set consumer.change_feed: true"
                                             " (the consumer then indexes _cdc_seq)");
  }
  const int64_t after = IntParam(params, "after_seq", 0, 0, INT64_MAX);
  const int64_t limit = ParseLimit(params, settings_.max_page_size);
  const int64_t wait_ms = IntParam(params, "wait_ms", 0, 0, kMaxWaitMs);
  const auto deadline = clock_.Now() + std::chrono::milliseconds(wait_ms);
  std::vector<size_t> data;
  for (size_t c = 0; c < table->columns.size(); ++c) {
    if (!table->columns[c].meta) data.push_back(c);
  }
  std::vector<size_t> key_columns(table->key.begin(), table->key.end());
  while (true) {
    const pg::Result rows = Run(ChangesStatement(*table, after, limit));
    const pg::Result deletes = Run(TombstonesStatement(*table, after, limit));
    // Merge both in seq order and keep the first `limit`. Each change is written as JSON text,
    // members in name order: key (deletes) or row, op, seq, source_ts.
    struct Change {
      int64_t seq;
      std::string json;
    };
    std::vector<Change> changes;
    const int first_meta = static_cast<int>(table->key.size() + data.size());
    for (int i = 0; i < rows.rows(); ++i) {
      const int64_t seq = rows.GetInt(i, first_meta);
      const bool deleted = rows.Get(i, first_meta + 3) == "t";
      std::string text = "{";
      if (deleted) {
        text += "\"key\":";
        AppendRowJson(text, *table, rows, i, 0, key_columns);
        text += ",\"op\":\"d\"";
      } else {
        text += "\"op\":";
        json::AppendString(rows.Get(i, first_meta + 1), text);
        text += ",\"row\":";
        AppendRowJson(text, *table, rows, i, static_cast<int>(table->key.size()), data);
      }
      text += ",\"seq\":" + std::to_string(seq) + ",\"source_ts\":";
      AppendTimestamp(text, rows, i, first_meta + 2);
      text += '}';
      changes.push_back({seq, std::move(text)});
    }
    for (int i = 0; i < deletes.rows(); ++i) {
      const nlohmann::json parts = nlohmann::json::parse(deletes.Get(i, 0), nullptr, false);
      std::string text = "{\"key\":{";
      for (size_t k = 0; k < table->key.size(); ++k) {
        const ApiColumn& column = table->columns[table->key[k]];
        if (k > 0) text += ',';
        json::AppendString(column.name, text);
        text += ':';
        if (parts.is_array() && k < parts.size() && parts[k].is_string()) {
          AppendJson(text, column.kind, parts[k].get<std::string>());
        } else {
          text += "null";
        }
      }
      const int64_t seq = deletes.GetInt(i, 1);
      text += "},\"op\":\"d\",\"seq\":" + std::to_string(seq) + ",\"source_ts\":";
      AppendTimestamp(text, deletes, i, 2);
      text += '}';
      changes.push_back({seq, std::move(text)});
    }
    std::stable_sort(changes.begin(), changes.end(),
                     [](const Change& a, const Change& b) { return a.seq < b.seq; });
    if (changes.size() > static_cast<size_t>(limit)) changes.resize(static_cast<size_t>(limit));
    if (!changes.empty() || clock_.Now() >= deadline || stop.stop_requested()) {
      std::string body = "{\"changes\":[";
      int64_t next = after;
      for (size_t c = 0; c < changes.size(); ++c) {
        if (c > 0) body += ',';
        body += changes[c].json;
        next = changes[c].seq;
      }
      body += "],\"next_after_seq\":" + std::to_string(next) + "}";
      return {std::move(body), std::nullopt};
    }
    const auto left = deadline - clock_.Now();
    clock_.SleepFor(std::min<Clock::Duration>(left, kPollEvery), stop);
  }
}

std::optional<std::string> ReadApi::NotReady() {
  try {
    const pg::Result result = WithConnection([](pg::Connection& connection) {
      return connection.ExecPrepared("SELECT to_regclass('cdc.tables') IS NOT NULL", {});
    });
    if (result.Get(0, 0) != "t") return std::string("the cdc schema does not exist yet");
    return std::nullopt;
  } catch (const Error& e) {
    return std::string("PostgreSQL: ") + e.what();
  }
}

}  // namespace cdc::api

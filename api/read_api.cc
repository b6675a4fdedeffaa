#include "api/read_api.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "api/cursor.h"
#include "common/error.h"
#include "common/json/codec.h"
#include "common/pg/dead_letters.h"

namespace cdc::api {
namespace {

constexpr auto kAcquireWait = std::chrono::seconds(5);
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

nlohmann::json Timestamp(const pg::Result& result, int row, int column) {
  return result.IsNull(row, column) ? nlohmann::json(nullptr)
                                    : ToJson(ValueKind::kTimestampTz, result.Get(row, column));
}

nlohmann::json Int(const pg::Result& result, int row, int column) {
  return result.IsNull(row, column) ? nlohmann::json(nullptr)
                                    : nlohmann::json(result.GetInt(row, column));
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

template <typename Fn>
auto ReadApi::WithConnection(Fn&& fn) {
  for (int attempt = 0;; ++attempt) {
    ConnectionPool::Lease connection = pool_.Acquire(kAcquireWait);
    try {
      return fn(*connection);
    } catch (const TransientError& e) {
      // A pooled connection the server dropped (restart, idle timeout): the lease discards it;
      // one more try on a fresh connection.
      if (attempt > 0 || connection->healthy() || e.code().rfind("08", 0) != 0) throw;
    }
  }
}

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

Reply ReadApi::Status() {
  nlohmann::json status = {{"tables", TablesJson()}};
  // Per table: the lag the consumers applying to this schema measured last (cdc.partition_lag:
  // every partition of the table's topic, held by a member or not).
  Statement lag;
  lag.params = {settings_.target_schema};
  lag.sql =
      "SELECT topic, LEAST(sum(GREATEST(end_offset::numeric - next_offset, 0)),"
      " 9223372036854775807)::bigint,"
      " GREATEST(COALESCE(EXTRACT(EPOCH FROM now() - min(behind_since)), 0), 0)::float8,"
      " max(observed_at) FROM cdc.partition_lag WHERE target_schema = $1 GROUP BY topic";
  const pg::Result lags = Run(lag);
  for (nlohmann::json& table : status["tables"]) {
    table["lag"] = nullptr;
    for (int i = 0; i < lags.rows(); ++i) {
      if (lags.Get(i, 0) != table["topic"].get<std::string>()) continue;
      table["lag"] = {{"records", lags.GetInt(i, 1)},
                      {"seconds", ToJson(ValueKind::kFloat, lags.Get(i, 2))},
                      {"measured_at", Timestamp(lags, i, 3)}};
    }
  }
  Statement offsets;
  offsets.sql =
      "SELECT group_id, topic, partition, COALESCE(o.next_offset, l.next_offset), o.updated_at,"
      " l.end_offset,"
      " LEAST(GREATEST(l.end_offset::numeric - l.next_offset, 0), 9223372036854775807)::bigint,"
      " l.behind_since, l.observed_at"
      " FROM cdc.offsets o FULL JOIN cdc.partition_lag l USING (group_id, topic, partition)"
      " ORDER BY group_id, topic, partition";
  const pg::Result partitions = Run(offsets);
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < partitions.rows(); ++i) {
    list.push_back({{"group", partitions.Get(i, 0)},
                    {"topic", partitions.Get(i, 1)},
                    {"partition", partitions.GetInt(i, 2)},
                    {"next_offset", Int(partitions, i, 3)},
                    {"updated_at", Timestamp(partitions, i, 4)},
                    {"end_offset", Int(partitions, i, 5)},
                    {"lag", Int(partitions, i, 6)},
                    {"behind_since", Timestamp(partitions, i, 7)},
                    {"measured_at", Timestamp(partitions, i, 8)}});
  }
  status["partitions"] = std::move(list);
  Statement letters;
  letters.params = {settings_.target_schema};
  letters.sql =
      "SELECT COALESCE(d.target_table, (SELECT t.target_table FROM cdc.tables t"
      " WHERE t.target_schema = $1 AND t.topic = d.topic ORDER BY 1 LIMIT 1), ''), error_class,"
      " count(*) FILTER (WHERE redriven_at IS NULL AND discarded_at IS NULL), count(*)"
      " FROM cdc.dead_letters d GROUP BY 1, 2 ORDER BY 1, 2";
  const pg::Result grouped = Run(letters);
  nlohmann::json dead = nlohmann::json::array();
  for (int i = 0; i < grouped.rows(); ++i) {
    dead.push_back({{"table", grouped.Get(i, 0).empty() ? nlohmann::json(nullptr)
                                                        : nlohmann::json(grouped.Get(i, 0))},
                    {"class", grouped.Get(i, 1)},
                    {"open", grouped.GetInt(i, 2)},
                    {"total", grouped.GetInt(i, 3)}});
  }
  status["dead_letters"] = std::move(dead);
  Statement last;
  last.params = {settings_.target_schema};
  last.sql =
      "SELECT EXTRACT(EPOCH FROM now() - max(last_applied_at))::float8 FROM cdc.tables"
      " WHERE target_schema = $1";
  const pg::Result since = Run(last);
  status["seconds_since_last_apply"] =
      since.IsNull(0, 0) ? nlohmann::json(nullptr) : ToJson(ValueKind::kFloat, since.Get(0, 0));
  return {DumpJson(status), std::nullopt};
}

Reply ReadApi::DeadLetters(const QueryParams& params) {
  OnlyParams(params, {"limit", "cursor", "table", "class", "state", "include_payload"});
  const int64_t limit = ParseLimit(params, settings_.max_page_size);
  bool payload = false;
  if (const auto found = params.find("include_payload"); found != params.end()) {
    if (found->second != "true" && found->second != "false") {
      throw ApiError(ErrorCode::kFormat, "include_payload must be true or false",
                     {{"parameter", "include_payload"}});
    }
    payload = found->second == "true";
  }
  Statement statement;
  const auto optional = [&](const char* name) -> pg::Param {
    const auto found = params.find(name);
    return found == params.end() ? std::nullopt : pg::Param(found->second);
  };
  pg::Param before;
  if (const auto cursor = params.find("cursor"); cursor != params.end()) {
    before = DecodeCursor("dead-letters", cursor->second, 1)[0];
  }
  const pg::Param state = optional("state");
  if (state && *state != "open" && *state != "redriven" && *state != "discarded") {
    throw ApiError(ErrorCode::kFormat, "state must be open, redriven or discarded",
                   {{"parameter", "state"}});
  }
  statement.params = {optional("table"), optional("class"), before, state, settings_.target_schema};
  // A letter stored without its table (a record that could not be decoded, before its topic's
  // table existed) has the table its topic is applied to.
  statement.sql =
      std::string("SELECT * FROM (SELECT id, group_id, topic, partition, \"offset\", key, value,") +
      " headers::text, source_table, COALESCE(target_table, (SELECT t.target_table FROM"
      " cdc.tables t WHERE t.target_schema = $5 AND t.topic = d.topic ORDER BY 1 LIMIT 1))"
      " AS target_table, stage, error_class, error_code, error_message, failed_at, redriven_at,"
      " redrive_count, " +
      pg::kDeadLetterStateSql +
      " AS state, discarded_at, discarded_by, discard_reason FROM cdc.dead_letters d"
      " WHERE ($3::bigint IS NULL OR id < $3::bigint)"
      " AND ($2::text IS NULL OR error_class = $2)) l"
      " WHERE ($1::text IS NULL OR target_table = $1) AND ($4::text IS NULL OR state = $4)"
      " ORDER BY id DESC" +
      LimitClause(limit + 1);
  const pg::Result rows = Run(statement);
  const int served = std::min<int>(rows.rows(), static_cast<int>(limit));
  nlohmann::json list = nlohmann::json::array();
  const auto text = [&](int i, int c) {
    return rows.IsNull(i, c) ? nlohmann::json(nullptr) : nlohmann::json(rows.Get(i, c));
  };
  for (int i = 0; i < served; ++i) {
    nlohmann::json letter = {{"id", rows.GetInt(i, 0)},
                             {"group", rows.Get(i, 1)},
                             {"topic", rows.Get(i, 2)},
                             {"partition", rows.GetInt(i, 3)},
                             {"offset", rows.GetInt(i, 4)},
                             {"headers", nlohmann::json::parse(rows.Get(i, 7), nullptr, false)},
                             {"source_table", text(i, 8)},
                             {"target_table", text(i, 9)},
                             {"stage", rows.Get(i, 10)},
                             {"error_class", rows.Get(i, 11)},
                             {"error_code", text(i, 12)},
                             {"error_message", rows.Get(i, 13)},
                             {"failed_at", Timestamp(rows, i, 14)},
                             {"redriven_at", Timestamp(rows, i, 15)},
                             {"redrive_count", rows.GetInt(i, 16)},
                             {"state", rows.Get(i, 17)},
                             {"discarded_at", Timestamp(rows, i, 18)},
                             {"discarded_by", text(i, 19)},
                             {"discard_reason", text(i, 20)}};
    if (payload) {
      letter["key"] =
          rows.IsNull(i, 5) ? nlohmann::json(nullptr) : ToJson(ValueKind::kBytes, rows.Get(i, 5));
      letter["value"] =
          rows.IsNull(i, 6) ? nlohmann::json(nullptr) : ToJson(ValueKind::kBytes, rows.Get(i, 6));
    }
    list.push_back(std::move(letter));
  }
  Pagination page{limit, std::nullopt, rows.rows() > limit};
  if (page.has_more && served > 0) {
    page.next_cursor = EncodeCursor("dead-letters", {std::string(rows.Get(served - 1, 0))});
  }
  return {DumpJson(list), page};
}

Reply ReadApi::DiscardDeadLetter(std::string_view raw_id, std::string_view body,
                                 const std::string& by) {
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(raw_id.data(), raw_id.data() + raw_id.size(), id);
  if (ec != std::errc() || end != raw_id.data() + raw_id.size() || id <= 0) {
    throw ApiError(ErrorCode::kFormat, "the dead letter id must be a positive integer",
                   {{"parameter", "id"}});
  }
  const nlohmann::json request = nlohmann::json::parse(body, nullptr, false);
  if (!request.is_object() || !request.contains("reason") || !request["reason"].is_string() ||
      request.size() != 1) {
    throw ApiError(ErrorCode::kMissing, "the body must be {\"reason\": \"why it can never apply\"}",
                   {{"parameter", "reason"}});
  }
  const std::string reason = request["reason"].get<std::string>();
  const bool control = std::any_of(reason.begin(), reason.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t' && c != '\n' && c != '\r') || byte == 0x7F;
  });
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos ||
      reason.size() > pg::kMaxDiscardReason || control) {
    throw ApiError(ErrorCode::kRange,
                   "the reason must say why, in at most 1000 bytes of text (no control "
                   "characters)",
                   {{"parameter", "reason"}});
  }
  std::optional<std::string> before;
  try {
    before = WithConnection([&](pg::Connection& connection) {
      return pg::DiscardDeadLetter(connection, id, std::nullopt, reason, by);
    });
  } catch (const TransientError& e) {
    if (e.code() == "57014") {
      throw ApiError(ErrorCode::kTimeout, "the discard took longer than api.statement_timeout_ms");
    }
    throw ApiError(ErrorCode::kUnavailable, "the database is unavailable; retry later");
  } catch (const PermanentError& e) {
    if (e.code() == "42501" || e.code() == "25006") {
      throw ApiError(ErrorCode::kForbidden,
                     "the API's PostgreSQL role may not read and update cdc.dead_letters"
                     " (GRANT SELECT, UPDATE ON cdc.dead_letters to it to allow discards)");
    }
    throw;
  }
  if (!before) throw ApiError(ErrorCode::kNotFound, "no such dead letter", {{"id", id}});
  if (*before == "redriven") {
    throw ApiError(ErrorCode::kConflict, "the dead letter was redriven (applied)",
                   {{"id", id}, {"state", "redriven"}});
  }
  return {DumpJson({{"id", id}, {"state", "discarded"}, {"was", *before}}), std::nullopt};
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

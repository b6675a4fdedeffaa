// The pipeline's own state over cdc.*: GET /api/v1/status, GET /api/v1/dead-letters and
// POST /api/v1/dead-letters/{id}/discard (ReadApi members; the table reads are in read_api.cc).
#include <algorithm>
#include <charconv>

#include "api/cursor.h"
#include "api/read_api.h"
#include "api/result_json.h"
#include "common/error.h"
#include "common/pg/dead_letters.h"

namespace cdc::api {

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

}  // namespace cdc::api

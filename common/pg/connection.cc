#include "common/pg/connection.h"

#include <libpq-fe.h>

#include <charconv>

#include "common/error.h"
#include "common/redact.h"

namespace cdc::pg {
namespace {

// SQLSTATE for failures that have none from the server (the connection is gone).
constexpr const char* kConnectionFailure = "08006";

std::string Trimmed(const char* text) {
  std::string out = text == nullptr ? "" : text;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

void Result::Deleter::operator()(pg_result* result) const { PQclear(result); }

Result::Result(pg_result* result) : result_(result) {}
int Result::rows() const { return PQntuples(result_.get()); }
int Result::columns() const { return PQnfields(result_.get()); }
bool Result::IsNull(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}
std::string_view Result::Get(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<size_t>(PQgetlength(result_.get(), row, column))};
}
std::optional<std::string> Result::Optional(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return std::string(Get(row, column));
}
int64_t Result::GetInt(int row, int column) const {
  const std::string_view text = Get(row, column);
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw PermanentError("RESULT", "expected an integer in column " + ColumnName(column) +
                                       ", got \"" + std::string(text) + "\"");
  }
  return value;
}
std::string Result::ColumnName(int column) const {
  const char* name = PQfname(result_.get(), column);
  return name == nullptr ? "?" : name;
}
int64_t Result::affected() const {
  const char* text = PQcmdTuples(result_.get());
  int64_t value = 0;
  if (text != nullptr) std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

Connection::Connection(const std::string& url, const std::string& application_name,
                       std::optional<Logger> notices)
    : notices_(std::move(notices)) {
  const char* keys[] = {"dbname", "application_name", "connect_timeout", nullptr};
  const char* values[] = {url.c_str(), application_name.c_str(), "10", nullptr};
  // expand_dbname=1: `dbname` may be a full URL or key=value string whose settings win.
  conn_ = PQconnectdbParams(keys, values, 1);
  if (conn_ == nullptr) throw TransientError("08001", "PostgreSQL: out of memory connecting");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string message = RedactSecrets(Trimmed(PQerrorMessage(conn_)));
    PQfinish(conn_);
    conn_ = nullptr;
    throw TransientError("08001",
                         "PostgreSQL: cannot connect to " + RedactSecrets(url) + ": " + message);
  }
  PQsetNoticeReceiver(conn_, &Connection::OnNotice, this);
  // Replicated timestamps are UTC; the session must not shift them.
  Exec("SET TIME ZONE 'UTC'");
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

void Connection::OnNotice(void* self, const pg_result* notice) {
  const auto* connection = static_cast<const Connection*>(self);
  if (!connection->notices_) return;
  auto field = [notice](int code) {
    const char* text = PQresultErrorField(notice, code);
    return std::string_view(text == nullptr ? "" : text);
  };
  const std::string_view severity = field(PG_DIAG_SEVERITY_NONLOCALIZED);
  LogLevel level = LogLevel::kInfo;
  if (severity == "WARNING") level = LogLevel::kWarn;
  if (severity == "DEBUG" || severity == "LOG") level = LogLevel::kDebug;
  connection->notices_->Log(level, field(PG_DIAG_MESSAGE_PRIMARY),
                            {{"pg_severity", severity}, {"sqlstate", field(PG_DIAG_SQLSTATE)}});
}

bool Connection::healthy() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }
int Connection::backend_pid() const { return PQbackendPID(conn_); }

void Connection::ThrowLastError(const std::string& context, pg_result* result) {
  std::string sqlstate;
  std::string message;
  if (result != nullptr) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (state != nullptr) sqlstate = state;
    message = Trimmed(PQresultErrorMessage(result));
    PQclear(result);
  }
  if (message.empty()) message = Trimmed(PQerrorMessage(conn_));
  // No SQLSTATE or a broken connection: no answer from the server, whatever the message said.
  if (sqlstate.empty() || PQstatus(conn_) != CONNECTION_OK) sqlstate = kConnectionFailure;
  ThrowError(ClassifySqlState(sqlstate), sqlstate, context + ": " + RedactSecrets(message));
}

Result Connection::Check(pg_result* result, std::string_view sql) {
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
    return Result(result);
  }
  std::string context = "PostgreSQL";
  if (!sql.empty()) {
    context += " (" + std::string(sql.substr(0, 120)) + (sql.size() > 120 ? "…" : "") + ")";
  }
  ThrowLastError(context, result);
}

Result Connection::Exec(std::string_view sql) {
  const std::string text(sql);
  return Check(PQexec(conn_, text.c_str()), sql);
}

Result Connection::Exec(const std::string& sql, const std::vector<Param>& params) {
  std::vector<const char*> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i] ? params[i]->c_str() : nullptr;
  }
  return Check(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                            values.data(), nullptr, nullptr, 0),
               sql);
}

Result Connection::ExecPrepared(const std::string& sql, const std::vector<Param>& params) {
  auto found = prepared_.find(sql);
  if (found == prepared_.end()) {
    if (prepared_.size() >= kMaxPrepared) {
      Exec("DEALLOCATE ALL");
      prepared_.clear();
    }
    const std::string name = "cdc_" + std::to_string(prepared_.size());
    Check(PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(params.size()), nullptr),
          sql);
    found = prepared_.emplace(sql, name).first;
  }
  std::vector<const char*> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i] ? params[i]->c_str() : nullptr;
  }
  return Check(PQexecPrepared(conn_, found->second.c_str(), static_cast<int>(params.size()),
                              values.data(), nullptr, nullptr, 0),
               sql);
}

int64_t Connection::CopyIn(const std::string& copy_sql, std::string_view data) {
  pg_result* start = PQexec(conn_, copy_sql.c_str());
  if (start == nullptr || PQresultStatus(start) != PGRES_COPY_IN) {
    Check(start, copy_sql);  // throws: it was not COPY IN
    throw PermanentError("COPY", "PostgreSQL: not a COPY FROM STDIN statement: " + copy_sql);
  }
  PQclear(start);
  // Send in chunks that end on a row boundary, so the server's error context names whole rows.
  constexpr size_t kChunk = 1 << 20;
  size_t offset = 0;
  while (offset < data.size()) {
    size_t end = std::min(data.size(), offset + kChunk);
    if (end < data.size()) {
      const size_t newline = data.find('\n', end);
      end = newline == std::string_view::npos ? data.size() : newline + 1;
    }
    if (PQputCopyData(conn_, data.data() + offset, static_cast<int>(end - offset)) != 1) {
      ThrowLastError("PostgreSQL COPY", nullptr);
    }
    offset = end;
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) ThrowLastError("PostgreSQL COPY", nullptr);
  int64_t copied = 0;
  // Collect every result: the COPY's own, then the terminating null.
  std::optional<Error> failure;
  while (pg_result* result = PQgetResult(conn_)) {
    if (PQresultStatus(result) == PGRES_COMMAND_OK) {
      copied = Result(result).affected();
    } else if (!failure) {
      try {
        Check(result, copy_sql);
      } catch (const Error& e) {
        failure.emplace(e);
      }
    } else {
      PQclear(result);
    }
  }
  if (failure) ThrowError(failure->retry_class(), failure->code(), failure->what());
  return copied;
}

Transaction::Transaction(Connection& connection) : connection_(connection) {
  connection_.Exec("BEGIN");
}

Transaction::~Transaction() {
  if (!open_ || !connection_.healthy()) return;
  try {
    connection_.Exec("ROLLBACK");
  } catch (const Error&) {
    // The server rolls back a transaction whose connection is gone.
  }
}

void Transaction::Commit() {
  connection_.Exec("COMMIT");
  open_ = false;
}

void AppendCopyField(std::string& line, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\':
        line.append("\\\\");
        break;
      case '\t':
        line.append("\\t");
        break;
      case '\n':
        line.append("\\n");
        break;
      case '\r':
        line.append("\\r");
        break;
      default:
        line.push_back(c);
    }
  }
}

std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const std::string& value : values) {
    if (out.size() > 1) out.push_back(',');
    out.push_back('"');
    for (const char c : value) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

}  // namespace cdc::pg

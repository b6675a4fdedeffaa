// PostgreSQL over libpq: the one wrapper for the replica database, shared by the consumer and the
// API. RAII for PGconn/PGresult, text-format bound parameters, COPY FROM STDIN, and every failure
// turned into a cdc::Error carrying its SQLSTATE and retry class (ClassifySqlState): a lost
// connection is transient ("08006"), a bad row is permanent ("22…", "23…"), and so on.
// Not thread-safe: one connection per thread (or per pool slot).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/log.h"

struct pg_conn;
struct pg_result;

namespace cdc::pg {

// A parameter value in PostgreSQL's text format; nullopt = SQL NULL.
using Param = std::optional<std::string>;

class Result {
 public:
  explicit Result(pg_result* result);
  int rows() const;
  int columns() const;
  bool IsNull(int row, int column) const;
  // The text of a field ("" for NULL); valid while the Result lives.
  std::string_view Get(int row, int column) const;
  std::optional<std::string> Optional(int row, int column) const;
  int64_t GetInt(int row, int column) const;
  std::string ColumnName(int column) const;
  // Rows affected by an INSERT/UPDATE/DELETE (0 for other statements).
  int64_t affected() const;

 private:
  struct Deleter {
    void operator()(pg_result* result) const;
  };
  std::unique_ptr<pg_result, Deleter> result_;
};

class Connection {
 public:
  // Connects to `url` (a libpq URL or key=value string). Throws TransientError("08001") when the
  // server cannot be reached or refuses the login; the message never contains the password.
  // `application_name` shows in pg_stat_activity. The server's notices and warnings ("schema
  // ... already exists, skipping") go to `notices` as log lines (NOTICE/INFO at info, WARNING at
  // warn, DEBUG/LOG at debug, with their SQLSTATE), never raw to stderr; without a logger they
  // are dropped (tests).
  Connection(const std::string& url, const std::string& application_name,
             std::optional<Logger> notices = std::nullopt);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without parameters. Returns the last statement's result.
  Result Exec(std::string_view sql);
  // Runs one statement with text-format parameters $1..$n.
  Result Exec(const std::string& sql, const std::vector<Param>& params);
  // Like Exec, through a server-side prepared statement: the first call with a given text
  // prepares it on this connection (parse and plan once), later calls only execute. At most
  // kMaxPrepared statements are kept; beyond that all are deallocated and preparing starts over.
  Result ExecPrepared(const std::string& sql, const std::vector<Param>& params);
  static constexpr size_t kMaxPrepared = 2000;
  // Runs `copy_sql` (COPY … FROM STDIN) and sends `data`: in text format rows of tab-separated
  // fields escaped with AppendCopyField, each ending in '\n' (sent in chunks that end on a row);
  // in binary format the whole stream, header and trailer included. Returns the rows copied.
  int64_t CopyIn(const std::string& copy_sql, std::string_view data);

  // False once the connection is known to be broken (then make a new one).
  bool healthy() const;
  // The server's backend process id (for pg_terminate_backend in tests and logs).
  int backend_pid() const;

 private:
  [[noreturn]] void ThrowLastError(const std::string& context, pg_result* result);
  Result Check(pg_result* result, std::string_view sql);
  static void OnNotice(void* self, const pg_result* notice);

  const std::optional<Logger> notices_;
  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

// RAII transaction: BEGIN on construction, ROLLBACK on destruction unless Commit() ran. A
// rollback that fails (connection gone) is swallowed: the server rolls back by itself.
class Transaction {
 public:
  explicit Transaction(Connection& connection);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void Commit();
  Connection& connection() { return connection_; }

 private:
  Connection& connection_;
  bool open_ = true;
};

// Appends `value` to a COPY text-format line, escaping backslash, tab, newline and carriage
// return; AppendCopyNull appends the NULL marker.
void AppendCopyField(std::string& line, std::string_view value);
inline void AppendCopyNull(std::string& line) { line.append("\\N"); }

// A one-dimensional array literal in PostgreSQL's text format ({"a","b"}), every element quoted
// and escaped, for binding a list as one parameter (e.g. `unnest($1::text[])`).
std::string ArrayLiteral(const std::vector<std::string>& values);

}  // namespace cdc::pg

// RAII wrapper over the ODBC C API (unixODBC): the only place SQLHANDLEs exist. Errors are thrown
// as cdc::Error with the diagnostic SQLSTATE as code and its retry class; connection strings in
// messages are redacted. An Environment and its Connections are used from one thread at a time.
#pragma once

#include <sql.h>
#include <sqlext.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::odbc {

class Handle {
 public:
  Handle(SQLSMALLINT type, SQLHANDLE parent);  // throws on allocation failure
  ~Handle();
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  SQLHANDLE get() const { return handle_; }
  SQLSMALLINT type() const { return type_; }

 private:
  const SQLSMALLINT type_;
  SQLHANDLE handle_ = SQL_NULL_HANDLE;
};

// Throws the cdc::Error for a failed call on `handle`, built from its diagnostic records.
// SQL_SUCCESS_WITH_INFO and SQL_NO_DATA are not failures.
void Check(SQLRETURN rc, const Handle& handle, std::string_view context);

class Environment {
 public:
  Environment();  // ODBC 3 behaviour
  const Handle& handle() const { return handle_; }

 private:
  Handle handle_;
};

struct ColumnInfo {
  std::string name;
  SQLSMALLINT sql_type = 0;
  SQLULEN size = 0;
  SQLSMALLINT decimal_digits = 0;
  bool nullable = true;
};

// Column-wise bound result buffers for bulk fetch. Values are the drivers' text rendering.
class RowBatch {
 public:
  size_t rows() const { return rows_; }
  size_t columns() const { return columns_.size(); }
  // nullopt for SQL NULL. Valid until the next FetchBatch into this batch.
  std::optional<std::string_view> Get(size_t row, size_t column) const;
  // The buffer width of `column` in bytes, including the NUL.
  size_t width(size_t column) const { return columns_.at(column).width; }

 private:
  friend class Statement;
  struct Column {
    size_t width = 0;  // bytes per value including the NUL
    std::vector<char> data;
    std::vector<SQLLEN> indicators;
  };
  std::vector<Column> columns_;
  size_t capacity_ = 0;
  SQLULEN rows_ = 0;
};

class Connection;

class Statement {
 public:
  explicit Statement(Connection& connection);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void Prepare(std::string_view sql);
  // Parameters are 1-based and bound by value (copied); they stay bound until ClearParameters.
  void BindText(SQLUSMALLINT index, std::optional<std::string> value);
  void BindInt64(SQLUSMALLINT index, std::optional<int64_t> value);
  void BindDouble(SQLUSMALLINT index, std::optional<double> value);
  void ClearParameters();
  // Executes the prepared statement (or `sql` directly when given).
  void Execute();
  void ExecuteDirect(std::string_view sql);
  // Catalog queries (SQLColumns, SQLPrimaryKeys): the result set is read like any other. A null
  // `catalog` or `schema` means "any" (drivers without that concept ignore it).
  void CatalogColumns(const std::optional<std::string>& catalog,
                      const std::optional<std::string>& schema, const std::string& table);
  void CatalogPrimaryKeys(const std::optional<std::string>& catalog,
                          const std::optional<std::string>& schema, const std::string& table);
  // Rows affected by the last INSERT/UPDATE/DELETE.
  int64_t RowCount() const;
  std::vector<ColumnInfo> Columns() const;
  // Fetches up to `max_rows` rows into `batch` with one SQLFetch (SQL_ATTR_ROW_ARRAY_SIZE);
  // fewer when the bound buffers would exceed kMaxBatchBytes. Returns false when the result set
  // is exhausted (batch.rows() == 0). A value longer than its buffer (the driver's column size
  // or SetFetchWidths', at most `max_value_bytes`) throws PermanentError("01004") rather than
  // being silently truncated; truncated_column() then names the column.
  bool FetchBatch(RowBatch& batch, size_t max_rows, size_t max_value_bytes = 1 << 20);
  // Buffer widths in bytes per result column for the next result set (0 = from the driver's
  // column size). Drivers such as sqliteodbc report sizes that values may exceed.
  void SetFetchWidths(std::vector<size_t> widths) { fetch_widths_ = std::move(widths); }
  // The 0-based column of the last 01004 truncation error.
  std::optional<size_t> truncated_column() const { return truncated_column_; }
  static constexpr size_t kMaxBatchBytes = 64 << 20;
  void CloseCursor();

 private:
  struct Parameter {
    std::string text;
    int64_t integer = 0;
    double real = 0;
    SQLLEN indicator = 0;
  };
  void PrepareBatch(RowBatch& batch, size_t max_rows, size_t max_value_bytes);

  Handle handle_;
  std::deque<Parameter> parameters_;  // stable addresses for SQLBindParameter
  bool batch_bound_ = false;
  size_t bound_rows_ = 0;  // the max_rows the batch was bound for
  std::vector<size_t> fetch_widths_;
  std::optional<size_t> truncated_column_;
};

class Connection {
 public:
  // Connects with a DSN-less string, e.g. "Driver=SQLite3;Database=/tmp/x.db;".
  Connection(const Environment& environment, const std::string& connection_string);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // SQLGetInfo(SQL_DBMS_NAME), e.g. "SQLite", "PostgreSQL", "Oracle".
  std::string DbmsName() const;
  void SetAutocommit(bool enabled);
  void Commit();
  void Rollback();
  // Convenience: executes one statement without parameters.
  void Execute(std::string_view sql);
  const Handle& handle() const { return handle_; }

 private:
  Handle handle_;
  bool connected_ = false;
};

}  // namespace cdc::odbc

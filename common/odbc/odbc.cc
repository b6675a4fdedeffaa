#include "common/odbc/odbc.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "common/redact.h"

namespace cdc::odbc {
namespace {

RetryClass ClassifyOdbcState(const std::string& sqlstate, const std::string& message) {
  if (sqlstate.rfind("IM", 0) == 0) return RetryClass::kFatal;  // driver manager: bad driver/DSN
  if (sqlstate.rfind("HYT", 0) == 0) return RetryClass::kTransient;  // timeouts
  if (message.find("database is locked") != std::string::npos ||
      message.find("SQLITE_BUSY") != std::string::npos) {
    return RetryClass::kTransient;
  }
  // A lost server connection that psqlODBC reports as a general error (HY000) while preparing a
  // statement's parameters: as transient as its 08 and 57P01 forms.
  for (const char* lost : {"server closed the connection unexpectedly",
                           "terminating connection due to administrator command",
                           "connection has been lost", "no connection to the server"}) {
    if (message.find(lost) != std::string::npos) return RetryClass::kTransient;
  }
  if (sqlstate.rfind("HY", 0) == 0) return RetryClass::kPermanent;
  return ClassifySqlState(sqlstate);
}

}  // namespace

Handle::Handle(SQLSMALLINT type, SQLHANDLE parent) : type_(type) {
  const SQLRETURN rc = SQLAllocHandle(type, parent, &handle_);
  if (!SQL_SUCCEEDED(rc)) throw FatalError("ODBC", "cannot allocate ODBC handle");
}

Handle::~Handle() {
  if (handle_ != SQL_NULL_HANDLE) SQLFreeHandle(type_, handle_);
}

void Check(SQLRETURN rc, const Handle& handle, std::string_view context) {
  if (SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA) return;
  std::string sqlstate;
  std::string message;
  for (SQLSMALLINT record = 1;; ++record) {
    SQLCHAR state[6] = {0};
    SQLINTEGER native = 0;
    SQLCHAR text[1024] = {0};
    SQLSMALLINT length = 0;
    if (!SQL_SUCCEEDED(SQLGetDiagRec(handle.type(), handle.get(), record, state, &native, text,
                                     sizeof(text), &length))) {
      break;
    }
    // The first record that is not a warning (class 01) names the error.
    const std::string record_state = reinterpret_cast<const char*>(state);
    if (sqlstate.empty() && record_state.rfind("01", 0) != 0) sqlstate = record_state;
    if (!message.empty()) message += "; ";
    message += reinterpret_cast<const char*>(text);
  }
  if (sqlstate.empty() && message.find("Can't open lib") != std::string::npos) {
    sqlstate = "IM003";  // ODBC: driver could not be loaded (unixODBC only warns 01000)
  }
  if (sqlstate.empty()) sqlstate = "HY000";
  if (message.empty()) message = "ODBC call failed (rc=" + std::to_string(rc) + ")";
  ThrowError(ClassifyOdbcState(sqlstate, message), sqlstate,
             RedactSecrets(std::string(context) + ": [" + sqlstate + "] " + message));
}

Environment::Environment() : handle_(SQL_HANDLE_ENV, SQL_NULL_HANDLE) {
  Check(SQLSetEnvAttr(handle_.get(), SQL_ATTR_ODBC_VERSION,
                      reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0),
        handle_, "set ODBC version");
}

// ---- Connection -----------------------------------------------------------------------------

Connection::Connection(const Environment& environment, const std::string& connection_string)
    : handle_(SQL_HANDLE_DBC, environment.handle().get()) {
  std::string in = connection_string;
  const SQLRETURN rc = SQLDriverConnect(
      handle_.get(), nullptr, reinterpret_cast<SQLCHAR*>(in.data()),
      static_cast<SQLSMALLINT>(in.size()), nullptr, 0, nullptr, SQL_DRIVER_NOPROMPT);
  Check(rc, handle_, "connect to \"" + RedactSecrets(connection_string) + "\"");
  connected_ = true;
}

Connection::~Connection() {
  if (connected_) SQLDisconnect(handle_.get());
}

std::string Connection::DbmsName() const {
  char name[256] = {0};
  SQLSMALLINT length = 0;
  Check(SQLGetInfo(handle_.get(), SQL_DBMS_NAME, name, sizeof(name), &length), handle_,
        "SQLGetInfo(SQL_DBMS_NAME)");
  return name;
}

void Connection::SetAutocommit(bool enabled) {
  Check(SQLSetConnectAttr(
            handle_.get(), SQL_ATTR_AUTOCOMMIT,
            reinterpret_cast<SQLPOINTER>(enabled ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF),
            SQL_IS_UINTEGER),
        handle_, "set autocommit");
}

void Connection::Commit() {
  Check(SQLEndTran(SQL_HANDLE_DBC, handle_.get(), SQL_COMMIT), handle_, "commit");
}

void Connection::Rollback() {
  Check(SQLEndTran(SQL_HANDLE_DBC, handle_.get(), SQL_ROLLBACK), handle_, "rollback");
}

void Connection::Execute(std::string_view sql) {
  Statement statement(*this);
  statement.ExecuteDirect(sql);
}

// ---- Statement ------------------------------------------------------------------------------

Statement::Statement(Connection& connection)
    : handle_(SQL_HANDLE_STMT, connection.handle().get()) {}

void Statement::Prepare(std::string_view sql) {
  std::string text(sql);
  Check(SQLPrepare(handle_.get(), reinterpret_cast<SQLCHAR*>(text.data()),
                   static_cast<SQLINTEGER>(text.size())),
        handle_, "prepare");
}

void Statement::BindText(SQLUSMALLINT index, std::optional<std::string> value) {
  Parameter& p = parameters_.emplace_back();
  p.indicator = value ? static_cast<SQLLEN>(value->size()) : SQL_NULL_DATA;
  if (value) p.text = std::move(*value);
  const SQLULEN column_size = std::max<SQLULEN>(p.text.size(), 1);
  Check(
      SQLBindParameter(handle_.get(), index, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, column_size,
                       0, p.text.data(), static_cast<SQLLEN>(p.text.size()), &p.indicator),
      handle_, "bind text parameter " + std::to_string(index));
}

void Statement::BindInt64(SQLUSMALLINT index, std::optional<int64_t> value) {
  Parameter& p = parameters_.emplace_back();
  p.indicator = value ? 0 : SQL_NULL_DATA;
  p.integer = value.value_or(0);
  Check(SQLBindParameter(handle_.get(), index, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
                         &p.integer, 0, &p.indicator),
        handle_, "bind integer parameter " + std::to_string(index));
}

void Statement::BindDouble(SQLUSMALLINT index, std::optional<double> value) {
  Parameter& p = parameters_.emplace_back();
  p.indicator = value ? 0 : SQL_NULL_DATA;
  p.real = value.value_or(0);
  Check(SQLBindParameter(handle_.get(), index, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 0, 0,
                         &p.real, 0, &p.indicator),
        handle_, "bind double parameter " + std::to_string(index));
}

void Statement::ClearParameters() {
  Check(SQLFreeStmt(handle_.get(), SQL_RESET_PARAMS), handle_, "reset parameters");
  parameters_.clear();
}

void Statement::Execute() { Check(SQLExecute(handle_.get()), handle_, "execute"); }

void Statement::ExecuteDirect(std::string_view sql) {
  std::string text(sql);
  Check(SQLExecDirect(handle_.get(), reinterpret_cast<SQLCHAR*>(text.data()),
                      static_cast<SQLINTEGER>(text.size())),
        handle_, "execute");
}

namespace {

// The (catalog, schema, table) arguments of SQLColumns/SQLPrimaryKeys as SQLCHAR* + length;
// a null optional becomes nullptr ("any").
class CatalogArguments {
 public:
  CatalogArguments(const std::optional<std::string>& catalog,
                   const std::optional<std::string>& schema, const std::string& table)
      : catalog_(catalog), schema_(schema), table_(table) {}
  SQLCHAR* catalog() { return Pointer(catalog_); }
  SQLCHAR* schema() { return Pointer(schema_); }
  SQLCHAR* table() { return Pointer(table_); }
  SQLSMALLINT catalog_length() const { return Length(catalog_); }
  SQLSMALLINT schema_length() const { return Length(schema_); }
  SQLSMALLINT table_length() const { return Length(table_); }

 private:
  static SQLCHAR* Pointer(std::optional<std::string>& value) {
    return value ? reinterpret_cast<SQLCHAR*>(value->data()) : nullptr;
  }
  static SQLSMALLINT Length(const std::optional<std::string>& value) {
    return value ? static_cast<SQLSMALLINT>(value->size()) : 0;
  }
  std::optional<std::string> catalog_;
  std::optional<std::string> schema_;
  std::optional<std::string> table_;
};

}  // namespace

void Statement::CatalogColumns(const std::optional<std::string>& catalog,
                               const std::optional<std::string>& schema, const std::string& table) {
  CatalogArguments args(catalog, schema, table);
  Check(SQLColumns(handle_.get(), args.catalog(), args.catalog_length(), args.schema(),
                   args.schema_length(), args.table(), args.table_length(), nullptr, 0),
        handle_, "SQLColumns " + table);
}

void Statement::CatalogPrimaryKeys(const std::optional<std::string>& catalog,
                                   const std::optional<std::string>& schema,
                                   const std::string& table) {
  CatalogArguments args(catalog, schema, table);
  Check(SQLPrimaryKeys(handle_.get(), args.catalog(), args.catalog_length(), args.schema(),
                       args.schema_length(), args.table(), args.table_length()),
        handle_, "SQLPrimaryKeys " + table);
}

int64_t Statement::RowCount() const {
  SQLLEN count = 0;
  Check(SQLRowCount(handle_.get(), &count), handle_, "row count");
  return count;
}

std::vector<ColumnInfo> Statement::Columns() const {
  SQLSMALLINT count = 0;
  Check(SQLNumResultCols(handle_.get(), &count), handle_, "column count");
  std::vector<ColumnInfo> columns;
  for (SQLUSMALLINT i = 1; i <= static_cast<SQLUSMALLINT>(count); ++i) {
    SQLCHAR name[512] = {0};
    SQLSMALLINT name_length = 0;
    ColumnInfo info;
    SQLSMALLINT nullable = SQL_NULLABLE_UNKNOWN;
    Check(SQLDescribeCol(handle_.get(), i, name, sizeof(name), &name_length, &info.sql_type,
                         &info.size, &info.decimal_digits, &nullable),
          handle_, "describe column " + std::to_string(i));
    info.name = reinterpret_cast<const char*>(name);
    info.nullable = nullable != SQL_NO_NULLS;
    columns.push_back(std::move(info));
  }
  return columns;
}

void Statement::PrepareBatch(RowBatch& batch, size_t max_rows, size_t max_value_bytes) {
  const std::vector<ColumnInfo> columns = Columns();
  batch.columns_.assign(columns.size(), {});
  size_t row_bytes = 0;
  for (size_t c = 0; c < columns.size(); ++c) {
    RowBatch::Column& column = batch.columns_[c];
    // UTF-8 may need 4 bytes per character; numbers and dates need far less than 64.
    size_t width = columns[c].size == 0 ? max_value_bytes : columns[c].size * 4 + 1;
    if (c < fetch_widths_.size() && fetch_widths_[c] != 0) width = fetch_widths_[c];
    column.width = std::clamp<size_t>(width, 64, max_value_bytes + 1);
    row_bytes += column.width + sizeof(SQLLEN);
  }
  batch.capacity_ =
      std::clamp<size_t>(kMaxBatchBytes / std::max<size_t>(row_bytes, 1), 1, max_rows);
  for (size_t c = 0; c < columns.size(); ++c) {
    RowBatch::Column& column = batch.columns_[c];
    column.data.resize(column.width * batch.capacity_);
    column.indicators.resize(batch.capacity_);
    Check(
        SQLBindCol(handle_.get(), static_cast<SQLUSMALLINT>(c + 1), SQL_C_CHAR, column.data.data(),
                   static_cast<SQLLEN>(column.width), column.indicators.data()),
        handle_, "bind column " + columns[c].name);
  }
  Check(SQLSetStmtAttr(handle_.get(), SQL_ATTR_ROW_BIND_TYPE,
                       reinterpret_cast<SQLPOINTER>(SQL_BIND_BY_COLUMN), 0),
        handle_, "set column-wise binding");
  Check(SQLSetStmtAttr(handle_.get(), SQL_ATTR_ROW_ARRAY_SIZE,
                       reinterpret_cast<SQLPOINTER>(static_cast<SQLULEN>(batch.capacity_)), 0),
        handle_, "set row array size");
  Check(SQLSetStmtAttr(handle_.get(), SQL_ATTR_ROWS_FETCHED_PTR, &batch.rows_, 0), handle_,
        "set rows-fetched pointer");
  batch_bound_ = true;
  bound_rows_ = max_rows;
}

bool Statement::FetchBatch(RowBatch& batch, size_t max_rows, size_t max_value_bytes) {
  if (!batch_bound_ || bound_rows_ != max_rows) PrepareBatch(batch, max_rows, max_value_bytes);
  batch.rows_ = 0;
  truncated_column_.reset();
  const SQLRETURN rc = SQLFetch(handle_.get());
  if (rc == SQL_NO_DATA) {
    batch.rows_ = 0;
    return false;
  }
  Check(rc, handle_, "fetch");
  for (size_t c = 0; c < batch.columns_.size(); ++c) {
    const RowBatch::Column& column = batch.columns_[c];
    for (size_t r = 0; r < batch.rows_; ++r) {
      const SQLLEN indicator = column.indicators[r];
      if (indicator == SQL_NO_TOTAL || indicator >= static_cast<SQLLEN>(column.width)) {
        truncated_column_ = c;
        throw PermanentError("01004", "value of column " + std::to_string(c + 1) +
                                          " exceeds its fetch buffer of " +
                                          std::to_string(column.width - 1) + " bytes");
      }
    }
  }
  return batch.rows_ > 0;
}

void Statement::CloseCursor() {
  Check(SQLFreeStmt(handle_.get(), SQL_CLOSE), handle_, "close cursor");
  Check(SQLFreeStmt(handle_.get(), SQL_UNBIND), handle_, "unbind columns");
  batch_bound_ = false;
}

std::optional<std::string_view> RowBatch::Get(size_t row, size_t column) const {
  const Column& c = columns_.at(column);
  const SQLLEN indicator = c.indicators.at(row);
  if (indicator == SQL_NULL_DATA) return std::nullopt;
  return std::string_view(c.data.data() + row * c.width, static_cast<size_t>(indicator));
}

}  // namespace cdc::odbc

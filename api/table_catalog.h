// The tables the API may read: exactly those registered in cdc.tables for the configured schema,
// with their columns (from the PostgreSQL catalog) and key. A URL's table name is looked up here,
// never interpolated into SQL. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/values.h"
#include "common/pg/connection.h"

namespace cdc::api {

struct ApiColumn {
  std::string name;
  std::string type;  // format_type(), e.g. "numeric(12,2)"
  ValueKind kind = ValueKind::kOther;
  bool meta = false;  // a _cdc_* column
};

struct ApiTable {
  std::string schema;  // target schema
  std::string target;  // target table name
  std::string source;  // SCHEMA.TABLE at the source
  std::string topic;
  bool change_feed = false;  // an index leads with _cdc_seq: the change feed can be served
  std::vector<ApiColumn> columns;
  std::vector<size_t> key;  // indexes into columns, in key order

  std::optional<size_t> Find(std::string_view column) const;
  // True when the table has the metadata columns the consumer adds (_cdc_seq, _cdc_deleted_at).
  bool HasColumn(std::string_view column) const { return Find(column).has_value(); }
};

// SQL that is true when the pg_class row aliased `relation` has an index leading with _cdc_seq
// (consumer.change_feed), which the change feed needs.
std::string HasChangeFeedIndexSql(std::string_view relation);

class TableCatalog {
 public:
  explicit TableCatalog(std::string schema);

  // The table whose target name, or source SCHEMA.TABLE, is `name`; nullptr when none is
  // registered. An unknown name reloads the catalog (at most once a second); every load older
  // than 30 s is refreshed.
  std::shared_ptr<const ApiTable> Find(pg::Connection& connection, std::string_view name);
  // Like Find, from what is loaded, without a connection: nullptr when the name is unknown or the
  // load is due for a refresh (then call Find).
  std::shared_ptr<const ApiTable> Cached(std::string_view name);
  // Every registered table, by target name.
  std::vector<std::shared_ptr<const ApiTable>> All(pg::Connection& connection);
  // Forces a reload on the next lookup (a query found the table changed).
  void Invalidate();

 private:
  using Tables = std::map<std::string, std::shared_ptr<const ApiTable>, std::less<>>;
  void LoadIfStale(pg::Connection& connection, bool unknown_name);
  std::shared_ptr<const ApiTable> Lookup(std::string_view name) const;  // caller holds mutex_
  Tables Load(pg::Connection& connection) const;

  const std::string schema_;
  std::mutex mutex_;
  Tables tables_;
  std::chrono::steady_clock::time_point loaded_at_{};
  bool loaded_ = false;
};

}  // namespace cdc::api

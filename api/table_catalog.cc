#include "api/table_catalog.h"

#include <nlohmann/json.hpp>

namespace cdc::api {
namespace {

constexpr auto kRefreshEvery = std::chrono::seconds(30);
constexpr auto kMissReloadEvery = std::chrono::seconds(1);

}  // namespace

std::optional<size_t> ApiTable::Find(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return i;
  }
  return std::nullopt;
}

std::string HasChangeFeedIndexSql(std::string_view relation) {
  const std::string r(relation);
  return "EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute s ON s.attrelid = " + r +
         ".oid AND s.attname = '_cdc_seq' WHERE i.indrelid = " + r +
         ".oid AND i.indkey[0] = s.attnum)";
}

TableCatalog::TableCatalog(std::string schema) : schema_(std::move(schema)) {}

void TableCatalog::Invalidate() {
  std::lock_guard lock(mutex_);
  loaded_ = false;
}

TableCatalog::Tables TableCatalog::Load(pg::Connection& connection) const {
  const pg::Result rows = connection.ExecPrepared(
      "SELECT t.target_table, t.source_table, t.topic, array_to_json(t.key_columns)::text,"
      " a.attname, format_type(a.atttypid, a.atttypmod), " +
          HasChangeFeedIndexSql("c") +
          " FROM cdc.tables t JOIN pg_namespace n ON n.nspname = t.target_schema"
          " JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.target_table"
          " AND c.relkind IN ('r', 'p')"
          " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
          " WHERE t.target_schema = $1 ORDER BY t.target_table, a.attnum",
      {schema_});
  std::map<std::string, std::shared_ptr<ApiTable>> built;
  std::map<std::string, std::vector<std::string>> keys;
  for (int i = 0; i < rows.rows(); ++i) {
    const std::string target(rows.Get(i, 0));
    std::shared_ptr<ApiTable>& table = built[target];
    if (!table) {
      table = std::make_shared<ApiTable>();
      table->schema = schema_;
      table->target = target;
      table->source = std::string(rows.Get(i, 1));
      table->topic = std::string(rows.Get(i, 2));
      table->change_feed = rows.Get(i, 6) == "t";
      keys[target] = nlohmann::json::parse(rows.Get(i, 3)).get<std::vector<std::string>>();
    }
    ApiColumn column;
    column.name = std::string(rows.Get(i, 4));
    column.type = std::string(rows.Get(i, 5));
    column.kind = KindOfType(column.type);
    column.meta = column.name.rfind("_cdc_", 0) == 0;
    table->columns.push_back(std::move(column));
  }
  Tables tables;
  for (auto& [target, table] : built) {
    bool complete = !keys[target].empty();
    for (const std::string& key : keys[target]) {
      const std::optional<size_t> at = table->Find(key);
      if (!at) {
        complete = false;
        break;
      }
      table->key.push_back(*at);
    }
    // A table without a usable key cannot be paged or addressed: it is not served.
    if (complete) tables.emplace(target, std::move(table));
  }
  return tables;
}

void TableCatalog::LoadIfStale(pg::Connection& connection, bool unknown_name) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    const auto age = now - loaded_at_;
    if (loaded_ && age < kRefreshEvery && (!unknown_name || age < kMissReloadEvery)) return;
  }
  Tables tables = Load(connection);
  std::lock_guard lock(mutex_);
  tables_ = std::move(tables);
  loaded_at_ = now;
  loaded_ = true;
}

std::shared_ptr<const ApiTable> TableCatalog::Lookup(std::string_view name) const {
  const auto found = tables_.find(name);
  if (found != tables_.end()) return found->second;
  for (const auto& [target, table] : tables_) {
    if (table->source == name) return table;
  }
  return nullptr;
}

std::shared_ptr<const ApiTable> TableCatalog::Cached(std::string_view name) {
  std::lock_guard lock(mutex_);
  if (!loaded_ || std::chrono::steady_clock::now() - loaded_at_ >= kRefreshEvery) return nullptr;
  return Lookup(name);
}

std::shared_ptr<const ApiTable> TableCatalog::Find(pg::Connection& connection,
                                                   std::string_view name) {
  LoadIfStale(connection, false);
  {
    std::lock_guard lock(mutex_);
    if (auto table = Lookup(name)) return table;
  }
  LoadIfStale(connection, true);
  std::lock_guard lock(mutex_);
  return Lookup(name);
}

std::vector<std::shared_ptr<const ApiTable>> TableCatalog::All(pg::Connection& connection) {
  LoadIfStale(connection, false);
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<const ApiTable>> all;
  for (const auto& [target, table] : tables_) all.push_back(table);
  return all;
}

}  // namespace cdc::api

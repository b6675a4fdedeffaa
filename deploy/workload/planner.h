// The workload generator's decisions, with no I/O: which schema to create, and which change to
// make next (table, operation, parameter values) given the keys that exist. The runner executes
// what the planner returns; tests drive the planner directly.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::workload {

enum class Op : char { kInsert = 'I', kUpdate = 'U', kKeyChange = 'K', kDelete = 'D' };

// One prepared statement the runner keeps per schema.
struct StatementSpec {
  std::string table;
  Op op;
  std::string sql;  // `?` placeholders, SQLite syntax
};

// One change to make: statement index into Planner::statements() and its parameters.
struct Change {
  size_t statement = 0;
  std::vector<std::optional<std::string>> params;
};

// Percentages of each operation; they sum to 100. Key changes apply to tables that allow them
// and become updates elsewhere.
struct Mix {
  int insert = 0;
  int update = 0;
  int key_change = 0;
  int del = 0;
};

// An existing key read back from the source: its integer components in key order.
using Key = std::vector<int64_t>;

class Planner {
 public:
  virtual ~Planner() = default;
  // CREATE TABLE IF NOT EXISTS statements of the schema.
  virtual const std::vector<std::string>& create_sql() const = 0;
  virtual const std::vector<StatementSpec>& statements() const = 0;
  // Source tables and the SELECT that lists each table's existing keys (as integers).
  virtual std::vector<std::pair<std::string, std::string>> key_queries() const = 0;
  // Registers the keys read by key_queries() so that a resumed run continues where the last
  // one stopped (no duplicate inserts, updates of rows that exist).
  virtual void Load(const std::string& table, std::vector<Key> keys) = 0;
  // The next change. Never fails: an empty table gets an insert.
  virtual Change Next() = 0;
  // Rows the model believes exist, per table.
  virtual std::map<std::string, size_t> row_counts() const = 0;
};

// `demo`: CUSTOMERS, PRODUCTS, ORDERS and ORDER_LINES (composite key), with decimals, timestamps,
// nullable text, unicode and a blob; 35% inserts, 45% updates, 5% key changes, 15% deletes.
// `bench`: the benchmark's 10-column ITEMS table; 30% inserts, 60% updates, 10% deletes.
// Returns nullptr for an unknown name.
std::unique_ptr<Planner> MakePlanner(std::string_view schema, uint64_t seed);

}  // namespace cdc::workload

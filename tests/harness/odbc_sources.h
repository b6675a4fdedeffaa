// ODBC sources for integration tests: a SQLite file (Driver=SQLite3) and a database in a
// PgCluster reached through psqlODBC (Driver=PostgreSQL Unicode), which is how later tests get
// truly concurrent commits.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/odbc/odbc.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/process.h"

namespace cdc::testing {

class SqliteSource {
 public:
  SqliteSource() : dir_(std::make_unique<TempDir>("cdc-sqlite")) {}
  std::string path() const { return dir_->File("source.db"); }
  std::string ConnectionString() const { return "Driver=SQLite3;Database=" + path() + ";"; }

 private:
  std::unique_ptr<TempDir> dir_;
};

class PostgresOdbcSource {
 public:
  PostgresOdbcSource(const PgCluster& cluster, std::string database)
      : cluster_(cluster), database_(std::move(database)) {
    cluster_.CreateDatabase(database_);
  }
  std::string ConnectionString() const { return cluster_.OdbcConnectionString(database_); }
  const std::string& database() const { return database_; }

 private:
  const PgCluster& cluster_;
  const std::string database_;
};

using SqlRows = std::vector<std::vector<std::optional<std::string>>>;

// Runs `sql` and returns every row as driver text. `batch_rows` sizes the bound row arrays (they
// are zero-filled on every call: keep it small for point queries).
inline SqlRows Query(odbc::Connection& connection, const std::string& sql,
                     size_t batch_rows = 1000) {
  odbc::Statement statement(connection);
  statement.ExecuteDirect(sql);
  SqlRows rows;
  odbc::RowBatch batch;
  while (statement.FetchBatch(batch, batch_rows, 4096)) {
    for (size_t r = 0; r < batch.rows(); ++r) {
      std::vector<std::optional<std::string>> row;
      for (size_t c = 0; c < batch.columns(); ++c) {
        const auto v = batch.Get(r, c);
        row.push_back(v ? std::optional<std::string>(*v) : std::nullopt);
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace cdc::testing

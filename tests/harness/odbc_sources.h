// ODBC sources for integration tests: a SQLite file (Driver=SQLite3) and a database in a
// PgCluster reached through psqlODBC (Driver=PostgreSQL Unicode), which is how later tests get
// truly concurrent commits.
#pragma once

#include <memory>
#include <string>

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

}  // namespace cdc::testing

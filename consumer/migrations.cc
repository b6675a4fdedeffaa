#include "consumer/migrations.h"

#include <algorithm>

namespace cdc::consumer {
namespace {

// pg_advisory_xact_lock key: "cdc-migr" as a big-endian integer, shared by every consumer.
constexpr const char* kLockKey = "7161388151366657650";

}  // namespace

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = [] {
    std::vector<Migration> sorted = CompiledMigrations();
    std::sort(sorted.begin(), sorted.end(),
              [](const Migration& a, const Migration& b) { return a.version < b.version; });
    return sorted;
  }();
  return kMigrations;
}

int ApplyMigrations(pg::Connection& connection, const Logger& logger) {
  int applied = 0;
  for (const Migration& migration : Migrations()) {
    pg::Transaction tx(connection);
    connection.Exec(std::string("SELECT pg_advisory_xact_lock(") + kLockKey + ")");
    connection.Exec("SET LOCAL client_min_messages = warning");  // no "already exists" notices
    connection.Exec(
        "CREATE SCHEMA IF NOT EXISTS cdc;"
        "CREATE TABLE IF NOT EXISTS cdc.schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    const pg::Result done =
        connection.Exec("SELECT 1 FROM cdc.schema_migrations WHERE version = $1",
                        {std::to_string(migration.version)});
    if (done.rows() > 0) continue;
    connection.Exec(migration.sql);
    connection.Exec("INSERT INTO cdc.schema_migrations (version, name) VALUES ($1, $2)",
                    {std::to_string(migration.version), migration.name});
    tx.Commit();
    ++applied;
    logger.Info("applied migration", {{"version", migration.version}, {"name", migration.name}});
  }
  return applied;
}

}  // namespace cdc::consumer

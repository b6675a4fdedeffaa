// A throwaway PostgreSQL 15 cluster for integration tests: initdb into a temp dir (as the
// `postgres` user when running as root), a free port on 127.0.0.1, fsync off (commits still
// reach the OS before they are acknowledged, so they survive a server crash, not a machine crash),
// prepared (two-phase) transactions enabled.
// Stopped and deleted on destruction, and by a Reaper if the test process dies first.
#pragma once

#include <memory>
#include <string>

#include "tests/harness/process.h"

namespace cdc::testing {

class PgCluster {
 public:
  PgCluster();
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  uint16_t port() const { return port_; }
  // libpq URL for `database` as the superuser `postgres` (trust auth).
  std::string Url(const std::string& database = "postgres") const;
  // psqlODBC DSN-less connection string.
  std::string OdbcConnectionString(const std::string& database) const;
  // CREATE DATABASE through psql.
  void CreateDatabase(const std::string& name) const;
  // Runs SQL through psql; returns its output (-At). Throws on failure.
  std::string Psql(const std::string& database, const std::string& sql) const;

  void Stop();   // fast shutdown (pg_ctl -m immediate)
  void Start();  // start again on the same port and data directory
  bool running() const { return running_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& directory() const { return dir_->path(); }
  // The directory of the server's programs (initdb, pg_ctl, pgbench, ...).
  const std::string& bin_dir() const { return bin_dir_; }

 private:
  std::string AsPostgres(const std::string& command) const;

  std::string bin_dir_;
  std::unique_ptr<TempDir> dir_;
  std::string data_dir_;
  std::string socket_dir_;
  std::string log_path_;
  uint16_t port_ = 0;
  bool running_ = false;
  std::unique_ptr<Reaper> reaper_;
};

}  // namespace cdc::testing

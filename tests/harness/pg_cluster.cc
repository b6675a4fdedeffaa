#include "tests/harness/pg_cluster.h"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace cdc::testing {
namespace {

std::string FindBinDir() {
  for (const char* candidate :
       {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"}) {
    if (std::filesystem::exists(std::string(candidate) + "/initdb")) return candidate;
  }
  throw std::runtime_error("PostgreSQL server binaries not found (apt-get install postgresql)");
}

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

PgCluster::PgCluster() : bin_dir_(FindBinDir()), dir_(std::make_unique<TempDir>("cdc-pg")) {
  data_dir_ = dir_->path() + "/data";
  socket_dir_ = dir_->path();
  log_path_ = dir_->path() + "/server.log";
  if (geteuid() == 0) {
    RunShell("chown postgres:postgres " + ShellQuote(dir_->path()));
  }
  // The reaper stops the server and removes the directory if this process dies: pg_ctl as the
  // server's user, and SIGKILL to the postmaster (first line of postmaster.pid) if that fails.
  const std::string pid_file = ShellQuote(data_dir_ + "/postmaster.pid");
  reaper_ = std::make_unique<Reaper>(
      AsPostgres(bin_dir_ + "/pg_ctl -D " + ShellQuote(data_dir_) + " -m immediate -w stop") +
      " >/dev/null 2>&1 || { [ -f " + pid_file + " ] && kill -9 \"$(head -n 1 " + pid_file +
      ")\"; }; rm -rf " + ShellQuote(dir_->path()));
  std::string output;
  if (RunShell(AsPostgres(bin_dir_ + "/initdb -D " + ShellQuote(data_dir_) +
                          " -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync"),
               &output) != 0) {
    throw std::runtime_error("initdb failed: " + output);
  }
  for (int attempt = 0; attempt < 5 && !running_; ++attempt) {
    port_ = FreePort();
    try {
      Start();
    } catch (const std::exception&) {
      if (attempt == 4) throw;
    }
  }
}

PgCluster::~PgCluster() {
  if (running_) Stop();
  reaper_.reset();  // runs the cleanup (stop is a no-op now, rm -rf the directory)
}

std::string PgCluster::AsPostgres(const std::string& command) const {
  if (geteuid() != 0) return command;
  return "runuser -u postgres -- sh -c " + ShellQuote(command);
}

void PgCluster::Start() {
  // A throw-away server: no durability work (fsync, full-page images). wal_init_zero=off: a
  // fresh cluster creates every WAL segment and zero-fills it (16 MB, inside a COMMIT; 8% of the
  // apply backends' CPU in the end-to-end benchmark), where a long-running server recycles old
  // segments without writing them.
  const std::string options = "-p " + std::to_string(port_) + " -k " + socket_dir_ +
                              " -c listen_addresses=127.0.0.1 -c fsync=off"
                              " -c full_page_writes=off -c wal_init_zero=off"
                              " -c max_connections=200 -c max_prepared_transactions=64";
  std::string output;
  if (RunShell(AsPostgres(bin_dir_ + "/pg_ctl -D " + ShellQuote(data_dir_) + " -l " +
                          ShellQuote(log_path_) + " -w -t 60 -o " + ShellQuote(options) + " start"),
               &output) != 0) {
    std::string log;
    RunShell("tail -n 20 " + ShellQuote(log_path_), &log);
    throw std::runtime_error("pg_ctl start failed: " + output + "\n" + log);
  }
  running_ = true;
}

void PgCluster::Stop() {
  RunShell(AsPostgres(bin_dir_ + "/pg_ctl -D " + ShellQuote(data_dir_) + " -m immediate -w stop"));
  running_ = false;
}

std::string PgCluster::Url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PgCluster::OdbcConnectionString(const std::string& database) const {
  return "Driver=PostgreSQL Unicode;Server=127.0.0.1;Port=" + std::to_string(port_) +
         ";Database=" + database + ";Uid=postgres;Pwd=;UseDeclareFetch=1;Fetch=10000;";
}

std::string PgCluster::Psql(const std::string& database, const std::string& sql) const {
  std::string output;
  const int rc = RunShell(
      "psql -X -q -At -v ON_ERROR_STOP=1 " + ShellQuote(Url(database)) + " -c " + ShellQuote(sql),
      &output);
  if (rc != 0) throw std::runtime_error("psql failed: " + output);
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return output;
}

void PgCluster::CreateDatabase(const std::string& name) const {
  Psql("postgres", "CREATE DATABASE \"" + name + "\"");
}

}  // namespace cdc::testing

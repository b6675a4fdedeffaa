// Executes a Planner's changes against a source database over ODBC: creates the schema, reads
// the existing keys back (so a second run resumes), then makes changes at a steady rate or a
// fixed count as fast as the database allows, in transactions, with a progress line.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stop_token>
#include <string>

#include "common/clock.h"
#include "common/odbc/odbc.h"
#include "deploy/workload/planner.h"

namespace cdc::workload {

struct RunOptions {
  double rate = 0;             // changes per second; 0 = as fast as possible
  int64_t count = -1;          // stop after this many changes; -1 = until stopped
  int transaction_size = 500;  // changes per transaction when running as fast as possible
  std::chrono::milliseconds progress_interval{2000};
};

struct Totals {
  int64_t changes = 0;
  std::map<char, int64_t> by_op;  // 'I', 'U', 'K', 'D'
  double seconds = 0;
  // One JSON object: {"changes":N,"inserts":..,"updates":..,"key_changes":..,"deletes":..,
  // "seconds":..,"rate":..}
  std::string Json() const;
};

class Runner {
 public:
  // `connection` and `planner` must outlive the runner. `progress` receives a human progress
  // line every RunOptions::progress_interval (and the totals so far, e.g. for a status file).
  Runner(odbc::Connection& connection, Planner& planner, Clock& clock,
         std::function<void(const std::string& line, const Totals& totals)> progress);

  // CREATE TABLE IF NOT EXISTS for the schema (and WAL journaling on SQLite so readers such as
  // the producer do not block the writer).
  void CreateSchema();
  // Reads the existing keys into the planner. Returns rows per table.
  std::map<std::string, size_t> LoadKeys();
  // Makes changes until `options.count` is reached or `stop` is requested; a stop commits the
  // open transaction first. Throws cdc::Error when the database fails (the open transaction is
  // rolled back; what was committed stays).
  Totals Run(const RunOptions& options, std::stop_token stop);

 private:
  void Apply(const Change& change);

  odbc::Connection& connection_;
  Planner& planner_;
  Clock& clock_;
  const std::function<void(const std::string&, const Totals&)> progress_;
  std::vector<std::unique_ptr<odbc::Statement>> statements_;
  Totals totals_;
};

}  // namespace cdc::workload

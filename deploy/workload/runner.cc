#include "deploy/workload/runner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/error.h"

namespace cdc::workload {
namespace {

double SecondsBetween(Clock::TimePoint from, Clock::TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

int64_t ParseInteger(std::string_view text, const std::string& table) {
  try {
    size_t used = 0;
    const int64_t value = std::stoll(std::string(text), &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw PermanentError("WORKLOAD", "table " + table + " has a key that is not an integer: \"" +
                                       std::string(text) + "\"");
}

}  // namespace

std::string Totals::Json() const {
  const auto count = [this](char op) {
    const auto it = by_op.find(op);
    return it == by_op.end() ? int64_t{0} : it->second;
  };
  char buffer[320];
  std::snprintf(buffer, sizeof(buffer),
                R"({"changes":%lld,"inserts":%lld,"updates":%lld,"key_changes":%lld,)"
                R"("deletes":%lld,"seconds":%.3f,"rate":%.1f})",
                static_cast<long long>(changes), static_cast<long long>(count('I')),
                static_cast<long long>(count('U')), static_cast<long long>(count('K')),
                static_cast<long long>(count('D')), seconds,
                seconds > 0 ? static_cast<double>(changes) / seconds : 0.0);
  return buffer;
}

Runner::Runner(odbc::Connection& connection, Planner& planner, Clock& clock,
               std::function<void(const std::string&, const Totals&)> progress)
    : connection_(connection), planner_(planner), clock_(clock), progress_(std::move(progress)) {}

void Runner::CreateSchema() {
  if (connection_.DbmsName() == "SQLite") {
    odbc::Statement wal(connection_);
    wal.ExecuteDirect("PRAGMA journal_mode=WAL");
  }
  for (const std::string& sql : planner_.create_sql()) connection_.Execute(sql);
}

std::map<std::string, size_t> Runner::LoadKeys() {
  std::map<std::string, size_t> counts;
  for (const auto& [table, sql] : planner_.key_queries()) {
    odbc::Statement query(connection_);
    query.ExecuteDirect(sql);
    std::vector<Key> keys;
    odbc::RowBatch batch;
    while (query.FetchBatch(batch, 4096)) {
      for (size_t row = 0; row < batch.rows(); ++row) {
        Key key;
        for (size_t column = 0; column < batch.columns(); ++column) {
          const std::optional<std::string_view> value = batch.Get(row, column);
          if (!value) throw PermanentError("WORKLOAD", "table " + table + " has a NULL key");
          key.push_back(ParseInteger(*value, table));
        }
        keys.push_back(std::move(key));
      }
    }
    counts[table] = keys.size();
    planner_.Load(table, std::move(keys));
  }
  return counts;
}

void Runner::Apply(const Change& change) {
  odbc::Statement& statement = *statements_.at(change.statement);
  statement.ClearParameters();
  for (size_t i = 0; i < change.params.size(); ++i) {
    statement.BindText(static_cast<SQLUSMALLINT>(i + 1), change.params[i]);
  }
  statement.Execute();
  if (statement.RowCount() != 1) {
    throw PermanentError("WORKLOAD", "a change to " +
                                         planner_.statements()[change.statement].table +
                                         " touched " + std::to_string(statement.RowCount()) +
                                         " rows instead of 1 (was the table changed by "
                                         "someone else while the generator ran?)");
  }
  ++totals_.changes;
  ++totals_.by_op[static_cast<char>(planner_.statements()[change.statement].op)];
}

Totals Runner::Run(const RunOptions& options, std::stop_token stop) {
  statements_.clear();
  for (const StatementSpec& spec : planner_.statements()) {
    statements_.push_back(std::make_unique<odbc::Statement>(connection_));
    statements_.back()->Prepare(spec.sql);
  }
  totals_ = Totals{};
  const Clock::TimePoint start = clock_.Now();
  Clock::TimePoint next_progress = start + options.progress_interval;
  int64_t changes_at_last_progress = 0;
  Clock::TimePoint last_progress = start;
  const auto remaining = [&] {
    return options.count < 0 ? INT64_MAX : options.count - totals_.changes;
  };

  connection_.SetAutocommit(false);
  try {
    while (!stop.stop_requested() && remaining() > 0) {
      const Clock::TimePoint now = clock_.Now();
      int64_t due = options.transaction_size;
      if (options.rate > 0) {
        const auto target =
            static_cast<int64_t>(std::floor(options.rate * SecondsBetween(start, now)));
        due = target - totals_.changes;
      }
      due = std::min({due, remaining(), static_cast<int64_t>(options.transaction_size)});
      if (due > 0) {
        for (int64_t i = 0; i < due; ++i) Apply(planner_.Next());
        connection_.Commit();
      } else {
        // Sleep until the next change is due (at most 50 ms so progress and stop stay prompt).
        const double wait =
            (static_cast<double>(totals_.changes + 1) / options.rate) - SecondsBetween(start, now);
        clock_.SleepFor(std::chrono::duration_cast<Clock::Duration>(
                            std::chrono::duration<double>(std::clamp(wait, 0.001, 0.05))),
                        stop);
      }
      if (clock_.Now() >= next_progress && progress_) {
        const Clock::TimePoint at = clock_.Now();
        totals_.seconds = SecondsBetween(start, at);
        char line[256];
        std::snprintf(
            line, sizeof(line), "workload: %lld changes (I %lld, U %lld, K %lld, D %lld), %.0f/s",
            static_cast<long long>(totals_.changes), static_cast<long long>(totals_.by_op['I']),
            static_cast<long long>(totals_.by_op['U']), static_cast<long long>(totals_.by_op['K']),
            static_cast<long long>(totals_.by_op['D']),
            static_cast<double>(totals_.changes - changes_at_last_progress) /
                std::max(1e-9, SecondsBetween(last_progress, at)));
        progress_(line, totals_);
        changes_at_last_progress = totals_.changes;
        last_progress = at;
        next_progress = at + options.progress_interval;
      }
    }
  } catch (...) {
    connection_.Rollback();
    connection_.SetAutocommit(true);
    throw;
  }
  connection_.SetAutocommit(true);
  totals_.seconds = SecondsBetween(start, clock_.Now());
  return totals_;
}

}  // namespace cdc::workload

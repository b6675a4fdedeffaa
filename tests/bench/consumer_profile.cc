#include "tests/bench/consumer_profile.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace cdc::testing {

void LogEveryStatement(pg::Connection& db, bool on) {
  db.Exec(on ? "ALTER SYSTEM SET log_min_duration_statement = 0"
             : "ALTER SYSTEM RESET log_min_duration_statement");
  db.Exec("SELECT pg_reload_conf()");
}

// Reads the server log's lines "... LOG:  duration: 1.234 ms  statement: SQL" (simple protocol)
// or "... execute <unnamed>: SQL" (extended; its parse and bind phases are counted under the same
// statement).
void PrintProfile(const std::string& log_path) {
  struct Cost {
    double ms = 0;
    int64_t calls = 0;
  };
  std::map<std::string, Cost> costs;
  double total = 0;
  std::ifstream in(log_path);
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find("duration: ");
    if (at == std::string::npos) continue;
    const double ms = std::stod(line.substr(at + 10));
    size_t sql = line.find(": ", line.find(" ms  ", at));
    if (sql == std::string::npos) continue;
    std::string key = line.substr(sql + 2, 70);
    for (char& c : key) {
      if (c >= '0' && c <= '9') c = '#';
    }
    costs[key].ms += ms;
    if (line.find(" ms  parse ", at) == std::string::npos &&
        line.find(" ms  bind ", at) == std::string::npos) {
      ++costs[key].calls;
    }
    total += ms;
  }
  std::vector<std::pair<std::string, Cost>> sorted(costs.begin(), costs.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  std::printf("server time by statement (%.0f ms in all):\n", total);
  for (size_t i = 0; i < sorted.size() && i < 15; ++i) {
    std::printf("  %9.0f ms %5.1f%% %7lld x  %s\n", sorted[i].second.ms,
                100.0 * sorted[i].second.ms / total, static_cast<long long>(sorted[i].second.calls),
                sorted[i].first.c_str());
  }
}

// Where the consumer's time went, from its debug log's "batch applied" lines.
void PrintBatchTimings(const std::string& log_path) {
  int64_t batches = 0;
  double gather = 0;
  double apply = 0;
  std::ifstream in(log_path);
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"batch applied\"") == std::string::npos) continue;
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded()) continue;
    ++batches;
    gather += entry.value("gather_seconds", 0.0);
    apply += entry.value("seconds", 0.0);
  }
  std::printf("consumer: %lld batches, %.2f s gathering records, %.2f s decoding + applying\n",
              static_cast<long long>(batches), gather, apply);
}

}  // namespace cdc::testing

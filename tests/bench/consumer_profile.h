// Where the consumer benchmark's time went (`consumer_bench --profile`): PostgreSQL's time by
// statement from a server log written with log_min_duration_statement = 0, and the consumer's
// own batch timings from its debug log.
#pragma once

#include <string>

#include "common/pg/connection.h"

namespace cdc::testing {

// Turns logging of every statement's duration on or off for the whole server (ALTER SYSTEM).
void LogEveryStatement(pg::Connection& db, bool on);
// Prints the 15 statements that took the most server time, with their share and call counts.
void PrintProfile(const std::string& log_path);
// Prints batches, time gathering records and time decoding + applying.
void PrintBatchTimings(const std::string& log_path);

}  // namespace cdc::testing

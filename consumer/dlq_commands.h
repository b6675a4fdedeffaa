// The `cdc-consumer dlq` commands over cdc.dead_letters: list, redrive (re-apply once the cause
// is fixed) and discard (a letter that can never apply, kept for audit). Each returns the exit
// code and prints its report to `out`.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "common/config/config.h"
#include "common/log.h"
#include "consumer/settings.h"

namespace cdc::consumer {

// Prints dead letters (newest first, at most `limit`) with their table and state.
int ListDeadLetters(const ConsumerSettings& settings, int64_t limit, std::ostream& out);

// Re-applies dead letters (one id, or every open letter when `id` is nullopt). Success sets
// redriven_at; a letter already redriven or discarded is skipped; a letter that fails again keeps
// redriven_at empty and records the new error. Returns 0 when every letter applied, else 1.
int RedriveDeadLetters(const config::Config& config, const ConsumerSettings& settings,
                       std::optional<int64_t> id, const Logging& logging, std::ostream& out);

struct DiscardRequest {
  std::optional<int64_t> id;         // one letter, or every open one (of `table` when given)
  std::optional<std::string> table;  // target table, with every open letter
  std::string reason;                // required, at most pg::kMaxDiscardReason bytes
};

// Discards open dead letters of the group, recording who (the OS user and host), when and why.
// A letter already redriven or discarded is reported and left as it is. Returns 0 when every
// chosen letter was discarded or already was, 1 when the id does not exist or was redriven.
int DiscardDeadLetters(const ConsumerSettings& settings, const DiscardRequest& request,
                       const Logging& logging, std::ostream& out);

}  // namespace cdc::consumer

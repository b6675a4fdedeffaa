// What the consumer and cdc-api share about cdc.dead_letters (schemas/sql/postgres): a letter's
// state and discarding one. A letter is open until it is redriven (applied after its cause was
// fixed) or discarded (it can never apply: kept for audit with who, when and why).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/pg/connection.h"

namespace cdc::pg {

// SQL expression of a letter's state over cdc.dead_letters' columns: 'open', 'redriven' or
// 'discarded'.
inline constexpr const char* kDeadLetterStateSql =
    "CASE WHEN discarded_at IS NOT NULL THEN 'discarded'"
    " WHEN redriven_at IS NOT NULL THEN 'redriven' ELSE 'open' END";

// Longest discard reason kept (longer is refused by the callers).
inline constexpr size_t kMaxDiscardReason = 1000;

// Discards letter `id` (of `group_id` when given) if it is open, recording `by` and `reason`.
// Returns its state before: "open" (now discarded), "redriven", "discarded", or nullopt when no
// such letter exists. Runs in its own transaction (READ WRITE, whatever the session's default).
std::optional<std::string> DiscardDeadLetter(Connection& connection, int64_t id,
                                             const std::optional<std::string>& group_id,
                                             const std::string& reason, const std::string& by);

}  // namespace cdc::pg

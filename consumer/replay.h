// Where a replay starts: per partition of the chosen topics, the beginning (low watermark) or the
// first offset whose message timestamp is at or after a time. The broker's offsets-for-times is
// asked first; where it has no answer (the dev broker) a binary search over message timestamps
// finds the offset (message timestamps are assumed non-decreasing within a partition, as they are
// for CreateTime topics written by our producer and for LogAppendTime topics).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/kafka/consumer.h"
#include "common/log.h"

namespace cdc::consumer {

// Parses "2026-11-20T10:00:00Z" (an ISO-8601 UTC time, optional fraction) into ms since the
// epoch. Throws PermanentError on anything else.
int64_t ParseReplayTime(const std::string& text);

// The start offsets of every partition of `topics`: the low watermark, or with `from_ms` the
// first offset at or after it (the high watermark when there is none). `consumer` must not be
// subscribed (it is assigned partitions while searching).
std::vector<kafka::TopicPartition> ReplayOffsets(kafka::Consumer& consumer,
                                                 const std::vector<std::string>& topics,
                                                 std::optional<int64_t> from_ms,
                                                 const Logger& logger);

}  // namespace cdc::consumer

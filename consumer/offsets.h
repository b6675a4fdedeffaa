// Consumer positions kept in PostgreSQL (cdc.offsets): the source of truth for where a consumer
// group continues, written by BatchApplier in the same transaction as the rows. Kafka's committed
// offsets follow them for lag tools.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/kafka/message.h"
#include "common/pg/connection.h"

namespace cdc::consumer {

using PartitionKey = std::pair<std::string, int32_t>;

// The stored next offsets of `group_id` for `partitions` (absent when none is stored).
std::map<PartitionKey, int64_t> LoadOffsets(pg::Connection& connection, const std::string& group_id,
                                            const std::vector<kafka::TopicPartition>& partitions);

// Every stored offset of `group_id` for `topic`.
std::map<PartitionKey, int64_t> LoadTopicOffsets(pg::Connection& connection,
                                                 const std::string& group_id,
                                                 const std::string& topic);

// Moves the stored offsets of `group_id` forward to `next` (never back), in one statement; for
// the apply transaction.
void StoreOffsets(pg::Connection& connection, const std::string& group_id,
                  const std::map<PartitionKey, int64_t>& next);

// Sets the stored offsets unconditionally (replay rewinds them) and counts the rewind in
// cdc.group_rewinds (`by`: who rewound), in one transaction.
void RewindOffsets(pg::Connection& connection, const std::string& group_id,
                   const std::vector<kafka::TopicPartition>& offsets, const std::string& by);

}  // namespace cdc::consumer

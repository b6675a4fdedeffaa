// Consumer positions kept in PostgreSQL (cdc.offsets): the source of truth for where a consumer
// group continues, written by BatchApplier in the same transaction as the rows. Kafka's committed
// offsets follow them for lag tools.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/kafka/message.h"
#include "common/pg/connection.h"
#include "consumer/batch.h"

namespace cdc::consumer {

using PartitionKey = std::pair<std::string, int32_t>;

// A stored position, and where a replay after an offset reset catches up (nullopt: none runs).
struct StoredPosition {
  LogPosition position;
  std::optional<int64_t> replay_until;
};

// The stored positions of `group_id` for `partitions` (absent when none is stored).
std::map<PartitionKey, StoredPosition> LoadPositions(
    pg::Connection& connection, const std::string& group_id,
    const std::vector<kafka::TopicPartition>& partitions);

// The stored positions of `group_id` whose replay after an offset reset has not caught up yet.
std::map<PartitionKey, StoredPosition> LoadUnfinishedReplays(pg::Connection& connection,
                                                             const std::string& group_id);

// Every stored next offset of `group_id` in `topic`, by partition.
std::map<int32_t, int64_t> LoadTopicOffsets(pg::Connection& connection, const std::string& group_id,
                                            const std::string& topic);

// Moves the stored positions of `group_id` forward to `next` (never back), in one statement; for
// the apply transaction.
void StoreOffsets(pg::Connection& connection, const std::string& group_id,
                  const std::map<PartitionKey, LogPosition>& next);

// Sets one partition's stored offset to `next_offset` (back or forward, fingerprint unknown) and
// its replay_until: the consumer follows a partition's log that no longer holds the stored
// position. Not a replay: the group's rewind count is unchanged.
void ResetOffset(pg::Connection& connection, const std::string& group_id,
                 const PartitionKey& partition, int64_t next_offset,
                 std::optional<int64_t> replay_until);

// Forgets one partition's stored offset (the partition no longer exists).
void DeleteOffset(pg::Connection& connection, const std::string& group_id,
                  const PartitionKey& partition);

// Sets the stored offsets unconditionally (replay rewinds them) with the offset each partition's
// replay catches up at (`until`, the log's end when it began; none where nothing is re-applied),
// forgets those of partitions of the same topics that `offsets` does not name (they no longer
// exist: the topic was re-created with fewer), and counts the rewind in cdc.group_rewinds (`by`:
// who rewound), in one transaction.
void RewindOffsets(pg::Connection& connection, const std::string& group_id,
                   const std::vector<kafka::TopicPartition>& offsets,
                   const std::map<PartitionKey, int64_t>& until, const std::string& by);

}  // namespace cdc::consumer

#include "consumer/offsets.h"

#include <algorithm>
#include <set>

namespace cdc::consumer {

std::map<PartitionKey, StoredPosition> LoadPositions(
    pg::Connection& connection, const std::string& group_id,
    const std::vector<kafka::TopicPartition>& partitions) {
  std::set<std::string> topics;
  for (const kafka::TopicPartition& p : partitions) topics.insert(p.topic);
  std::map<PartitionKey, StoredPosition> positions;
  for (const std::string& topic : topics) {
    const pg::Result rows = connection.Exec(
        "SELECT partition, next_offset, last_fingerprint, replay_until FROM cdc.offsets"
        " WHERE group_id = $1 AND topic = $2",
        {group_id, topic});
    for (int i = 0; i < rows.rows(); ++i) {
      const PartitionKey key{topic, static_cast<int32_t>(rows.GetInt(i, 0))};
      const bool wanted =
          std::any_of(partitions.begin(), partitions.end(), [&](const kafka::TopicPartition& p) {
            return p.topic == key.first && p.partition == key.second;
          });
      if (!wanted) continue;
      StoredPosition& stored = positions[key];
      stored.position.next_offset = rows.GetInt(i, 1);
      if (!rows.IsNull(i, 2)) stored.position.fingerprint = rows.GetInt(i, 2);
      if (!rows.IsNull(i, 3)) stored.replay_until = rows.GetInt(i, 3);
    }
  }
  return positions;
}

std::map<PartitionKey, StoredPosition> LoadUnfinishedReplays(pg::Connection& connection,
                                                             const std::string& group_id) {
  const pg::Result rows = connection.Exec(
      "SELECT topic, partition, next_offset, replay_until FROM cdc.offsets"
      " WHERE group_id = $1 AND replay_until IS NOT NULL",
      {group_id});
  std::map<PartitionKey, StoredPosition> positions;
  for (int i = 0; i < rows.rows(); ++i) {
    StoredPosition& stored =
        positions[{std::string(rows.Get(i, 0)), static_cast<int32_t>(rows.GetInt(i, 1))}];
    stored.position.next_offset = rows.GetInt(i, 2);
    stored.replay_until = rows.GetInt(i, 3);
  }
  return positions;
}

std::map<int32_t, int64_t> LoadTopicOffsets(pg::Connection& connection, const std::string& group_id,
                                            const std::string& topic) {
  const pg::Result rows = connection.Exec(
      "SELECT partition, next_offset FROM cdc.offsets WHERE group_id = $1 AND topic = $2",
      {group_id, topic});
  std::map<int32_t, int64_t> offsets;
  for (int i = 0; i < rows.rows(); ++i) {
    offsets[static_cast<int32_t>(rows.GetInt(i, 0))] = rows.GetInt(i, 1);
  }
  return offsets;
}

void StoreOffsets(pg::Connection& connection, const std::string& group_id,
                  const std::map<PartitionKey, LogPosition>& next) {
  if (next.empty()) return;
  std::vector<std::string> topics, partitions, offsets, fingerprints;
  for (const auto& [partition, position] : next) {
    topics.push_back(partition.first);
    partitions.push_back(std::to_string(partition.second));
    offsets.push_back(std::to_string(position.next_offset));
    fingerprints.push_back(position.fingerprint ? std::to_string(*position.fingerprint) : "");
  }
  connection.Exec(
      "INSERT INTO cdc.offsets (group_id, topic, partition, next_offset, last_fingerprint,"
      " updated_at)"
      " SELECT $1, o.topic, o.partition, o.next_offset, NULLIF(o.fingerprint, '')::bigint, now()"
      " FROM unnest($2::text[], $3::int[], $4::bigint[], $5::text[])"
      "  AS o(topic, partition, next_offset, fingerprint)"
      " ON CONFLICT (group_id, topic, partition) DO UPDATE"
      " SET next_offset = EXCLUDED.next_offset, last_fingerprint = EXCLUDED.last_fingerprint,"
      "  replay_until = CASE WHEN EXCLUDED.next_offset >= cdc.offsets.replay_until THEN NULL"
      "   ELSE cdc.offsets.replay_until END,"
      "  updated_at = EXCLUDED.updated_at"
      " WHERE cdc.offsets.next_offset < EXCLUDED.next_offset",
      {group_id, pg::ArrayLiteral(topics), pg::ArrayLiteral(partitions), pg::ArrayLiteral(offsets),
       pg::ArrayLiteral(fingerprints)});
}

void ResetOffset(pg::Connection& connection, const std::string& group_id,
                 const PartitionKey& partition, int64_t next_offset,
                 std::optional<int64_t> replay_until) {
  connection.Exec(
      "INSERT INTO cdc.offsets (group_id, topic, partition, next_offset, replay_until, updated_at)"
      " VALUES ($1, $2, $3, $4, NULLIF($5, '')::bigint, now())"
      " ON CONFLICT (group_id, topic, partition) DO UPDATE"
      " SET next_offset = EXCLUDED.next_offset, last_fingerprint = NULL,"
      "  replay_until = EXCLUDED.replay_until, updated_at = EXCLUDED.updated_at",
      {group_id, partition.first, std::to_string(partition.second), std::to_string(next_offset),
       replay_until ? std::to_string(*replay_until) : ""});
}

void DeleteOffset(pg::Connection& connection, const std::string& group_id,
                  const PartitionKey& partition) {
  connection.Exec("DELETE FROM cdc.offsets WHERE group_id = $1 AND topic = $2 AND partition = $3",
                  {group_id, partition.first, std::to_string(partition.second)});
}

void RewindOffsets(pg::Connection& connection, const std::string& group_id,
                   const std::vector<kafka::TopicPartition>& offsets,
                   const std::map<PartitionKey, int64_t>& until, const std::string& by) {
  pg::Transaction tx(connection);
  connection.Exec(
      "INSERT INTO cdc.group_rewinds (group_id, rewinds, rewound_at, rewound_by)"
      " VALUES ($1, 1, now(), $2) ON CONFLICT (group_id) DO UPDATE"
      " SET rewinds = cdc.group_rewinds.rewinds + 1, rewound_at = now(), rewound_by = $2",
      {group_id, by});
  std::vector<std::string> topics, partitions;
  for (const kafka::TopicPartition& p : offsets) {
    topics.push_back(p.topic);
    partitions.push_back(std::to_string(p.partition));
  }
  connection.Exec(
      "DELETE FROM cdc.offsets o WHERE group_id = $1 AND topic = ANY($2::text[]) AND NOT EXISTS"
      " (SELECT 1 FROM unnest($2::text[], $3::int[]) AS k(topic, partition)"
      "  WHERE k.topic = o.topic AND k.partition = o.partition)",
      {group_id, pg::ArrayLiteral(topics), pg::ArrayLiteral(partitions)});
  for (const kafka::TopicPartition& p : offsets) {
    const auto end = until.find({p.topic, p.partition});
    const std::optional<std::string> replay_until = end != until.end() && end->second > p.offset
                                                        ? std::optional(std::to_string(end->second))
                                                        : std::nullopt;
    connection.Exec(
        "INSERT INTO cdc.offsets (group_id, topic, partition, next_offset, replay_until,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, now())"
        " ON CONFLICT (group_id, topic, partition) DO UPDATE"
        " SET next_offset = EXCLUDED.next_offset, last_fingerprint = NULL,"
        "  replay_until = EXCLUDED.replay_until, updated_at = EXCLUDED.updated_at",
        {group_id, p.topic, std::to_string(p.partition), std::to_string(p.offset), replay_until});
  }
  tx.Commit();
}

}  // namespace cdc::consumer

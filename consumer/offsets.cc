#include "consumer/offsets.h"

namespace cdc::consumer {

std::map<PartitionKey, int64_t> LoadOffsets(pg::Connection& connection, const std::string& group_id,
                                            const std::vector<kafka::TopicPartition>& partitions) {
  std::map<PartitionKey, int64_t> offsets;
  std::map<std::string, bool> topics;
  for (const kafka::TopicPartition& p : partitions) topics[p.topic] = true;
  for (const auto& [topic, unused] : topics) {
    for (const auto& [key, offset] : LoadTopicOffsets(connection, group_id, topic)) {
      for (const kafka::TopicPartition& p : partitions) {
        if (p.topic == key.first && p.partition == key.second) offsets[key] = offset;
      }
    }
  }
  return offsets;
}

std::map<PartitionKey, int64_t> LoadTopicOffsets(pg::Connection& connection,
                                                 const std::string& group_id,
                                                 const std::string& topic) {
  const pg::Result rows = connection.Exec(
      "SELECT partition, next_offset FROM cdc.offsets WHERE group_id = $1 AND topic = $2",
      {group_id, topic});
  std::map<PartitionKey, int64_t> offsets;
  for (int i = 0; i < rows.rows(); ++i) {
    offsets[{topic, static_cast<int32_t>(rows.GetInt(i, 0))}] = rows.GetInt(i, 1);
  }
  return offsets;
}

void StoreOffsets(pg::Connection& connection, const std::string& group_id,
                  const std::map<PartitionKey, int64_t>& next) {
  if (next.empty()) return;
  std::vector<std::string> topics, partitions, offsets;
  for (const auto& [partition, offset] : next) {
    topics.push_back(partition.first);
    partitions.push_back(std::to_string(partition.second));
    offsets.push_back(std::to_string(offset));
  }
  connection.Exec(
      "INSERT INTO cdc.offsets (group_id, topic, partition, next_offset, updated_at)"
      " SELECT $1, o.topic, o.partition, o.next_offset, now()"
      " FROM unnest($2::text[], $3::int[], $4::bigint[]) AS o(topic, partition, next_offset)"
      " ON CONFLICT (group_id, topic, partition) DO UPDATE"
      " SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at"
      " WHERE cdc.offsets.next_offset < EXCLUDED.next_offset",
      {group_id, pg::ArrayLiteral(topics), pg::ArrayLiteral(partitions),
       pg::ArrayLiteral(offsets)});
}

void RewindOffsets(pg::Connection& connection, const std::string& group_id,
                   const std::vector<kafka::TopicPartition>& offsets, const std::string& by) {
  pg::Transaction tx(connection);
  connection.Exec(
      "INSERT INTO cdc.group_rewinds (group_id, rewinds, rewound_at, rewound_by)"
      " VALUES ($1, 1, now(), $2) ON CONFLICT (group_id) DO UPDATE"
      " SET rewinds = cdc.group_rewinds.rewinds + 1, rewound_at = now(), rewound_by = $2",
      {group_id, by});
  for (const kafka::TopicPartition& p : offsets) {
    connection.Exec(
        "INSERT INTO cdc.offsets (group_id, topic, partition, next_offset, updated_at)"
        " VALUES ($1, $2, $3, $4, now()) ON CONFLICT (group_id, topic, partition) DO UPDATE"
        " SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at",
        {group_id, p.topic, std::to_string(p.partition), std::to_string(p.offset)});
  }
  tx.Commit();
}

}  // namespace cdc::consumer

#include "consumer/batch.h"

#include <unordered_map>

namespace cdc::consumer {

std::string DeadLetterClass(const std::string& stage, const std::string& code) {
  if (code == "SCHEMA_ID") return "schema_unknown";
  if (code == "SCHEMA_INCOMPATIBLE") return "schema_incompatible";
  if (code == "TABLE_CONFLICT") return "mapping";
  if (code.size() == 5 && code.rfind("22", 0) == 0) return "data";
  if (code.size() == 5 && code.rfind("23", 0) == 0) return "constraint";
  if (stage == "decode") return "decode";
  return "sql";
}

std::vector<TableWork> SelectWinners(const std::vector<TableEvent>& events,
                                     const std::vector<Record>& records,
                                     const std::vector<bool>& excluded) {
  std::map<std::string, TableWork> work;
  std::map<std::string, std::unordered_map<std::string, size_t>> winner_of;  // target -> key -> i
  std::map<std::string, std::vector<size_t>> order;  // target -> winning indexes, first-seen order
  for (size_t i = 0; i < events.size(); ++i) {
    if (!excluded.empty() && excluded[i]) continue;
    const TableEvent& candidate = events[i];
    const std::string& target = candidate.target;
    TableWork& table = work[target];
    if (table.target.empty()) {
      table.target = target;
      table.source = candidate.table->QualifiedName();
      table.topic = records[candidate.record].position.topic;
    }
    auto& winners = winner_of[target];
    const auto [it, inserted] = winners.emplace(candidate.key_text, i);
    if (inserted) {
      order[target].push_back(i);
      continue;
    }
    const TableEvent& current = events[it->second];
    const int64_t seq = candidate.event.source.seq;
    const int64_t current_seq = current.event.source.seq;
    // Same key, same partition: a later record is a later offset. Ties go to the later record.
    if (seq >= current_seq) it->second = i;
  }
  std::vector<TableWork> result;
  for (auto& [target, table] : work) {
    // Winners in first-seen order of their keys, each resolved to its final winner.
    for (const size_t first : order[target]) {
      const size_t winner = winner_of[target][events[first].key_text];
      table.events.push_back(&events[winner]);
    }
    result.push_back(std::move(table));
  }
  return result;
}

const std::vector<kafka::Header>& Record::Headers() const {
  if (origin) {
    headers = origin->headers();
    origin.reset();
  }
  return headers;
}

std::map<std::pair<std::string, int32_t>, int64_t> NextOffsets(const std::vector<Record>& records) {
  std::map<std::pair<std::string, int32_t>, int64_t> next;
  for (const Record& record : records) {
    const RecordPosition& at = record.position;
    int64_t& offset = next[{at.topic, at.partition}];
    offset = std::max(offset, at.offset + 1);
  }
  return next;
}

}  // namespace cdc::consumer

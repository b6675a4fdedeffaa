#include "consumer/batch.h"

#include <string_view>
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

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

void FnvAdd(uint64_t& hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
}

// A field's presence and length go in first, so ("ab", "c") and ("a", "bc") differ.
void FnvAddField(uint64_t& hash, const std::optional<std::string>& field) {
  const std::string length = field ? std::to_string(field->size()) + ":" : std::string("-");
  FnvAdd(hash, length);
  if (field) FnvAdd(hash, *field);
}

}  // namespace

int64_t Fingerprint(const Record& record) {
  uint64_t hash = kFnvOffset;
  FnvAdd(hash, std::to_string(record.position.timestamp_ms) + ";");
  FnvAddField(hash, record.key);
  FnvAddField(hash, record.value);
  return static_cast<int64_t>(hash);
}

std::map<std::pair<std::string, int32_t>, LogPosition> NextPositions(
    const std::vector<Record>& records) {
  std::map<std::pair<std::string, int32_t>, const Record*> last;
  for (const Record& record : records) {
    const Record*& at = last[{record.position.topic, record.position.partition}];
    if (at == nullptr || record.position.offset > at->position.offset) at = &record;
  }
  std::map<std::pair<std::string, int32_t>, LogPosition> next;
  for (const auto& [partition, record] : last) {
    next[partition] = {record->position.offset + 1, Fingerprint(*record)};
  }
  return next;
}

}  // namespace cdc::consumer

#include "consumer/record_decoder.h"

#include "common/error.h"
#include "consumer/pg_text.h"
#include "consumer/settings.h"

namespace cdc::consumer {

RecordDecoder::RecordDecoder(event::EventDecoder& decoder,
                             std::map<std::string, std::string> table_map, UnknownSchemaWait wait)
    : decoder_(decoder), table_map_(std::move(table_map)), wait_(wait) {}

void RecordDecoder::Decode(Batch& batch, size_t index) {
  const Record& record = batch.records[index];
  if (!record.value) return;  // tombstone: compaction's business, nothing to apply
  try {
    static const std::vector<kafka::Header> kUnread;
    event::DecodedEvent decoded =
        decoder_.Decode(*record.value, decoder_.NeedsHeaders() ? record.Headers() : kUnread);
    TableEvent table_event;
    table_event.record = index;
    table_event.schema_id = decoded.schema_id;
    table_event.table = std::move(decoded.table);
    table_event.event = std::move(decoded.event);
    const event::TableMeta& table = *table_event.table;
    if (table.key.empty()) {
      throw PermanentError("NO_KEY", "table " + table.QualifiedName() + " has no key columns");
    }
    if (table_event.event.key.empty()) {
      table_event.event.key = event::KeyFromImage(table, table_event.event);
    }
    if (table_event.event.key.size() != table.key.size()) {
      throw PermanentError("KEY", "the event carries no complete key for " + table.QualifiedName());
    }
    table_event.key_text = KeyText(table, table_event.event.key);
    auto target = targets_.find(decoded.schema_id);
    if (target == targets_.end()) {
      target =
          targets_
              .emplace(decoded.schema_id, TargetTableName(table_map_, table.schema, table.table))
              .first;
    }
    if (target->second.size() > event::kMaxReplicaNameBytes) {
      throw PermanentError("NAME", "the replica table for " + table.QualifiedName() + ", \"" +
                                       target->second + "\", is " +
                                       std::to_string(target->second.size()) +
                                       " bytes, over PostgreSQL's limit of 63: map it to a "
                                       "shorter name in consumer.table_map");
    }
    table_event.target = target->second;
    batch.events.push_back(std::move(table_event));
  } catch (const TransientError&) {
    throw;
  } catch (const FatalError&) {
    throw;
  } catch (const Error& e) {
    if (e.code() == "SCHEMA_ID") WaitForSchema(e);
    batch.dead_letters.push_back(
        {index, "decode", DeadLetterClass("decode", e.code()), e.code(), e.what(), "", ""});
  } catch (const std::exception& e) {
    batch.dead_letters.push_back({index, "decode", "decode", "DECODE", e.what(), "", ""});
  }
}

void RecordDecoder::WaitForSchema(const Error& error) {
  if (wait_.clock == nullptr || wait_.wait.count() == 0) return;
  const Clock::TimePoint now = wait_.clock->Now();
  // The lookup's message names the id (and the registry): the same unknown schema, the same wait.
  const Clock::TimePoint since = unknown_since_.try_emplace(error.what(), now).first->second;
  if (now - since >= wait_.wait) return;
  if (wait_.waits != nullptr) wait_.waits->Inc();
  throw TransientError("SCHEMA_WAIT",
                       std::string(error.what()) + "; waiting up to " +
                           std::to_string(wait_.wait.count()) +
                           " ms (consumer.unknown_schema_wait_ms) for it to be registered");
}

void RecordDecoder::DecodeAll(Batch& batch) {
  batch.decoded = false;
  batch.events.clear();
  batch.dead_letters.clear();
  batch.events.reserve(batch.records.size());
  for (size_t i = 0; i < batch.records.size(); ++i) Decode(batch, i);
  batch.decoded = true;
}

}  // namespace cdc::consumer

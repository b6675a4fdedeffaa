// Turns consumed records into table events: decodes the value (Avro or JSON, schema by id),
// resolves the target table, computes the canonical key. A record that cannot be decoded becomes
// a dead letter (stage "decode"); a tombstone (null value) is neither. One per apply lane (not
// thread-safe).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/error.h"
#include "common/event/decoder.h"
#include "common/metrics/registry.h"
#include "consumer/batch.h"

namespace cdc::consumer {

// How long a schema id the registry does not know is waited for. An unknown id is usually late,
// not poison: re-registered after the broker lost the schemas topic.
struct UnknownSchemaWait {
  Clock* clock = nullptr;  // nullptr: no wait (redrive)
  std::chrono::milliseconds wait{0};
  metrics::Counter* waits = nullptr;  // counts each batch held back
};

class RecordDecoder {
 public:
  // `decoder` (and what `wait` points to) must outlive this object. For `wait` after an unknown
  // id was first met, Decode throws TransientError (the batch is retried); after that, records
  // with the id are dead letters (schema_unknown) at once.
  RecordDecoder(event::EventDecoder& decoder, std::map<std::string, std::string> table_map,
                UnknownSchemaWait wait = {});

  // Decodes batch.records[index] into batch.events or batch.dead_letters. Throws TransientError
  // when the schema registry cannot be reached (the batch is retried, nothing dead-lettered).
  void Decode(Batch& batch, size_t index);
  // Decodes every record of `batch` (dropping what an earlier decoding left) and marks it decoded.
  // Throws like Decode; the batch is then undecoded.
  void DecodeAll(Batch& batch);

 private:
  // Throws TransientError while the unknown schema of `error` is still within its wait.
  void WaitForSchema(const Error& error);

  event::EventDecoder& decoder_;
  const std::map<std::string, std::string> table_map_;
  std::unordered_map<int32_t, std::string> targets_;  // by value schema id
  const UnknownSchemaWait wait_;
  std::unordered_map<std::string, Clock::TimePoint> unknown_since_;  // by the lookup's error
};

}  // namespace cdc::consumer

// Turns consumed records into table events: decodes the value (Avro or JSON, schema by id),
// resolves the target table, computes the canonical key. A record that cannot be decoded becomes
// a dead letter (stage "decode"); a tombstone (null value) is neither. One per apply lane (not
// thread-safe).
#pragma once

#include <map>
#include <string>
#include <unordered_map>

#include "common/event/decoder.h"
#include "consumer/batch.h"

namespace cdc::consumer {

class RecordDecoder {
 public:
  // `decoder` must outlive this object.
  RecordDecoder(event::EventDecoder& decoder, std::map<std::string, std::string> table_map);

  // Decodes batch.records[index] into batch.events or batch.dead_letters. Throws TransientError
  // when the schema registry cannot be reached (the batch is retried, nothing dead-lettered).
  void Decode(Batch& batch, size_t index);
  // Decodes every record of `batch` (dropping what an earlier decoding left) and marks it decoded.
  // Throws like Decode; the batch is then undecoded.
  void DecodeAll(Batch& batch);

 private:
  event::EventDecoder& decoder_;
  const std::map<std::string, std::string> table_map_;
  std::unordered_map<int32_t, std::string> targets_;  // by value schema id
};

}  // namespace cdc::consumer

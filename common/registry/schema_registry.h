// Where Avro schemas live, so that every reader can decode a message from its schema id alone.
// Two implementations: ConfluentRegistry (a Confluent-compatible REST registry, when
// kafka.schema_registry_url is set) and TopicRegistry (the embedded default: a schemas topic).
// Subjects follow the TopicNameStrategy: "<topic>-key" and "<topic>-value".
// Implementations are thread-safe and cache ids in both directions.
#pragma once

#include <cstdint>
#include <string>

namespace cdc::registry {

inline std::string KeySubject(const std::string& topic) { return topic + "-key"; }
inline std::string ValueSubject(const std::string& topic) { return topic + "-value"; }

class SchemaRegistry {
 public:
  virtual ~SchemaRegistry() = default;
  // Registers `schema` (JSON text) under `subject` and returns its id; registering the same
  // schema again returns the same id. Throws TransientError when the registry is unreachable
  // after retries, PermanentError when it rejects the schema, FatalError on bad credentials or a
  // conflicting id.
  virtual int32_t Register(const std::string& subject, const std::string& schema) = 0;
  // The schema text registered under `id`; PermanentError("SCHEMA_ID") when no such id exists.
  virtual std::string Lookup(int32_t id) = 0;
  // Registers again every schema this instance registered that the registry no longer holds
  // (after the brokers lost the schemas topic); returns how many. A REST registry keeps its own
  // storage: nothing to do there. Throws TransientError when the registry cannot be reached.
  virtual size_t Republish() { return 0; }
};

}  // namespace cdc::registry

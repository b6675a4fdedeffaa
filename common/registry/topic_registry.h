// The embedded schema registry: schemas are published to a Kafka topic (kafka.schemas_topic,
// default "_cdc_schemas"; it should be compacted on real Kafka), keyed by schema id, with the
// value {"subject", "version", "id", "schema"} as JSON. The id is derived from the CRC-64-AVRO
// fingerprint of the schema's normal form (avro::SchemaNormalForm: every attribute counts, so a
// decimal whose precision or scale changed gets a new id), so restarts and several producers
// agree on it without coordination. A different schema under an existing id is a FatalError naming
// both. Readers load the topic at the first lookup and again whenever they meet an unknown id.
// A subject's versions are its ids in the order the topic first holds them (1, 2, ...), the same
// for every reader; cdc-api serves them through the Confluent REST subset (api/registry_api.h).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/kafka/topic_reader.h"
#include "common/registry/schema_registry.h"

namespace cdc::registry {

class TopicRegistry final : public SchemaRegistry {
 public:
  // kReader only reads: it creates no topic and no producer, and Register throws.
  enum class Mode { kReadWrite, kReader };
  TopicRegistry(const kafka::KafkaSettings& settings, std::string topic, Logger logger,
                std::chrono::milliseconds load_timeout = std::chrono::seconds(30),
                Mode mode = Mode::kReadWrite);
  ~TopicRegistry() override;

  int32_t Register(const std::string& subject, const std::string& schema) override;
  // An unknown id reads the topic again from where the last read stopped, then once more from its
  // start (the topic may have been re-created since).
  std::string Lookup(int32_t id) override;
  // Reads the whole topic again and publishes every schema registered through this instance that
  // it no longer holds (a cluster lost or restored, the topic re-created).
  size_t Republish() override;

  // Reads of the registry as it is in the topic now (each loads what was added since the last
  // load). Throw TransientError when the topic cannot be read in time.
  struct Version {
    std::string subject;
    int version = 0;
    int32_t id = 0;
    std::string schema;
  };
  std::vector<std::string> Subjects();
  // The subject's versions (empty when the subject is unknown).
  std::vector<int> Versions(const std::string& subject);
  // One version of a subject (nullopt = the latest); nullopt when there is none.
  std::optional<Version> Find(const std::string& subject, std::optional<int> version);

  // The record this registry writes for a schema (exposed for tests and docs).
  static std::string Record(const std::string& subject, int version, int32_t id,
                            const std::string& schema);

 private:
  struct Entry {
    std::string schema;
    std::string canonical;
  };
  class Delivery;

  // Reads the topic from where the last load stopped up to its current end. Caller holds mutex_.
  void Load();
  // Adds one record read from the topic or written by us. Caller holds mutex_.
  void Remember(const std::string& subject, int32_t id, const std::string& schema);
  // Publishes one schema record. Caller holds mutex_.
  void Publish(const std::string& subject, int32_t id, const std::string& schema);

  const std::string topic_;
  const Logger logger_;
  const std::chrono::milliseconds load_timeout_;
  std::mutex mutex_;
  std::map<int32_t, Entry> by_id_;
  std::map<std::string, std::set<int32_t>> subjects_;     // subject -> ids registered under it
  std::map<std::string, std::vector<int32_t>> versions_;  // subject -> ids in topic order
  std::map<std::pair<std::string, int32_t>, std::string> registered_;  // by Register: schema
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<kafka::TopicReader> reader_;  // over consumer_
};

}  // namespace cdc::registry

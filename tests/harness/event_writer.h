// Publishes change events to a dev broker exactly as cdc-producer does: the same key/value
// schemas, the same schema registry (the configured one, by default the schemas topic) and the
// same message builder (a delete is followed by its tombstone). For consumer tests and the
// consumer benchmark. Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/config/config.h"
#include "common/event/change_event.h"
#include "common/event/messages.h"
#include "common/kafka/producer.h"
#include "common/kafka/settings.h"
#include "common/log.h"
#include "common/registry/schema_registry.h"

namespace cdc::testing {

class EventWriter final : public kafka::DeliveryHandler {
 public:
  // `linger_ms` is the producer's linger.ms: a bulk load uses a long one, so the dev broker gets
  // big message sets (its fetch serves one set per partition per request).
  // `schemas_topic` (when set) registers the schemas there instead of the default topic.
  EventWriter(const std::string& bootstrap, event::Format format, int linger_ms = 5,
              const std::string& schemas_topic = "");
  ~EventWriter() override;

  // The topic of `table`: cdc.<SCHEMA>.<TABLE>.
  static std::string Topic(const event::TableMeta& table);

  // Queues `event` of `table` (plus a tombstone after a delete). Returns the value schema id.
  // Schemas are registered once per distinct table shape.
  int32_t Write(const event::TableMeta& table, const event::ChangeEvent& event);

  // Queues one raw record.
  void WriteRaw(const std::string& topic, const std::string& key,
                const std::optional<std::string>& value, const std::vector<kafka::Header>& headers);

  // Waits for every queued record's delivery report; throws std::runtime_error when a record
  // was not delivered (or not within 60 s).
  void Flush();

  void OnDelivery(const kafka::DeliveryReport& report) override;

 private:
  Logging logging_;
  ManualClock clock_;
  config::Config config_;
  kafka::KafkaSettings kafka_;
  std::unique_ptr<registry::SchemaRegistry> registry_;
  std::unique_ptr<kafka::Producer> producer_;
  const event::Format format_;
  std::map<std::string, event::SchemaIds> ids_;  // by table shape
  int64_t failed_ = 0;
};

}  // namespace cdc::testing

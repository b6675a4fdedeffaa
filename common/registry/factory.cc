#include "common/registry/factory.h"

#include "common/registry/confluent_registry.h"
#include "common/registry/topic_registry.h"

namespace cdc::registry {

std::unique_ptr<SchemaRegistry> MakeSchemaRegistry(const config::ConfigView& config,
                                                   const kafka::KafkaSettings& kafka, Clock& clock,
                                                   Logger logger) {
  if (!config.GetString("kafka.schema_registry_url").empty()) {
    return std::make_unique<ConfluentRegistry>(ConfluentSettings::FromConfig(config), clock,
                                               std::move(logger));
  }
  return std::make_unique<TopicRegistry>(kafka, config.GetString("kafka.schemas_topic"),
                                         std::move(logger));
}

}  // namespace cdc::registry

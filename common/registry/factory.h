// The schema registry the configuration asks for: ConfluentRegistry when
// kafka.schema_registry_url is set, else TopicRegistry on kafka.schemas_topic.
#pragma once

#include <memory>

#include "common/clock.h"
#include "common/config/config.h"
#include "common/kafka/settings.h"
#include "common/log.h"
#include "common/registry/schema_registry.h"

namespace cdc::registry {

std::unique_ptr<SchemaRegistry> MakeSchemaRegistry(const config::ConfigView& config,
                                                   const kafka::KafkaSettings& kafka, Clock& clock,
                                                   Logger logger);

}  // namespace cdc::registry

// The configuration file's contract. Every binary validates the whole file against this schema,
// so a section added for one binary is accepted (and type-checked) by all of them.
#include "common/config/schema.h"

namespace cdc::config {

ConfigSchema ProjectSchema() {
  ConfigSchema schema;
  schema.sections.push_back(KeySpec::Section(
      "pipeline",
      {
          // Logical name of this pipeline: appears in events' source.name and in metrics.
          KeySpec::String("name").Required(),
      }));
  schema.sections.push_back(KeySpec::Section(
      "log",
      {
          KeySpec::Enum("level", {"trace", "debug", "info", "warn", "error"}).Default("info"),
          KeySpec::Enum("format", {"json", "text"}).Default("text"),
      }));
  schema.sections.push_back(KeySpec::Section(
      "kafka",
      {
          KeySpec::String("bootstrap_servers").Default("127.0.0.1:9092"),
          KeySpec::Enum("format", {"avro", "json"}).Default("avro"),
          KeySpec::String("topic_prefix").Default("cdc"),
          // Passed to librdkafka unchanged (security.protocol, ssl.*, sasl.*, ...).
          KeySpec::StringMap("properties").Default("{}"),
          // A delete is followed by a tombstone (same key, null value) so compacted topics forget
          // it.
          KeySpec::Bool("tombstones").Default("true"),
          // Confluent-compatible schema registry; empty = schemas are published to `schemas_topic`.
          KeySpec::String("schema_registry_url").Default("\"\""),
          KeySpec::String("schema_registry_user").Default("\"\""),
          KeySpec::String("schema_registry_password").Default("\"\"").Secret(),
          KeySpec::String("schema_registry_ca_location").Default("\"\""),
          KeySpec::Int("schema_registry_timeout_ms", 100, 600000).Default("10000"),
          KeySpec::String("schemas_topic").Default("_cdc_schemas"),
      }));
  return schema;
}

}  // namespace cdc::config

#include "producer/settings.h"

#include <unistd.h>

#include <set>

#include "common/error.h"
#include "common/event/messages.h"
#include "common/kafka/settings.h"

namespace cdc::producer {

using kafka::IsValidTopicName;

ProducerSettings ProducerSettings::FromConfig(const config::Config& config) {
  std::vector<std::string> problems;
  ProducerSettings settings;
  settings.pipeline = config.GetString("pipeline.name");
  settings.connection = config.GetString("source.connection", "");
  if (settings.connection.empty()) {
    problems.push_back("source.connection: required by cdc-producer (an ODBC connection string)");
  }
  const std::string dialect = config.GetString("source.dialect");
  if (dialect != "auto") settings.dialect = ParseDialect(dialect);

  const std::string prefix = config.GetString("kafka.topic_prefix");
  std::set<std::string> names;
  const std::vector<config::ConfigView> tables = config.GetList("producer.tables");
  if (tables.empty()) problems.push_back("producer.tables: list at least one table to capture");
  for (size_t i = 0; i < tables.size(); ++i) {
    const config::ConfigView& item = tables[i];
    const std::string path = "producer.tables[" + std::to_string(i) + "].";
    TableSettings table;
    table.name = item.GetString("name");
    try {
      table.source.table = TableName::Parse(table.name);
      const std::string change_table = item.GetString("change_table", table.name + "_CT");
      try {
        table.source.change_table = TableName::Parse(change_table);
      } catch (const Error& e) {
        problems.push_back(path + "change_table: " + e.what());
      }
    } catch (const Error& e) {
      problems.push_back(path + "name: " + e.what());
      continue;
    }
    if (!names.insert(table.name).second) {
      problems.push_back(path + "name: table \"" + table.name + "\" is listed twice");
    }
    table.source.key = item.GetStringList("key");
    table.source.key_setting = path + "key";
    table.source.capture.before_image = item.GetBool("before_image");
    for (const auto& [source, target] : config.GetStringMap("consumer.table_map")) {
      // "SCHEMA.TABLE" as the source names it (the schema of an unqualified table is the
      // source's default one, so any schema counts here).
      const std::string suffix = "." + table.source.table.table;
      if (source.size() > suffix.size() && source.ends_with(suffix) &&
          (table.source.table.schema.empty() || source == table.source.table.schema + suffix)) {
        table.replica_mapped = true;
      }
    }
    const std::string schema =
        table.source.table.schema.empty() ? std::string("main") : table.source.table.schema;
    table.topic = item.GetString("topic", prefix + "." + schema + "." + table.source.table.table);
    if (!IsValidTopicName(table.topic)) {
      problems.push_back(path + "topic: \"" + table.topic +
                         "\" is not a valid Kafka topic name ([a-zA-Z0-9._-], at most 249)");
    }
    settings.tables.push_back(std::move(table));
  }

  StreamOptions& stream = settings.stream;
  stream.pipeline = settings.pipeline;
  stream.topic_prefix = prefix;
  stream.dead_letter_topic = config.GetString("producer.dead_letter_topic");
  if (!IsValidTopicName(stream.dead_letter_topic)) {
    problems.push_back("producer.dead_letter_topic: \"" + stream.dead_letter_topic +
                       "\" is not a valid Kafka topic name");
  }
  stream.messages.format = event::ParseFormat(config.GetString("kafka.format"));
  stream.messages.tombstones = config.GetBool("kafka.tombstones");
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  stream.messages.producer_id =
      settings.pipeline + "@" + std::string(host) + ":" + std::to_string(getpid());
  stream.batch_size = static_cast<size_t>(config.GetInt("producer.batch_size"));
  stream.poll_interval = std::chrono::milliseconds(config.GetInt("producer.poll_interval_ms"));
  stream.gap_timeout = std::chrono::milliseconds(config.GetInt("producer.gap_timeout_ms"));
  stream.snapshot_initial = config.GetString("producer.snapshot") == "initial";
  stream.backfill_new_columns = config.GetBool("producer.backfill_new_columns");
  stream.purge = config.GetBool("producer.purge");
  stream.purge_interval = std::chrono::milliseconds(config.GetInt("producer.purge_interval_ms"));
  stream.max_in_flight = static_cast<size_t>(config.GetInt("producer.max_in_flight"));
  const std::map<std::string, std::string> kafka = config.GetStringMap("kafka.properties");
  if (const auto limit = kafka.find("message.max.bytes"); limit != kafka.end()) {
    // librdkafka has validated the number (it refuses to start otherwise).
    stream.max_message_bytes =
        static_cast<size_t>(std::strtoull(limit->second.c_str(), nullptr, 10));
  }

  settings.checkpoint_topic = config.GetString("producer.checkpoint_topic");
  if (!IsValidTopicName(settings.checkpoint_topic)) {
    problems.push_back("producer.checkpoint_topic: \"" + settings.checkpoint_topic +
                       "\" is not a valid Kafka topic name");
  }
  settings.checkpoint_interval =
      std::chrono::milliseconds(config.GetInt("producer.checkpoint_interval_ms"));
  settings.confirmed_check_interval =
      std::chrono::milliseconds(config.GetInt("producer.confirmed_check_interval_ms"));
  try {
    settings.metrics_listen = ParseHostPort(config.GetString("producer.metrics_listen"));
  } catch (const Error& e) {
    problems.push_back(std::string("producer.metrics_listen: ") + e.what());
  }
  settings.topic_partitions = static_cast<int>(config.GetInt("producer.topic_partitions"));
  settings.topic_replication_factor =
      static_cast<int>(config.GetInt("producer.topic_replication_factor"));
  if (!problems.empty()) throw config::ConfigError(problems);
  return settings;
}

const TableSettings* ProducerSettings::FindTable(const std::string& name) const {
  for (const TableSettings& table : tables) {
    if (table.name == name) return &table;
  }
  return nullptr;
}

}  // namespace cdc::producer

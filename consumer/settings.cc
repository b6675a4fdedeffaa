#include "consumer/settings.h"

#include <regex>
#include <set>

#include "common/error.h"
#include "common/kafka/settings.h"
#include "common/sql_quote.h"
#include "consumer/target_schema.h"

namespace cdc::consumer {
namespace {

// Checks that `name` is a usable PostgreSQL identifier; adds a problem for `path` otherwise.
void CheckIdentifier(const std::string& path, const std::string& name,
                     std::vector<std::string>& problems) {
  try {
    (void)QuoteIdentifier(SqlDialect::kPostgres, name);
  } catch (const Error& e) {
    problems.push_back(path + ": " + e.what());
  }
}

}  // namespace

std::string TargetTableName(const std::map<std::string, std::string>& table_map,
                            const std::string& source_schema, const std::string& source_table) {
  const auto mapped = table_map.find(source_schema + "." + source_table);
  if (mapped != table_map.end()) return mapped->second;
  return TargetColumnName(source_table);  // the same lower-casing rule as columns
}

ConsumerSettings ConsumerSettings::FromConfig(const config::Config& config) {
  std::vector<std::string> problems;
  ConsumerSettings s;
  s.pipeline = config.GetString("pipeline.name");
  s.postgres_url = config.GetString("postgres.url", "");
  if (s.postgres_url.empty()) {
    problems.push_back("postgres.url: required by cdc-consumer (a libpq URL of the replica)");
  }
  s.target_schema = config.GetString("postgres.schema");
  CheckIdentifier("postgres.schema", s.target_schema, problems);
  if (s.target_schema == "cdc") {
    problems.push_back("postgres.schema: \"cdc\" holds the pipeline's own tables; choose another");
  }
  s.group_id = config.GetString("consumer.group_id");
  if (s.group_id.empty()) problems.push_back("consumer.group_id: must not be empty");
  s.topics = config.GetStringList("consumer.topics");
  s.topic_pattern = config.GetString("consumer.topic_pattern");
  if (s.topics.empty() == s.topic_pattern.empty()) {
    problems.push_back(
        "consumer.topics: set either consumer.topics (a list) or consumer.topic_pattern");
  }
  for (size_t i = 0; i < s.topics.size(); ++i) {
    if (!kafka::IsValidTopicName(s.topics[i])) {
      problems.push_back("consumer.topics[" + std::to_string(i) + "]: \"" + s.topics[i] +
                         "\" is not a valid Kafka topic name");
    }
  }
  if (!s.topic_pattern.empty()) {
    try {
      (void)std::regex(s.topic_pattern, std::regex::extended);
    } catch (const std::regex_error& e) {
      problems.push_back("consumer.topic_pattern: not a regular expression: " +
                         std::string(e.what()));
    }
  }
  s.table_map = config.GetStringMap("consumer.table_map");
  std::map<std::string, std::string> mapped_sources;
  for (const auto& [source, target] : s.table_map) {
    const std::string path = "consumer.table_map." + source;
    if (source.find('.') == std::string::npos) {
      problems.push_back(path + ": the source must be written SCHEMA.TABLE");
    }
    CheckIdentifier(path, target, problems);
    const auto [it, inserted] = mapped_sources.emplace(target, source);
    if (!inserted) {
      problems.push_back(path + ": target \"" + target + "\" is also the target of " + it->second);
    }
  }
  s.batch_max_events = static_cast<size_t>(config.GetInt("consumer.batch_max_events"));
  s.apply_lanes = static_cast<size_t>(config.GetInt("consumer.apply_lanes"));
  s.batch_max_ms = std::chrono::milliseconds(config.GetInt("consumer.batch_max_ms"));
  s.dlq_topic = config.GetString("consumer.dlq_topic");
  if (s.dlq_topic.empty()) s.dlq_topic = s.group_id + ".dlq";
  if (!kafka::IsValidTopicName(s.dlq_topic)) {
    problems.push_back("consumer.dlq_topic: \"" + s.dlq_topic +
                       "\" is not a valid Kafka topic name");
  } else if (problems.empty() && s.IsInputTopic(s.dlq_topic)) {
    problems.push_back("consumer.dlq_topic: \"" + s.dlq_topic +
                       "\" is also an input topic (dead letters would be consumed again)");
  }
  s.delete_mode =
      config.GetString("consumer.delete_mode") == "soft" ? DeleteMode::kSoft : DeleteMode::kHard;
  s.tombstone_retention = std::chrono::hours(config.GetInt("consumer.tombstone_retention_hours"));
  s.change_feed = config.GetBool("consumer.change_feed");
  s.unhealthy_after = std::chrono::milliseconds(config.GetInt("consumer.unhealthy_after_ms"));
  s.on_offset_reset = config.GetString("consumer.on_offset_reset") == "replay"
                          ? OffsetResetPolicy::kReplay
                          : OffsetResetPolicy::kStop;
  s.unknown_schema_wait =
      std::chrono::milliseconds(config.GetInt("consumer.unknown_schema_wait_ms"));
  try {
    s.metrics_listen = ParseHostPort(config.GetString("consumer.metrics_listen"));
  } catch (const Error& e) {
    problems.push_back(std::string("consumer.metrics_listen: ") + e.what());
  }
  s.format = event::ParseFormat(config.GetString("kafka.format"));
  s.topic_prefix = config.GetString("kafka.topic_prefix");

  // Explicit topics named <prefix>.<SCHEMA>.<TABLE> reveal their source tables: two that map to
  // one target are caught now (pattern subscriptions are checked when the tables first appear).
  std::map<std::string, std::string> targets;
  for (const std::string& topic : s.topics) {
    const std::string prefix = s.topic_prefix + ".";
    if (topic.rfind(prefix, 0) != 0) continue;
    const std::string rest = topic.substr(prefix.size());
    const size_t dot = rest.find('.');
    if (dot == std::string::npos) continue;
    const std::string target =
        TargetTableName(s.table_map, rest.substr(0, dot), rest.substr(dot + 1));
    const auto [it, inserted] = targets.emplace(target, rest);
    if (!inserted && it->second != rest) {
      problems.push_back("consumer.table_map: sources " + it->second + " and " + rest +
                         " would both replicate into \"" + target +
                         "\"; map one of them to another table in consumer.table_map");
    }
  }
  if (!problems.empty()) throw config::ConfigError(problems);
  return s;
}

std::vector<std::string> ConsumerSettings::Subscription() const {
  if (!topics.empty()) return topics;
  return {topic_pattern.front() == '^' ? topic_pattern : "^" + topic_pattern};
}

bool ConsumerSettings::IsInputTopic(const std::string& topic) const {
  if (!topics.empty()) return std::find(topics.begin(), topics.end(), topic) != topics.end();
  return std::regex_search(topic, std::regex(topic_pattern, std::regex::extended));
}

}  // namespace cdc::consumer

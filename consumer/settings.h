// The consumer's view of the configuration (sections postgres, consumer, kafka, pipeline),
// validated at start-up: every problem is a ConfigError naming its key path.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/event/messages.h"
#include "common/host_port.h"

namespace cdc::consumer {

enum class DeleteMode { kHard, kSoft };
enum class OffsetResetPolicy { kStop, kReplay };

struct ConsumerSettings {
  std::string pipeline;
  std::string postgres_url;
  std::string target_schema;
  std::string group_id;
  std::vector<std::string> topics;  // explicit input topics (empty when topic_pattern is used)
  std::string topic_pattern;        // regular expression (empty when topics are listed)
  std::map<std::string, std::string> table_map;  // "SCHEMA.TABLE" -> target table
  size_t batch_max_events = 5000;
  std::chrono::milliseconds batch_max_ms{100};
  size_t apply_lanes = 2;
  std::string dlq_topic;
  DeleteMode delete_mode = DeleteMode::kHard;
  std::chrono::hours tombstone_retention{168};
  bool change_feed = false;  // target tables get the change-feed index on _cdc_seq
  std::chrono::milliseconds unhealthy_after{60'000};
  OffsetResetPolicy on_offset_reset = OffsetResetPolicy::kStop;
  std::chrono::milliseconds unknown_schema_wait{60'000};
  HostPort metrics_listen;
  event::Format format = event::Format::kAvro;
  std::string topic_prefix;
  // Set at run time, not by the configuration: a running member's rewind count of the group when
  // it joined (its apply transactions check it, consumer/group_lock.h); nullopt for a replay,
  // which holds the group lock exclusively.
  std::optional<int64_t> member_rewinds;

  // Throws config::ConfigError listing every problem.
  static ConsumerSettings FromConfig(const config::Config& config);

  // What to subscribe to: the topics, or the pattern prefixed with '^' as librdkafka expects.
  std::vector<std::string> Subscription() const;
  // True when `topic` is one of the inputs (listed, or matching the pattern).
  bool IsInputTopic(const std::string& topic) const;
};

// The target table name for a source table: table_map["SCHEMA.TABLE"] when present, else the
// source table name lower-cased.
std::string TargetTableName(const std::map<std::string, std::string>& table_map,
                            const std::string& source_schema, const std::string& source_table);

}  // namespace cdc::consumer

// Topic administration through librdkafka's Admin API (CreateTopics).
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "common/kafka/settings.h"
#include "common/log.h"

namespace cdc::kafka {

enum class CreateTopicResult { kCreated, kAlreadyExists };

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = -1;                 // -1 = the broker's default.replication.factor
  std::map<std::string, std::string> configs;  // e.g. {"cleanup.policy", "compact"}
};

// Creates `spec` unless it exists. Throws the error's class otherwise. librdkafka's 2.0.2 mock
// cluster (the dev broker) has no CreateTopics API: the call then times out with a
// TransientError, which callers treat as "fall back to auto-creation".
CreateTopicResult CreateTopic(const KafkaSettings& settings, const TopicSpec& spec,
                              std::chrono::milliseconds timeout, const Logger& logger);

}  // namespace cdc::kafka

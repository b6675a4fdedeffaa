#include "common/registry/topic_registry.h"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>

#include "common/avro/canonical.h"
#include "common/error.h"
#include "common/kafka/admin.h"

namespace cdc::registry {

class TopicRegistry::Delivery final : public kafka::DeliveryHandler {
 public:
  void OnDelivery(const kafka::DeliveryReport& report) override {
    last = report;
    done = true;
  }
  kafka::DeliveryReport last;
  bool done = false;
};

namespace {

std::string Shorten(const std::string& text) {
  return text.size() > 160 ? text.substr(0, 160) + "..." : text;
}

}  // namespace

std::string TopicRegistry::Record(const std::string& subject, int version, int32_t id,
                                  const std::string& schema) {
  nlohmann::ordered_json record;
  record["subject"] = subject;
  record["version"] = version;
  record["id"] = id;
  record["schema"] = schema;
  return record.dump();
}

TopicRegistry::TopicRegistry(const kafka::KafkaSettings& settings, std::string topic, Logger logger,
                             std::chrono::milliseconds load_timeout, Mode mode)
    : topic_(std::move(topic)),
      logger_(std::move(logger)),
      load_timeout_(load_timeout),
      delivery_(std::make_unique<Delivery>()) {
  // A private group: the loader assigns partitions itself and never commits.
  const std::string group = "cdc-schemas-reader-" + std::to_string(getpid()) + "-" +
                            std::to_string(std::random_device{}());
  consumer_ = std::make_unique<kafka::Consumer>(settings, group, nullptr, logger_);
  reader_ = std::make_unique<kafka::TopicReader>(*consumer_, topic_);
  if (mode == Mode::kReader) return;
  producer_ = std::make_unique<kafka::Producer>(
      settings, *delivery_, logger_, std::map<std::string, std::string>{{"linger.ms", "0"}});
  // A missing schemas topic is created as one compacted partition, so that schemas outlive any
  // retention setting on real Kafka. The dev broker (librdkafka 2.0.2 mock) has no CreateTopics
  // API: the attempt times out after a few seconds and the topic is auto-created on first publish.
  if (consumer_->Partitions(topic_, load_timeout_).empty()) {
    try {
      kafka::CreateTopic(settings, {topic_, 1, -1, {{"cleanup.policy", "compact"}}},
                         std::chrono::seconds(3), logger_);
    } catch (const Error& e) {
      logger_.Warn("could not create the compacted schemas topic; it will be auto-created",
                   {{"topic", topic_}, {"error", e.what()}});
    }
  }
  // The first schema then goes out at once instead of after librdkafka's next topic scan (~1 s).
  static_cast<void>(producer_->LoadTopicMetadata({topic_}, load_timeout_));
}

TopicRegistry::~TopicRegistry() = default;

void TopicRegistry::Remember(const std::string& subject, int32_t id, const std::string& schema) {
  const std::string canonical = avro::SchemaNormalForm(schema);
  const auto found = by_id_.find(id);
  if (found != by_id_.end() && found->second.canonical != canonical) {
    throw FatalError("SCHEMA_ID_CONFLICT", "schema id " + std::to_string(id) + " in " + topic_ +
                                               " is taken by " + Shorten(found->second.canonical) +
                                               " but " + subject + " has " + Shorten(canonical) +
                                               " (a 31-bit fingerprint collision)");
  }
  if (found == by_id_.end()) by_id_[id] = {schema, canonical};
  if (subjects_[subject].insert(id).second) versions_[subject].push_back(id);
}

void TopicRegistry::Load() {
  size_t loaded = 0;
  try {
    reader_->ReadToEnd(load_timeout_, [&](const kafka::Message& message) {
      const nlohmann::json record =
          nlohmann::json::parse(message.value().value_or(""), nullptr, false);
      if (!record.is_object() || !record.contains("subject") || !record["subject"].is_string() ||
          !record.contains("id") || !record["id"].is_number_integer() ||
          !record.contains("schema") || !record["schema"].is_string()) {
        logger_.Warn(
            "skipping a malformed record in the schemas topic",
            {{"topic", topic_}, {"partition", message.partition()}, {"offset", message.offset()}});
        return;
      }
      try {
        Remember(record["subject"].get<std::string>(), record["id"].get<int32_t>(),
                 record["schema"].get<std::string>());
        ++loaded;
      } catch (const PermanentError& e) {
        logger_.Warn("skipping an unparsable schema in the schemas topic",
                     {{"topic", topic_}, {"offset", message.offset()}, {"error", e.what()}});
      }
    });
  } catch (const TransientError&) {
    throw TransientError("SCHEMAS_TOPIC", "timed out loading " + topic_);
  }
  logger_.Debug("schemas loaded", {{"topic", topic_}, {"records", loaded}});
}

int32_t TopicRegistry::Register(const std::string& subject, const std::string& schema) {
  const std::string canonical = avro::SchemaNormalForm(schema);
  const int32_t id = avro::SchemaIdFor(schema);
  std::lock_guard lock(mutex_);
  auto registered = [&] {
    const auto found = by_id_.find(id);
    if (found != by_id_.end() && found->second.canonical != canonical) {
      throw FatalError("SCHEMA_ID_CONFLICT", "schema id " + std::to_string(id) + " in " + topic_ +
                                                 " is taken by " +
                                                 Shorten(found->second.canonical) + " but " +
                                                 subject + " has " + Shorten(canonical));
    }
    const auto ids = subjects_.find(subject);
    return found != by_id_.end() && ids != subjects_.end() && ids->second.count(id) != 0;
  };
  if (registered()) return id;
  Load();  // another producer may have registered it (or a conflicting schema) meanwhile
  if (!registered()) Publish(subject, id, schema);
  registered_[{subject, id}] = schema;
  return id;
}

void TopicRegistry::Publish(const std::string& subject, int32_t id, const std::string& schema) {
  if (!producer_) throw FatalError("SCHEMAS_TOPIC", "a schemas topic reader cannot register");
  const int version = static_cast<int>(subjects_[subject].size()) + 1;
  const std::string key = std::to_string(id);
  const std::string value = Record(subject, version, id, schema);
  delivery_->done = false;
  producer_->Produce({topic_, key, value, {}, std::nullopt, 0});
  if (!producer_->Flush(load_timeout_) || !delivery_->done) {
    throw TransientError("SCHEMAS_TOPIC", "timed out publishing schema " + key + " to " + topic_);
  }
  if (!delivery_->last.ok()) {
    ThrowError(*delivery_->last.error_class, delivery_->last.error_code,
               "publishing schema " + key + " to " + topic_ + ": " + delivery_->last.error_message);
  }
  Remember(subject, id, schema);
  logger_.Info("schema published",
               {{"topic", topic_}, {"subject", subject}, {"id", id}, {"version", version}});
}

size_t TopicRegistry::Republish() {
  std::lock_guard lock(mutex_);
  by_id_.clear();
  subjects_.clear();
  versions_.clear();
  reader_->Rewind();
  Load();
  size_t published = 0;
  for (const auto& [key, schema] : registered_) {
    const auto ids = subjects_.find(key.first);
    if (ids != subjects_.end() && ids->second.count(key.second) != 0) continue;
    Publish(key.first, key.second, schema);
    ++published;
  }
  return published;
}

std::string TopicRegistry::Lookup(int32_t id) {
  std::lock_guard lock(mutex_);
  auto found = by_id_.find(id);
  if (found != by_id_.end()) return found->second.schema;
  Load();
  found = by_id_.find(id);
  if (found == by_id_.end()) {
    reader_->Rewind();  // the topic may have been re-created and filled past where we stopped
    Load();
    found = by_id_.find(id);
  }
  if (found == by_id_.end()) {
    throw PermanentError("SCHEMA_ID", "schema id " + std::to_string(id) + " is not in " + topic_);
  }
  return found->second.schema;
}

std::vector<std::string> TopicRegistry::Subjects() {
  std::lock_guard lock(mutex_);
  Load();
  std::vector<std::string> subjects;
  for (const auto& [subject, ids] : versions_) subjects.push_back(subject);
  return subjects;
}

std::vector<int> TopicRegistry::Versions(const std::string& subject) {
  std::lock_guard lock(mutex_);
  Load();
  std::vector<int> versions;
  const auto found = versions_.find(subject);
  if (found == versions_.end()) return versions;
  for (size_t i = 0; i < found->second.size(); ++i) versions.push_back(static_cast<int>(i) + 1);
  return versions;
}

std::optional<TopicRegistry::Version> TopicRegistry::Find(const std::string& subject,
                                                          std::optional<int> version) {
  std::lock_guard lock(mutex_);
  Load();
  const auto found = versions_.find(subject);
  if (found == versions_.end() || found->second.empty()) return std::nullopt;
  const int count = static_cast<int>(found->second.size());
  const int chosen = version.value_or(count);
  if (chosen < 1 || chosen > count) return std::nullopt;
  const int32_t id = found->second[static_cast<size_t>(chosen - 1)];
  return Version{subject, chosen, id, by_id_.at(id).schema};
}

}  // namespace cdc::registry

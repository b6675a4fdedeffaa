#include "common/kafka/admin.h"

#include <memory>

namespace cdc::kafka {
namespace {

struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* topic) const { rd_kafka_NewTopic_destroy(topic); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* options) const {
    rd_kafka_AdminOptions_destroy(options);
  }
};

}  // namespace

CreateTopicResult CreateTopic(const KafkaSettings& settings, const TopicSpec& spec,
                              std::chrono::milliseconds timeout, const Logger& logger) {
  ConfPtr conf = BuildConf(settings, {}, {});
  char errstr[512];
  HandlePtr admin(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr)));
  if (!admin) throw FatalError("KAFKA", std::string("cannot create admin client: ") + errstr);
  static_cast<void>(conf.release());

  std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter> topic(rd_kafka_NewTopic_new(
      spec.name.c_str(), spec.partitions, spec.replication_factor, errstr, sizeof(errstr)));
  if (!topic) throw PermanentError("TOPIC", "invalid topic " + spec.name + ": " + errstr);
  for (const auto& [key, value] : spec.configs) {
    ThrowIfError(rd_kafka_NewTopic_set_config(topic.get(), key.c_str(), value.c_str()),
                 "topic config " + key);
  }
  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> options(
      rd_kafka_AdminOptions_new(admin.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), static_cast<int>(timeout.count()),
                                              errstr, sizeof(errstr));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), static_cast<int>(timeout.count()),
                                            errstr, sizeof(errstr));
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> queue(rd_kafka_queue_new(admin.get()));
  rd_kafka_NewTopic_t* topics[] = {topic.get()};
  rd_kafka_CreateTopics(admin.get(), topics, 1, options.get(), queue.get());
  std::unique_ptr<rd_kafka_event_t, EventDeleter> event(
      rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 1000));
  if (!event) throw TransientError("_TIMED_OUT", "creating topic " + spec.name + " timed out");
  ThrowIfError(rd_kafka_event_error(event.get()),
               std::string("creating topic ") + spec.name + ": " +
                   (rd_kafka_event_error_string(event.get()) ?: ""));
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return CreateTopicResult::kAlreadyExists;
    const char* message = rd_kafka_topic_result_error_string(results[i]);
    ThrowIfError(err, "creating topic " + spec.name + (message ? std::string(": ") + message : ""));
  }
  logger.Info("topic created", {{"topic", spec.name}, {"partitions", spec.partitions}});
  return CreateTopicResult::kCreated;
}

}  // namespace cdc::kafka

#include "common/kafka/producer.h"

#include <thread>

namespace cdc::kafka {
namespace {

struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};

}  // namespace

Producer::Producer(const KafkaSettings& settings, DeliveryHandler& handler, Logger logger,
                   const std::map<std::string, std::string>& overrides)
    : handler_(handler), state_("producer", std::move(logger)) {
  std::map<std::string, std::string> defaults = {
      {"enable.idempotence", "true"},    {"acks", "all"},
      {"partitioner", "murmur2_random"}, {"linger.ms", "5"},
      {"message.timeout.ms", "300000"},
  };
  for (const auto& [key, value] : overrides) defaults[key] = value;
  ConfPtr conf = BuildConf(settings, defaults, {});
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Producer::OnDeliveryCallback);
  rd_kafka_conf_set_error_cb(conf.get(), &Producer::OnErrorCallback);
  rd_kafka_conf_set_log_cb(conf.get(), &Producer::OnLogCallback);
  state_.logger().Debug("kafka producer configuration", {{"conf", RedactedConfDump(conf.get())}});
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) throw FatalError("KAFKA", std::string("cannot create producer: ") + errstr);
  static_cast<void>(conf.release());  // owned by the handle now
  handle_.reset(rk);
}

Producer::~Producer() {
  if (!handle_) return;
  rd_kafka_flush(handle_.get(), static_cast<int>(kCloseFlushTimeout.count()));
  if (const int left = rd_kafka_outq_len(handle_.get()); left > 0) {
    state_.logger().Warn("producer closed with messages still in flight", {{"in_flight", left}});
  }
  declared_.clear();  // topic handles go before the client handle
}

void Producer::OnDeliveryCallback(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message,
                                  void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  DeliveryReport report;
  report.topic = message->rkt != nullptr ? rd_kafka_topic_name(message->rkt) : "";
  report.partition = message->partition;
  report.offset = message->offset;
  report.tag = reinterpret_cast<uintptr_t>(message->_private);
  if (message->key != nullptr) {
    report.key = std::string_view(static_cast<const char*>(message->key), message->key_len);
  }
  if (message->payload != nullptr) {
    report.value = std::string_view(static_cast<const char*>(message->payload), message->len);
  }
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    report.error_class = ClassifyKafkaError(message->err);
    report.error_code = rd_kafka_err2name(message->err);
    report.error_message = rd_kafka_err2str(message->err);
  }
  self->handler_.OnDelivery(report);
}

void Producer::OnErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  static_cast<Producer*>(opaque)->state_.OnError(rk, err, reason);
}

void Producer::OnLogCallback(const rd_kafka_t* rk, int level, const char* facility,
                             const char* buf) {
  if (auto* self = static_cast<Producer*>(rd_kafka_opaque(rk))) {
    self->state_.OnLog(level, facility, buf);
  }
}

void Producer::Produce(const OutgoingMessage& message, std::chrono::milliseconds queue_full_wait) {
  state_.ThrowIfFatal();
  const auto give_up = std::chrono::steady_clock::now() + queue_full_wait;
  while (true) {
    std::unique_ptr<rd_kafka_headers_t, HeadersDeleter> headers;
    if (!message.headers.empty()) {
      headers.reset(rd_kafka_headers_new(message.headers.size()));
      for (const Header& header : message.headers) {
        rd_kafka_header_add(headers.get(), header.key.data(),
                            static_cast<ssize_t>(header.key.size()),
                            header.value ? header.value->data() : nullptr,
                            header.value ? static_cast<ssize_t>(header.value->size()) : 0);
      }
    }
    const std::string topic(message.topic);
    const void* key = message.key ? message.key->data() : nullptr;
    const size_t key_size = message.key ? message.key->size() : 0;
    void* value = message.value ? const_cast<char*>(message.value->data()) : nullptr;
    const size_t value_size = message.value ? message.value->size() : 0;
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        handle_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_PARTITION(message.partition.value_or(RD_KAFKA_PARTITION_UA)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_size),
        RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_HEADERS(headers.get()),
        RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(message.tag))),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)headers.release();  // owned by the message now
      return;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || std::chrono::steady_clock::now() >= give_up) {
      state_.ThrowIfFatal();
      ThrowKafkaError(err, "produce to " + topic);
    }
    rd_kafka_poll(handle_.get(), 100);
  }
}

int Producer::Poll(std::chrono::milliseconds timeout) {
  const int served = rd_kafka_poll(handle_.get(), static_cast<int>(timeout.count()));
  state_.ThrowIfFatal();
  return served;
}

bool Producer::Flush(std::chrono::milliseconds timeout) {
  const rd_kafka_resp_err_t err = rd_kafka_flush(handle_.get(), static_cast<int>(timeout.count()));
  state_.ThrowIfFatal();
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void Producer::PurgeAll() {
  rd_kafka_purge(handle_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(handle_.get(), 0);
}

std::pair<int64_t, int64_t> Producer::Watermarks(const std::string& topic, int32_t partition,
                                                 std::chrono::milliseconds timeout) {
  int64_t low = 0;
  int64_t high = 0;
  const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      handle_.get(), topic.c_str(), partition, &low, &high, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) ThrowKafkaError(err, "watermarks of " + topic);
  return {low, high};
}

bool Producer::LoadTopicMetadata(const std::vector<std::string>& topics,
                                 std::chrono::milliseconds timeout) {
  bool loaded = true;
  for (const std::string& topic : topics) {
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!TopicMetadata(handle_.get(), topic, timeout, &err)) {
      state_.logger().Debug("topic metadata not loaded",
                            {{"topic", topic}, {"error", rd_kafka_err2str(err)}});
      loaded = false;
    }
  }
  return loaded;
}

void Producer::DeclareTopic(const std::string& topic) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(handle_.get(), topic.c_str(), nullptr);
  if (rkt == nullptr) {
    // Producing to it reports the same problem; declaring is only an optimisation.
    state_.logger().Warn("cannot declare topic",
                         {{"topic", topic}, {"error", rd_kafka_err2str(rd_kafka_last_error())}});
    return;
  }
  declared_.emplace_back(rkt);
}

int Producer::InFlight() const { return rd_kafka_outq_len(handle_.get()); }

std::string Producer::LastClientError() const { return state_.LastClientError(); }

}  // namespace cdc::kafka

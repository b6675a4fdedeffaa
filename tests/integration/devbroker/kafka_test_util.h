// Helpers shared by the dev-broker integration tests.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/kafka/consumer.h"
#include "common/kafka/producer.h"
#include "common/log.h"

namespace cdc::testing {

// Collects delivery reports.
class CollectingHandler : public kafka::DeliveryHandler {
 public:
  void OnDelivery(const kafka::DeliveryReport& report) override {
    std::lock_guard lock(mutex_);
    reports_.push_back(report);
  }
  std::vector<kafka::DeliveryReport> reports() const {
    std::lock_guard lock(mutex_);
    return reports_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<kafka::DeliveryReport> reports_;
};

struct Consumed {
  std::string topic;
  int32_t partition;
  int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<kafka::Header> headers;
};

// Polls until `count` messages arrived or `timeout` passed.
inline std::vector<Consumed> ConsumeN(kafka::Consumer& consumer, size_t count,
                                      std::chrono::milliseconds timeout) {
  std::vector<Consumed> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    std::optional<kafka::Message> message = consumer.Poll(std::chrono::milliseconds(200));
    if (!message) continue;
    Consumed c{std::string(message->topic()), message->partition(), message->offset(), {}, {}, {}};
    if (auto key = message->key()) c.key = std::string(*key);
    if (auto value = message->value()) c.value = std::string(*value);
    c.headers = message->headers();
    out.push_back(std::move(c));
  }
  return out;
}

inline Logging& TestLogging() {
  static Logging logging(LogFormat::kText, LogLevel::kError);
  return logging;
}

// Java's murmur2 partitioner (Utils.murmur2 + toPositive), to check that keys land where
// other teams' Java producers would put them.
inline int32_t JavaPartition(const std::string& key, int32_t partitions) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  size_t length = key.size();
  uint32_t h = 0x9747b28c ^ static_cast<uint32_t>(length);
  size_t i = 0;
  for (; i + 4 <= length; i += 4) {
    uint32_t k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) |
                 (static_cast<uint32_t>(data[i + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(data[i + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(data[i + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= data[i];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>((h & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

}  // namespace cdc::testing

#include "consumer/replay.h"

#include "common/error.h"
#include "common/event/temporal.h"

namespace cdc::consumer {
namespace {

constexpr auto kTimeout = std::chrono::seconds(10);

// The timestamp of the message at `offset` (reading forward to the first message there is).
std::optional<int64_t> TimestampAt(kafka::Consumer& consumer, const std::string& topic,
                                   int32_t partition, int64_t offset) {
  consumer.Assign({{topic, partition, offset}});
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<kafka::Message> message = consumer.Poll(std::chrono::milliseconds(200));
    if (message && message->topic() == topic && message->partition() == partition &&
        message->offset() >= offset) {
      return message->timestamp_ms();
    }
  }
  throw TransientError("REPLAY", "no message read from " + topic + "/" + std::to_string(partition) +
                                     " at offset " + std::to_string(offset));
}

}  // namespace

int64_t ParseReplayTime(const std::string& text) {
  if (text.empty() || (text.back() != 'Z' && text.find('+') == std::string::npos)) {
    throw PermanentError(
        "TIME", "expected an ISO-8601 UTC time such as 2026-11-20T10:00:00Z, got \"" + text + "\"");
  }
  try {
    return event::ParseTimestampTz(text) / 1000;
  } catch (const Error&) {
    throw PermanentError(
        "TIME", "expected an ISO-8601 UTC time such as 2026-11-20T10:00:00Z, got \"" + text + "\"");
  }
}

std::vector<kafka::TopicPartition> ReplayOffsets(kafka::Consumer& consumer,
                                                 const std::vector<std::string>& topics,
                                                 std::optional<int64_t> from_ms,
                                                 const Logger& logger) {
  std::vector<kafka::TopicPartition> result;
  for (const std::string& topic : topics) {
    const std::vector<int32_t> partitions = consumer.Partitions(topic, kTimeout);
    if (partitions.empty()) {
      logger.Warn("replay: topic has no partitions (does it exist?)", {{"topic", topic}});
    }
    for (const int32_t partition : partitions) {
      const auto [low, high] = consumer.Watermarks(topic, partition, kTimeout);
      int64_t start = low;
      if (from_ms && low < high) {
        if (const auto offset = consumer.OffsetForTime(topic, partition, *from_ms, kTimeout)) {
          start = *offset;
        } else {
          // Binary search for the first offset in [low, high) whose timestamp >= from_ms.
          int64_t lo = low;
          int64_t hi = high;
          while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            const std::optional<int64_t> ts = TimestampAt(consumer, topic, partition, mid);
            if (ts && *ts >= *from_ms) {
              hi = mid;
            } else {
              lo = mid + 1;
            }
          }
          start = lo;
        }
      }
      logger.Info("replay start", {{"topic", topic},
                                   {"partition", partition},
                                   {"offset", start},
                                   {"low", low},
                                   {"high", high}});
      result.push_back({topic, partition, start});
    }
  }
  consumer.Assign({});
  return result;
}

}  // namespace cdc::consumer

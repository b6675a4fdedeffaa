#include "common/kafka/topic_reader.h"

#include <vector>

#include "common/error.h"

namespace cdc::kafka {

TopicReader::TopicReader(Consumer& consumer, std::string topic)
    : consumer_(consumer), topic_(std::move(topic)) {}

size_t TopicReader::ReadToEnd(std::chrono::milliseconds timeout,
                              const std::function<void(const Message&)>& on_message) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<TopicPartition> assignment;
  std::map<int32_t, int64_t> ends;
  for (int32_t partition : consumer_.Partitions(topic_, timeout)) {
    const auto [low, high] = consumer_.Watermarks(topic_, partition, timeout);
    int64_t& next = next_offsets_[partition];
    // Beyond the end: the topic was re-created (or truncated) since; its log is read anew.
    if (next < low || next > high) next = low;
    if (next < high) {
      assignment.push_back({topic_, partition, next});
      ends[partition] = high;
    }
  }
  if (assignment.empty()) return 0;
  consumer_.Assign(assignment);
  size_t read = 0;
  while (!ends.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      consumer_.Assign({});
      throw TransientError("TOPIC_READ", "timed out reading " + topic_ + " to its end");
    }
    std::optional<Message> message = consumer_.Poll(std::chrono::milliseconds(100));
    if (!message) continue;
    const int32_t partition = message->partition();
    next_offsets_[partition] = message->offset() + 1;
    const auto end = ends.find(partition);
    if (end != ends.end() && next_offsets_[partition] >= end->second) ends.erase(end);
    ++read;
    on_message(*message);
  }
  consumer_.Assign({});
  return read;
}

}  // namespace cdc::kafka

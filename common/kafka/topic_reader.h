// Reads a whole topic without group membership: from the start (or from where the previous call
// stopped) up to the end offsets observed when the call begins. Used for the topics the pipeline
// keeps its own state in (schemas, producer checkpoints). Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "common/kafka/consumer.h"
#include "common/kafka/message.h"

namespace cdc::kafka {

class TopicReader {
 public:
  // `consumer` must outlive the reader; the reader assigns and unassigns its partitions.
  TopicReader(Consumer& consumer, std::string topic);

  // Calls `on_message` for each message up to the current end. A topic that does not exist
  // yet reads as empty. Throws TransientError("TOPIC_READ") when the end is not reached within
  // `timeout` (the next call continues where this one stopped).
  // Forgets where it stopped: the next ReadToEnd reads the whole topic again.
  void Rewind() { next_offsets_.clear(); }
  size_t ReadToEnd(std::chrono::milliseconds timeout,
                   const std::function<void(const Message&)>& on_message);

  const std::string& topic() const { return topic_; }

 private:
  Consumer& consumer_;
  const std::string topic_;
  std::map<int32_t, int64_t> next_offsets_;  // partition -> next offset to read
};

}  // namespace cdc::kafka

// After every broker was unreachable, the brokers may have come back without what they had
// confirmed (a cluster lost or restored, unclean leader election truncating a partition). The
// publisher remembers the last message the broker confirmed in each partition - its offset and a
// hash of its key and value - and this check reads that offset again: a log that ends before it,
// a missing partition or another message there means the broker lost confirmed messages. Comparing
// log ends alone misses a log that was lost and filled again past the offset (librdkafka delivers
// what it queued during the outage as soon as the new broker is up).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/kafka/consumer.h"
#include "common/kafka/settings.h"
#include "common/log.h"
#include "producer/checkpoint.h"

namespace cdc::producer {

using ConfirmedTips = std::map<std::pair<std::string, int32_t>, ConfirmedTip>;

// A hash of a message's key and value (a null one hashes as empty): MurmurHash64A, the same on
// every build and run (it is stored with checkpoints).
uint64_t ContentHash(std::optional<std::string_view> key, std::optional<std::string_view> value);

// A partition where the broker no longer holds a message it confirmed.
struct LostMessages {
  std::string topic;
  int32_t partition = 0;
  int64_t confirmed = 0;  // the offset of the last message the broker confirmed
  int64_t log_end = 0;    // the partition's end now (-1: the partition is gone)
  std::string reason;     // partition_gone | log_shorter | message_replaced
};

// Checks each tip against the broker through `reader` (assigned partitions, no group). A tip
// that retention or compaction removed since cannot be checked and counts as held. Throws
// TransientError when the broker cannot answer within `timeout` (in all), or once `stop` is
// requested (each broker call waits 2 s at most).
std::vector<LostMessages> FindLostMessages(kafka::Consumer& reader, const ConfirmedTips& tips,
                                           std::chrono::milliseconds timeout,
                                           std::stop_token stop = {});

// Runs checks on a thread of its own with a consumer of its own, so that the caller goes on
// serving delivery reports meanwhile. One check at a time; not thread-safe (one caller).
class ConfirmedChecker {
 public:
  explicit ConfirmedChecker(const kafka::KafkaSettings& settings, Logger logger);
  ~ConfirmedChecker();  // stops a check in progress and waits for it (2 s at most)
  ConfirmedChecker(const ConfirmedChecker&) = delete;
  ConfirmedChecker& operator=(const ConfirmedChecker&) = delete;

  struct Outcome {
    ConfirmedTips tips;  // what was checked
    size_t republished = 0;
    std::vector<LostMessages> lost;
    std::optional<std::string> error;  // the broker could not say: check again later
  };
  bool running() const { return task_.valid(); }
  // Checks `tips`, then, when the broker answered, runs `before` (e.g. publishing schemas
  // again: its count goes to Outcome::republished). Requires !running().
  void Start(ConfirmedTips tips, std::function<size_t()> before, std::chrono::milliseconds timeout);
  // The outcome of the finished check, once; nullopt while it runs or when none was started.
  std::optional<Outcome> Take();

 private:
  Outcome Run(ConfirmedTips tips, const std::function<size_t()>& before,
              std::chrono::milliseconds timeout);

  const kafka::KafkaSettings settings_;
  const Logger logger_;
  std::unique_ptr<kafka::Consumer> reader_;  // the task's only; made on first use
  std::stop_source stop_;
  std::future<Outcome> task_;
};

}  // namespace cdc::producer

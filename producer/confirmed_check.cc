#include "producer/confirmed_check.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <random>
#include <stop_token>
#include <tuple>

#include "common/error.h"

namespace cdc::producer {

namespace {

// MurmurHash64A (Austin Appleby, public domain), little-endian reads.
uint64_t Murmur64(std::string_view bytes, uint64_t seed) {
  constexpr uint64_t kM = 0xc6a4a7935bd1e995ULL;
  constexpr int kR = 47;
  uint64_t h = seed ^ (bytes.size() * kM);
  const size_t whole = bytes.size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t k = 0;
    std::memcpy(&k, bytes.data() + i, 8);
    if constexpr (std::endian::native == std::endian::big) k = __builtin_bswap64(k);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h ^= k;
    h *= kM;
  }
  const size_t rest = bytes.size() - whole;
  if (rest > 0) {
    uint64_t k = 0;
    for (size_t b = rest; b-- > 0;) k = (k << 8) | static_cast<unsigned char>(bytes[whole + b]);
    h ^= k;
    h *= kM;
  }
  h ^= h >> kR;
  h *= kM;
  h ^= h >> kR;
  return h;
}

}  // namespace

uint64_t ContentHash(std::optional<std::string_view> key, std::optional<std::string_view> value) {
  return Murmur64(value.value_or(std::string_view()),
                  Murmur64(key.value_or(std::string_view()), 0));
}

std::vector<LostMessages> FindLostMessages(kafka::Consumer& reader, const ConfirmedTips& tips,
                                           std::chrono::milliseconds timeout,
                                           std::stop_token stop) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // The time one broker call may take: what is left, 2 s at most (a stop waits no longer).
  auto call_timeout = [&] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (stop.stop_requested() || left.count() <= 0) {
      throw TransientError("CONFIRMED_CHECK", stop.stop_requested() ? "stopping" : "timed out");
    }
    return std::min<std::chrono::milliseconds>(left, std::chrono::seconds(2));
  };
  std::vector<LostMessages> lost;
  std::vector<kafka::TopicPartition> to_read;
  std::map<std::pair<std::string, int32_t>, int64_t> log_ends;
  // Each topic's partitions from a metadata request first: it keeps to its timeout when the
  // broker is away, where a watermark query may wait for it (librdkafka 2.0.2 waits for the
  // answer of a request queued to a broker that is down), so a check started during an outage
  // fails fast instead of holding the producer's shutdown.
  std::string topic;
  std::vector<int32_t> partitions;
  for (const auto& [partition, tip] : tips) {
    if (partition.first != topic) {
      topic = partition.first;
      partitions = reader.Partitions(topic, call_timeout());
    }
    if (std::find(partitions.begin(), partitions.end(), partition.second) == partitions.end()) {
      lost.push_back({partition.first, partition.second, tip.offset, -1, "partition_gone"});
      continue;
    }
    int64_t low = 0;
    int64_t high = 0;
    try {
      std::tie(low, high) = reader.Watermarks(partition.first, partition.second, call_timeout());
    } catch (const Error& e) {
      const std::string& code = e.code();
      if (code != "_UNKNOWN_PARTITION" && code != "UNKNOWN_TOPIC_OR_PART" &&
          code != "_UNKNOWN_TOPIC") {
        throw;
      }
      lost.push_back({partition.first, partition.second, tip.offset, -1, "partition_gone"});
      continue;
    }
    if (high <= tip.offset) {
      lost.push_back({partition.first, partition.second, tip.offset, high, "log_shorter"});
    } else if (low <= tip.offset) {
      to_read.push_back({partition.first, partition.second, tip.offset});
      log_ends[partition] = high;
    }
  }
  if (to_read.empty()) return lost;
  reader.Assign(to_read);
  while (!log_ends.empty()) {
    if (std::chrono::steady_clock::now() > deadline || stop.stop_requested()) {
      reader.Assign({});
      throw TransientError(
          "CONFIRMED_CHECK",
          "timed out reading back " + std::to_string(log_ends.size()) + " confirmed messages");
    }
    std::optional<kafka::Message> message = reader.Poll(std::chrono::milliseconds(100));
    if (!message) continue;
    const std::pair<std::string, int32_t> partition{std::string(message->topic()),
                                                    message->partition()};
    const auto end = log_ends.find(partition);
    if (end == log_ends.end()) continue;
    const ConfirmedTip& tip = tips.at(partition);
    // Another offset: the confirmed message was compacted away since; nothing to compare.
    if (message->offset() == tip.offset &&
        ContentHash(message->key(), message->value()) != tip.content) {
      lost.push_back(
          {partition.first, partition.second, tip.offset, end->second, "message_replaced"});
    }
    log_ends.erase(end);
  }
  reader.Assign({});
  return lost;
}

ConfirmedChecker::ConfirmedChecker(const kafka::KafkaSettings& settings, Logger logger)
    : settings_(settings), logger_(std::move(logger)) {}

ConfirmedChecker::~ConfirmedChecker() {
  stop_.request_stop();
  if (task_.valid()) task_.wait();
}

void ConfirmedChecker::Start(ConfirmedTips tips, std::function<size_t()> before,
                             std::chrono::milliseconds timeout) {
  task_ = std::async(std::launch::async, [this, tips = std::move(tips), before = std::move(before),
                                          timeout] { return Run(tips, before, timeout); });
}

std::optional<ConfirmedChecker::Outcome> ConfirmedChecker::Take() {
  if (!task_.valid() || task_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    return std::nullopt;
  }
  return task_.get();
}

ConfirmedChecker::Outcome ConfirmedChecker::Run(ConfirmedTips tips,
                                                const std::function<size_t()>& before,
                                                std::chrono::milliseconds timeout) {
  Outcome outcome;
  try {
    if (!reader_) {
      // A private group: the reader assigns partitions itself and never commits.
      const std::string group = "cdc-producer-check-" + std::to_string(getpid()) + "-" +
                                std::to_string(std::random_device{}());
      // A request a broker never answers (one that is down but still accepts connections)
      // would hold a check, and a shutdown waiting for it, for socket.timeout.ms (60 s).
      reader_ = std::make_unique<kafka::Consumer>(
          settings_, group, nullptr, logger_,
          std::map<std::string, std::string>{{"socket.timeout.ms", "3000"}});
    }
    outcome.lost = FindLostMessages(*reader_, tips, timeout, stop_.get_token());
    // Only once the broker answered: while it is away this would wait out its own timeouts.
    if (before) outcome.republished = before();
  } catch (const Error& e) {
    outcome.error = e.what();
  }
  outcome.tips = std::move(tips);
  return outcome;
}

}  // namespace cdc::producer

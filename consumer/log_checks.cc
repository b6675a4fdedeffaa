// ConsumerLoop's checks of each partition's log identity (consumer_loop.h, "The log's identity"):
// the check record read again, jumps in the offsets, the log's range against the position,
// partitions that no longer exist, and the stop/replay policy that follows an offset reset.
#include <algorithm>

#include "common/backoff.h"
#include "common/error.h"
#include "consumer/consumer_loop.h"

namespace cdc::consumer {
namespace {

// Broker round trips made while resolving an offset reset.
constexpr auto kBrokerTimeout = std::chrono::seconds(5);
constexpr int kSeekAttempts = 6;
constexpr auto kSeekRetry = std::chrono::milliseconds(500);
constexpr auto kResolveRetry = std::chrono::seconds(1);
// The stored positions are compared with their logs' ranges this often.
constexpr auto kRangeInterval = std::chrono::milliseconds(500);
constexpr auto kRangeTimeout = std::chrono::seconds(2);
// Partitions named in /ready's reason (the rest are counted).
constexpr size_t kNamedPartitions = 5;

std::string Describe(const std::string& reason) {
  if (reason == "beyond_log_end") {
    return "the stored position is beyond the end of the partition's log (the topic was"
           " re-created or truncated, or the broker lost data)";
  }
  if (reason == "before_log_start") {
    return "the position is before the start of the partition's log: records were deleted"
           " (retention) before they were applied";
  }
  return "the partition's log holds another record before the stored position (the topic was"
         " re-created, or the broker lost data and was written again)";
}

std::string Name(const PartitionKey& partition) {
  return partition.first + "[" + std::to_string(partition.second) + "]";
}

}  // namespace

bool ConsumerLoop::Admit(const PartitionKey& partition, const Record& record) {
  if (stopped_.count(partition) != 0 || troubles_.count(partition) != 0 ||
      sought_.count(partition) != 0) {
    return false;
  }
  const int64_t offset = record.position.offset;
  if (const auto check = checks_.find(partition); check != checks_.end()) {
    const Check wanted = check->second;
    checks_.erase(check);
    if (offset == wanted.offset) {
      if (Fingerprint(record) == wanted.fingerprint) {
        expected_[partition] = offset + 1;
        return false;  // the same log; this record was applied before
      }
      return Jump(partition, {"log_replaced", wanted.offset, offset});
    }
    if (offset == wanted.offset + 1) {
      // Retention or compaction removed the record before the position: the log's identity
      // cannot be checked; the position itself is there.
      logger_.Warn(
          "position not checked: the record before it is no longer in the log",
          {{"topic", partition.first}, {"partition", partition.second}, {"offset", wanted.offset}});
      expected_[partition] = offset + 1;
      return true;
    }
    // Below: the fetch fell outside the log and librdkafka reset it to the log's start; above:
    // records after the position are gone.
    return Jump(partition,
                {"jump", offset < wanted.offset ? wanted.offset : wanted.offset + 1, offset});
  }
  const auto expected = expected_.find(partition);
  if (expected == expected_.end() || offset == expected->second) {
    expected_[partition] = offset + 1;
    return true;
  }
  return Jump(partition, {"jump", expected->second, offset});
}

bool ConsumerLoop::Jump(const PartitionKey& partition, const Trouble& trouble) {
  // The range the fetch response that brought the record reported (no broker round trip: a
  // watermark query can hang while the broker is going away).
  const auto range = consumer_->CachedWatermarks(partition.first, partition.second);
  if (!range) {
    troubles_[partition] = trouble;
    next_resolve_ = clock_.Now() + kResolveRetry;
    return false;
  }
  return Resolve(partition, trouble, range->first, range->second);
}

bool ConsumerLoop::Resolve(const PartitionKey& partition, const Trouble& trouble, int64_t low,
                           int64_t high) {
  if (trouble.reason == "log_replaced") {
    OffsetReset(partition, "log_replaced", trouble.expected, low, high);
    return false;
  }
  if (trouble.offset < trouble.expected) {
    // The fetch position fell outside the log and was reset to the log's start.
    OffsetReset(partition, trouble.expected > high ? "beyond_log_end" : "log_replaced",
                trouble.expected, low, high);
    return false;
  }
  if (low > trouble.expected) {
    OffsetReset(partition, "before_log_start", trouble.expected, low, high);
    return false;
  }
  // The log still starts before the gap: compaction removed those records (or a broker lost
  // them while the log start stayed). Reported, and the partition goes on.
  const int64_t missing = trouble.offset - trouble.expected;
  metrics_.missing_records.WithLabels({partition.first}).Inc(static_cast<double>(missing));
  logger_.Error(
      "records missing from the topic: compacted away, or lost by the broker, before they were"
      " applied",
      {{"topic", partition.first},
       {"partition", partition.second},
       {"from_offset", trouble.expected},
       {"to_offset", trouble.offset - 1},
       {"records", missing}});
  expected_[partition] = trouble.offset + 1;
  return true;
}

void ConsumerLoop::ResolveTroubles() {
  const auto now = clock_.Now();
  if (troubles_.empty() || now < next_resolve_) return;
  const std::map<PartitionKey, Trouble> troubles = std::move(troubles_);
  troubles_.clear();
  for (const auto& [partition, trouble] : troubles) {
    if (stop_.stop_requested() || Jump(partition, trouble) || troubles_.count(partition) != 0) {
      continue;
    }
  }
  // A jump resolved as a gap admits its record, which was dropped meanwhile: read it again.
  for (const auto& [partition, trouble] : troubles) {
    if (troubles_.count(partition) != 0 || stopped_.count(partition) != 0) continue;
    const auto expected = expected_.find(partition);
    if (expected == expected_.end() || expected->second != trouble.offset + 1) continue;
    SeekTo(partition, trouble.offset);
  }
}

void ConsumerLoop::SeekTo(const PartitionKey& partition, int64_t offset) {
  for (int attempt = 1;; ++attempt) {
    std::string error;
    try {
      if (!consumer_->Seek({partition.first, partition.second, offset}, kBrokerTimeout)) {
        // Queued behind librdkafka's other work: it takes effect when served, and nothing
        // fetched before it is served after it.
        logger_.Warn(
            "seek not confirmed yet; it takes effect when librdkafka gets to it",
            {{"topic", partition.first}, {"partition", partition.second}, {"offset", offset}});
      }
      break;
    } catch (const Error& e) {
      error = e.what();
    }
    const LogFields fields = {{"topic", partition.first},
                              {"partition", partition.second},
                              {"offset", offset},
                              {"attempt", int64_t{attempt}},
                              {"error", error}};
    // Refused: the partition is not being fetched right now (an assignment or a revocation is
    // under way) or another operation on it overtook the seek. A later try may succeed.
    if (attempt < kSeekAttempts && !stop_.stop_requested()) {
      logger_.Warn("seek refused; trying again", fields);
      clock_.SleepFor(kSeekRetry, stop_);
      continue;
    }
    // The partition cannot go on from where it must: stop it rather than skip.
    logger_.Error("cannot seek; the partition is stopped (a restart checks it again)", fields);
    StopPartition(partition, "cannot seek to offset " + std::to_string(offset) + ": " + error);
    return;
  }
  expected_[partition] = offset;
  sought_.insert(partition);
}

void ConsumerLoop::StopPartition(const PartitionKey& partition, const std::string& why) {
  stopped_[partition] = why;
  try {
    consumer_->Pause({{partition.first, partition.second}});
  } catch (const Error& e) {
    logger_.Warn("cannot pause a stopped partition", {{"error", e.what()}});
  }
  metrics_.stopped_partitions.Get().Set(static_cast<double>(stopped_.size()));
  UpdateOffsetProblem();
}

void ConsumerLoop::OffsetReset(const PartitionKey& partition, const std::string& reason,
                               int64_t fetch_offset, int64_t low, int64_t high) {
  const auto position = positions_.find(partition);
  const int64_t stored = position == positions_.end() ? -1 : position->second.next_offset;
  const bool replay = settings_.on_offset_reset == OffsetResetPolicy::kReplay;
  logger_.Error(Describe(reason) + (replay ? "; replaying the partition from the log's start"
                                           : "; the partition is stopped"
                                             " (consumer.on_offset_reset: stop)"),
                {{"topic", partition.first},
                 {"partition", partition.second},
                 {"stored_offset", stored},
                 {"fetch_offset", fetch_offset},
                 {"log_start", low},
                 {"log_end", high},
                 {"reason", reason}});
  checks_.erase(partition);
  if (!replay) {
    StopPartition(partition, reason + " (stored offset " + std::to_string(stored) + ", log " +
                                 std::to_string(low) + ".." + std::to_string(high) + ")");
    // Counted once the partition is stopped: whoever sees the count sees the stop too.
    metrics_.offset_resets.WithLabels({partition.first, reason}).Inc();
    return;
  }
  metrics_.offset_resets.WithLabels({partition.first, reason}).Inc();
  // What was gathered from the old log is applied first, so that its positions never land on
  // top of the reset one.
  Drain();
  Backoff backoff({std::chrono::milliseconds(200), std::chrono::seconds(5), 2.0, std::nullopt},
                  clock_);
  while (true) {
    try {
      ResetOffset(Pg(), settings_.group_id, partition, low,
                  high > low ? std::optional<int64_t>(high) : std::nullopt);
      break;
    } catch (const TransientError& e) {
      logger_.Warn("cannot store the reset offset; retrying", {{"error", e.what()}});
      if (!clock_.SleepFor(backoff.NextDelay().value_or(std::chrono::seconds(1)), stop_)) return;
    }
  }
  positions_[partition] = {low, std::nullopt};
  if (high > low) replaying_[partition] = high;
  SeekTo(partition, low);
  UpdateOffsetProblem();
}

void ConsumerLoop::Drain() {
  while (!stop_.stop_requested() && !failure_) {
    WaitUntilIdle();
    if (std::all_of(pending_.begin(), pending_.end(),
                    [](const Pending& p) { return p.batch.records.empty(); })) {
      return;
    }
    HandOver(true);
  }
}

void ConsumerLoop::RecheckPositions() {
  logger_.Info(
      "every broker was unreachable: checking that each partition's log still holds its"
      " position");
  Drain();
  for (const kafka::TopicPartition& p : assigned_) {
    const PartitionKey key{p.topic, p.partition};
    if (stopped_.count(key) != 0 || troubles_.count(key) != 0) continue;
    std::optional<Check> wanted;
    if (const auto check = checks_.find(key); check != checks_.end()) {
      wanted = check->second;  // the assignment's check, not done yet
    } else if (const auto at = positions_.find(key);
               at != positions_.end() && at->second.fingerprint && at->second.next_offset > 0) {
      wanted = Check{at->second.next_offset - 1, *at->second.fingerprint};
    }
    if (!wanted) continue;
    SeekTo(key, wanted->offset);
    if (stopped_.count(key) == 0) checks_[key] = *wanted;
  }
}

void ConsumerLoop::CheckRanges() {
  const auto now = clock_.Now();
  if (now < next_range_check_) return;
  next_range_check_ = now + kRangeInterval;
  auto later = [&](const std::string& topic, const Error& e) {
    logger_.Debug("cannot read a topic's offsets to check the stored positions; retrying",
                  {{"topic", topic}, {"error", e.what()}});
    next_range_check_ = now + kResolveRetry;
  };
  // A log's end never falls below a position taken from it: when the last fetch response says it
  // did, the log was truncated or re-created (a record that could differ may never come).
  for (const kafka::TopicPartition& p : std::vector<kafka::TopicPartition>(assigned_)) {
    const PartitionKey partition{p.topic, p.partition};
    const auto position = positions_.find(partition);
    if (stopped_.count(partition) != 0 || troubles_.count(partition) != 0 ||
        position == positions_.end()) {
      continue;
    }
    const auto range = consumer_->CachedWatermarks(partition.first, partition.second);
    if (!range) continue;
    const auto [low, high] = *range;
    const int64_t at = position->second.next_offset;
    if (at > high) OffsetReset(partition, "beyond_log_end", at, low, high);
  }
  for (auto it = topic_checks_.begin(); it != topic_checks_.end() && !stop_.stop_requested();) {
    const std::string topic = *it;
    std::vector<int32_t> existing;
    std::map<int32_t, int64_t> stored;
    try {
      existing = consumer_->Partitions(topic, kRangeTimeout);
      stored = LoadTopicOffsets(Pg(), settings_.group_id, topic);
    } catch (const Error& e) {
      return later(topic, e);
    }
    if (existing.empty()) return later(topic, TransientError("TOPIC", "no partitions listed"));
    it = topic_checks_.erase(it);
    for (const auto& [partition, offset] : stored) {
      if (offset == 0 || std::find(existing.begin(), existing.end(), partition) != existing.end()) {
        continue;
      }
      PartitionGone({topic, partition}, offset, existing.size());
    }
  }
}

void ConsumerLoop::PartitionGone(const PartitionKey& partition, int64_t stored, size_t partitions) {
  const bool replay = settings_.on_offset_reset == OffsetResetPolicy::kReplay;
  logger_.Error(std::string("a partition with a stored position no longer exists (the topic was"
                            " re-created with fewer partitions)") +
                    (replay ? "; its stored offset is forgotten"
                            : "; consumer.on_offset_reset: stop keeps it until a replay"),
                {{"topic", partition.first},
                 {"partition", partition.second},
                 {"stored_offset", stored},
                 {"partitions", static_cast<int64_t>(partitions)},
                 {"reason", "partition_gone"}});
  if (!replay) {
    gone_[partition] = "partition_gone (stored offset " + std::to_string(stored) +
                       ", the topic has " + std::to_string(partitions) + " partitions)";
    UpdateOffsetProblem();
    metrics_.offset_resets.WithLabels({partition.first, "partition_gone"}).Inc();
    return;
  }
  metrics_.offset_resets.WithLabels({partition.first, "partition_gone"}).Inc();
  try {
    DeleteOffset(Pg(), settings_.group_id, partition);
  } catch (const TransientError& e) {
    logger_.Warn(
        "cannot forget the stored offset of a partition that no longer exists; it is"
        " reported again at the next assignment",
        {{"error", e.what()}});
  }
}

void ConsumerLoop::UpdateOffsetProblem() {
  std::string problem;
  size_t named = 0;
  size_t more = 0;
  auto add = [&](const std::string& text) {
    if (named == kNamedPartitions) {
      ++more;
      return;
    }
    problem += (problem.empty() ? "" : "; ") + text;
    ++named;
  };
  for (const auto& [partition, why] : stopped_) add(Name(partition) + " stopped: " + why);
  for (const auto& [partition, why] : gone_) add(Name(partition) + " no longer exists: " + why);
  for (const auto& [partition, until] : replaying_) {
    const auto at = positions_.find(partition);
    add(Name(partition) + " re-applying its log (a replay or an offset reset): at " +
        std::to_string(at == positions_.end() ? 0 : at->second.next_offset) + " of " +
        std::to_string(until));
  }
  for (const auto& [partition, stored] : unfinished_replays_) {
    add(Name(partition) + " re-applying its log (a replay or an offset reset): at " +
        std::to_string(stored.position.next_offset) + " of " +
        std::to_string(stored.replay_until.value_or(0)) + ", waiting for the group's assignment");
  }
  if (more > 0) problem += "; and " + std::to_string(more) + " more";
  std::lock_guard lock(error_mutex_);
  offset_problem_ = problem;
}

}  // namespace cdc::consumer

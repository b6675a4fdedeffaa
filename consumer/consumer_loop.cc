#include "consumer/consumer_loop.h"

#include <algorithm>
#include <functional>
#include <ostream>

#include "common/backoff.h"
#include "common/error.h"

namespace cdc::consumer {
namespace {

constexpr auto kLagInterval = std::chrono::seconds(5);
constexpr auto kProgressInterval = std::chrono::seconds(2);
constexpr auto kPurgeInterval = std::chrono::minutes(10);
constexpr auto kMaxPoll = std::chrono::milliseconds(100);
// While records wait for their busy lane, poll in short steps so the hand-over is prompt.
constexpr auto kBusyPoll = std::chrono::milliseconds(5);
// Messages taken from librdkafka per call.
constexpr size_t kPollBatch = 500;
// Broker round trips made while resolving an offset reset.
constexpr auto kBrokerTimeout = std::chrono::seconds(5);
constexpr auto kResolveRetry = std::chrono::seconds(1);
// The stored positions are compared with their logs' ranges this often.
constexpr auto kRangeInterval = std::chrono::milliseconds(500);
constexpr auto kRangeTimeout = std::chrono::seconds(2);
// Partitions named in /ready's reason (the rest are counted).
constexpr size_t kNamedPartitions = 5;

double Seconds(Clock::Duration duration) { return std::chrono::duration<double>(duration).count(); }

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

size_t LaneOf(const std::string& topic, int32_t partition, size_t lanes) {
  const size_t base = std::hash<std::string>{}(topic);
  return (base + static_cast<size_t>(partition)) % lanes;
}

ConsumerLoop::ConsumerLoop(const ConsumerSettings& settings, const kafka::KafkaSettings& kafka,
                           event::EventDecoder& decoder, DeadLetterPublisher& dead_letters,
                           ConsumerMetrics& metrics, Clock& clock, Logger logger,
                           std::ostream* progress, const GroupLag* group_lag)
    : settings_(settings),
      kafka_settings_(kafka),
      decoder_(decoder),
      ahead_decoder_(decoder, settings.table_map,
                     {&clock, settings.unknown_schema_wait, &metrics.schema_waits.Get()}),
      dead_letters_(dead_letters),
      metrics_(metrics),
      clock_(clock),
      logger_(std::move(logger)),
      progress_(progress),
      group_lag_(group_lag) {}

ConsumerLoop::~ConsumerLoop() {
  StopLanes();
  // Closing the Kafka consumer revokes its partitions through OnRevoke, which uses the members
  // declared after consumer_: close it while they live (after a failed Run it is still open).
  consumer_.reset();
}

pg::Connection& ConsumerLoop::Pg() {
  if (pg_ && !pg_->healthy()) pg_.reset();
  if (!pg_) pg_ = std::make_unique<pg::Connection>(settings_.postgres_url, "cdc-consumer", logger_);
  return *pg_;
}

void ConsumerLoop::StartLanes() {
  std::lock_guard lock(lanes_mutex_);
  for (size_t i = 0; i < settings_.apply_lanes; ++i) {
    lanes_.push_back(std::make_unique<ApplyLane>(static_cast<int>(i), settings_, decoder_,
                                                 dead_letters_, metrics_, clock_, logger_, signal_,
                                                 lanes_stop_.get_token()));
  }
  pending_.resize(settings_.apply_lanes);
}

void ConsumerLoop::StopLanes() {
  std::vector<std::unique_ptr<ApplyLane>> lanes;
  {
    std::lock_guard lock(lanes_mutex_);
    lanes.swap(lanes_);
  }
  lanes.clear();  // each destructor finishes or abandons its batch, then joins
}

metrics::Readiness ConsumerLoop::Readiness() const {
  {
    std::lock_guard lock(lanes_mutex_);
    for (const auto& lane : lanes_) {
      metrics::Readiness readiness = lane->Readiness();
      if (!readiness.ready) return readiness;
    }
  }
  {
    std::lock_guard lock(error_mutex_);
    if (!offset_problem_.empty()) return {false, offset_problem_};
  }
  const int64_t since = failing_since_ns_.load();
  if (since == 0) return {true, ""};
  const auto failing_for = clock_.Now().time_since_epoch() - std::chrono::nanoseconds(since);
  if (failing_for < settings_.unhealthy_after) return {true, ""};
  std::lock_guard lock(error_mutex_);
  return {false, "stored offsets unreadable for " +
                     std::to_string(
                         std::chrono::duration_cast<std::chrono::seconds>(failing_for).count()) +
                     " s: " + last_error_};
}

void ConsumerLoop::Failing(const Error& error) {
  int64_t expected = 0;
  failing_since_ns_.compare_exchange_strong(
      expected,
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.Now().time_since_epoch())
          .count());
  std::lock_guard lock(error_mutex_);
  last_error_ = error.what();
}

void ConsumerLoop::OnAssign(std::vector<kafka::TopicPartition>& partitions) {
  Backoff backoff({std::chrono::milliseconds(200), std::chrono::seconds(5), 2.0, std::nullopt},
                  clock_);
  std::map<PartitionKey, StoredPosition> stored;
  while (true) {
    try {
      stored = LoadPositions(Pg(), settings_.group_id, partitions);
      failing_since_ns_ = 0;
      break;
    } catch (const TransientError& e) {
      Failing(e);
      metrics_.retries.WithLabels({e.code()}).Inc();
      logger_.Warn("cannot read stored offsets; retrying", {{"error", e.what()}});
      const auto delay = backoff.NextDelay();
      if (!clock_.SleepFor(delay.value_or(std::chrono::seconds(1)), stop_)) return;
    }
  }
  for (kafka::TopicPartition& p : partitions) {
    const PartitionKey key{p.topic, p.partition};
    const auto found = stored.find(key);
    bool checked = false;
    if (found == stored.end()) {
      p.offset = kafka::kOffsetBeginning;  // nothing applied yet: the whole log
    } else {
      const LogPosition& at = found->second.position;
      positions_[key] = at;
      if (found->second.replay_until) replaying_[key] = *found->second.replay_until;
      p.offset = at.next_offset;
      if (at.fingerprint && at.next_offset > 0) {
        // The record before the position is read again: the log must be the one it came from.
        p.offset = at.next_offset - 1;
        checks_[key] = {p.offset, *at.fingerprint};
        checked = true;
      }
      expected_[key] = p.offset;
    }
    assigned_.push_back(p);
    logger_.Info(
        "partition assigned",
        {{"topic", p.topic},
         {"partition", p.partition},
         {"offset", found == stored.end() ? int64_t{-1} : found->second.position.next_offset},
         {"checked", checked},
         {"lane", static_cast<int64_t>(LaneOf(p.topic, p.partition, lanes_.size()))}});
  }
  for (const kafka::TopicPartition& p : partitions) topic_checks_.insert(p.topic);
  UpdateOffsetProblem();
  metrics_.assigned_partitions.Get().Set(static_cast<double>(assigned_.size()));
  assigned_count_ = assigned_.size();
}

void ConsumerLoop::OnRevoke(const std::vector<kafka::TopicPartition>& partitions) {
  auto revoked = [&](const std::string& topic, int32_t partition) {
    return std::any_of(partitions.begin(), partitions.end(), [&](const kafka::TopicPartition& p) {
      return p.topic == topic && p.partition == partition;
    });
  };
  // Records gathered but not handed over: the next owner reads them again from cdc.offsets.
  for (Pending& pending : pending_) {
    std::erase_if(pending.batch.records, [&](const consumer::Record& r) {
      return revoked(r.position.topic, r.position.partition);
    });
    if (pending.batch.records.empty()) pending.deadline.reset();
  }
  // Batches in flight commit their offsets before the partitions go.
  WaitUntilIdle();
  std::erase_if(assigned_,
                [&](const kafka::TopicPartition& p) { return revoked(p.topic, p.partition); });
  std::vector<kafka::TopicPartition> paused;
  for (const kafka::TopicPartition& p : partitions) {
    const PartitionKey key{p.topic, p.partition};
    if (stopped_.erase(key) > 0) paused.push_back({p.topic, p.partition});
    positions_.erase(key);
    expected_.erase(key);
    checks_.erase(key);
    troubles_.erase(key);
    replaying_.erase(key);
  }
  if (!paused.empty()) {
    // A stopped partition's next owner checks it again; it must not inherit the pause.
    try {
      consumer_->Resume(paused);
    } catch (const Error& e) {
      logger_.Warn("cannot resume a stopped partition being revoked", {{"error", e.what()}});
    }
  }
  metrics_.stopped_partitions.Get().Set(static_cast<double>(stopped_.size()));
  UpdateOffsetProblem();
  metrics_.assigned_partitions.Get().Set(static_cast<double>(assigned_.size()));
  assigned_count_ = assigned_.size();
}

void ConsumerLoop::Add(kafka::Message& message) {
  consumer::Record record;
  record.position = {std::string(message.topic()), message.partition(), message.offset(),
                     message.timestamp_ms()};
  if (const auto key = message.key()) record.key = std::string(*key);
  if (const auto value = message.value()) record.value = std::string(*value);
  record.origin = std::make_shared<const kafka::Message>(std::move(message));
  if (!Admit({record.position.topic, record.position.partition}, record)) return;
  Pending& pending =
      pending_[LaneOf(record.position.topic, record.position.partition, pending_.size())];
  if (!pending.deadline) pending.deadline = clock_.Now() + settings_.batch_max_ms;
  pending.batch.records.push_back(std::move(record));
}

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
  try {
    consumer_->Seek({partition.first, partition.second, offset}, kBrokerTimeout);
  } catch (const Error& e) {
    // The partition cannot go on from where it must: stop it rather than skip.
    StopPartition(partition,
                  std::string("cannot seek to offset ") + std::to_string(offset) + ": " + e.what());
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
  metrics_.offset_resets.WithLabels({partition.first, reason}).Inc();
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
    return;
  }
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
  metrics_.offset_resets.WithLabels({partition.first, "partition_gone"}).Inc();
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
    return;
  }
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
    add(Name(partition) + " replaying from its log's start after an offset reset (at " +
        std::to_string(at == positions_.end() ? 0 : at->second.next_offset) + " of " +
        std::to_string(until) + ")");
  }
  if (more > 0) problem += "; and " + std::to_string(more) + " more";
  std::lock_guard lock(error_mutex_);
  offset_problem_ = problem;
}

void ConsumerLoop::HandOver(bool flush) {
  const auto now = clock_.Now();
  for (size_t i = 0; i < lanes_.size(); ++i) {
    Pending& pending = pending_[i];
    std::vector<consumer::Record>& records = pending.batch.records;
    if (records.empty()) continue;
    // An idle lane takes what is due, or everything once the loop has caught up; a busy lane
    // takes one more batch to start when it is done, but only a due one: below the size and
    // time limits, records keep gathering into a larger batch while the lane works.
    const bool idle = lanes_[i]->Idle();
    if (!idle && !lanes_[i]->Accepting()) continue;
    const bool due = records.size() >= settings_.batch_max_events || now >= *pending.deadline;
    if (!due && !(flush && idle)) continue;
    Batch batch;
    if (records.size() <= settings_.batch_max_events) {
      batch = std::move(pending.batch);
      pending = Pending{};
    } else {
      // Polls come in groups: what is over batch_max_events waits for the next batch (it is
      // already due: its deadline stays).
      batch.records.assign(
          std::make_move_iterator(records.begin()),
          std::make_move_iterator(records.begin() +
                                  static_cast<ptrdiff_t>(settings_.batch_max_events)));
      records.erase(records.begin(),
                    records.begin() + static_cast<ptrdiff_t>(settings_.batch_max_events));
    }
    if (!idle) {
      // Decoded here while the lane applies the batch ahead of it, the lane starts this one's
      // transaction right away. A registry that cannot be reached now leaves it to the lane.
      try {
        ahead_decoder_.DecodeAll(batch);
      } catch (const TransientError&) {
        batch.events.clear();
        batch.dead_letters.clear();
      }
    }
    lanes_[i]->Submit(std::move(batch));
  }
}

bool ConsumerLoop::Backpressured() const {
  for (size_t i = 0; i < lanes_.size(); ++i) {
    if (pending_[i].batch.records.size() >= settings_.batch_max_events && !lanes_[i]->Accepting()) {
      return true;
    }
  }
  return false;
}

std::chrono::milliseconds ConsumerLoop::PollTimeout() const {
  const auto now = clock_.Now();
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(kMaxPoll);
  for (size_t i = 0; i < lanes_.size(); ++i) {
    const Pending& pending = pending_[i];
    if (!pending.deadline) continue;
    if (!lanes_[i]->Idle()) {
      // Its records go as soon as the lane is free: look again shortly.
      timeout = std::min(timeout, kBusyPoll);
      continue;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(*pending.deadline - now);
    timeout = std::min(timeout, std::max(left, std::chrono::milliseconds(1)));
  }
  return timeout;
}

void ConsumerLoop::Collect() {
  for (const auto& lane : lanes_) {
    if (std::exception_ptr failure = lane->TakeFailure()) {
      if (!failure_) failure_ = failure;
    }
    for (const LaneDone& done : lane->TakeDone()) {
      std::vector<kafka::TopicPartition> offsets;
      bool caught_up = false;
      for (const auto& [partition, next] : done.positions) {
        positions_[partition] = next;
        offsets.push_back({partition.first, partition.second, next.next_offset});
        const auto replaying = replaying_.find(partition);
        if (replaying != replaying_.end() && next.next_offset >= replaying->second) {
          logger_.Info("partition caught up after its offset reset",
                       {{"topic", partition.first}, {"partition", partition.second}});
          replaying_.erase(replaying);
          caught_up = true;
        }
      }
      if (caught_up || !replaying_.empty()) UpdateOffsetProblem();
      applied_since_progress_ += done.records;
      try {
        // PostgreSQL holds the truth; the Kafka commit only informs lag tools, so it must not
        // hold the loop (or a shutdown) while the coordinator is unreachable.
        consumer_->CommitAsync(offsets);
      } catch (const Error& e) {
        logger_.Warn("Kafka offset commit failed", {{"error", e.what()}});
      }
    }
  }
}

void ConsumerLoop::WaitForLanes(std::chrono::milliseconds timeout) {
  const uint64_t seen = signal_.generation();
  for (size_t i = 0; i < lanes_.size(); ++i) {
    const bool full = pending_[i].batch.records.size() >= settings_.batch_max_events;
    if (full && lanes_[i]->Accepting()) return;
  }
  signal_.WaitFor(seen, timeout);
}

void ConsumerLoop::WaitUntilIdle() {
  while (true) {
    const uint64_t seen = signal_.generation();
    Collect();
    if (std::all_of(lanes_.begin(), lanes_.end(), [](const auto& lane) { return lane->Idle(); })) {
      Collect();
      return;
    }
    signal_.WaitFor(seen, std::chrono::milliseconds(100));
  }
}

void ConsumerLoop::UpdateLag(bool force) {
  const auto now = clock_.Now();
  const Clock::Duration interval =
      progress_ != nullptr ? Clock::Duration(kProgressInterval) : Clock::Duration(kLagInterval);
  if (!force && now - last_lag_update_ < interval) return;
  last_lag_update_ = now;
  int64_t total = 0;
  for (const kafka::TopicPartition& p : assigned_) {
    // The high watermark of the last fetch response: a broker round trip per partition would
    // queue behind the fetch long-poll of an idle partition.
    const auto marks = consumer_->CachedWatermarks(p.topic, p.partition);
    if (!marks) continue;  // not fetched yet: the gauge keeps its last value
    const auto [low, high] = *marks;
    const auto position = positions_.find({p.topic, p.partition});
    const int64_t at =
        position == positions_.end() ? low : std::max(low, position->second.next_offset);
    const int64_t lag = std::max<int64_t>(0, high - at);
    total += lag;
  }
  total_lag_ = total;
  if (progress_ != nullptr && now - last_progress_ >= kProgressInterval) {
    const double seconds = last_progress_ == Clock::TimePoint{} ? 0 : Seconds(now - last_progress_);
    const int64_t group = group_lag_ != nullptr ? group_lag_->total() : -1;
    *progress_ << "replay: " << applied_since_progress_ << " records in " << seconds << " s ("
               << (seconds > 0 ? static_cast<int64_t>(applied_since_progress_ / seconds) : 0)
               << " records/s), remaining lag "
               << (group >= 0 ? std::to_string(group) + " (every partition of the group's topics)"
                              : std::to_string(total_lag_) + " (the partitions held here)")
               << std::endl;
    applied_since_progress_ = 0;
    last_progress_ = now;
  }
}

void ConsumerLoop::PurgeTombstones() {
  const auto now = clock_.Now();
  if (last_purge_ && now - *last_purge_ < kPurgeInterval) return;
  last_purge_ = now;
  try {
    const int64_t purged =
        Pg().Exec(
                "DELETE FROM cdc.tombstones WHERE target_schema = $1 AND"
                " deleted_at < now() - make_interval(hours => $2::int)",
                {settings_.target_schema, std::to_string(settings_.tombstone_retention.count())})
            .affected();
    if (purged > 0) logger_.Info("tombstones purged", {{"rows", purged}});
  } catch (const TransientError& e) {
    logger_.Warn("tombstone purge failed; will try again", {{"error", e.what()}});
  }
}

void ConsumerLoop::Run(std::stop_token stop) {
  stop_ = stop;
  // The lanes give up failing batches when the consumer stops (or when Run fails, below).
  std::stop_callback stop_lanes(stop, [this] { lanes_stop_.request_stop(); });
  StartLanes();
  try {
    consumer_ = std::make_unique<kafka::Consumer>(
        kafka_settings_, settings_.group_id, this, logger_,
        std::map<std::string, std::string>{{"auto.offset.reset", "earliest"}});
    consumer_->Subscribe(settings_.Subscription());
    logger_.Info("consuming", {{"group", settings_.group_id},
                               {"subscription", settings_.Subscription().front()},
                               {"schema", settings_.target_schema},
                               {"apply_lanes", static_cast<int64_t>(settings_.apply_lanes)}});
    // Caught up: the last poll took everything that was waiting. Then what is pending goes to
    // the idle lanes at once instead of waiting out batch_max_ms (as a Kafka Connect sink applies
    // each poll): low latency at low rates, while under load the records that pile up during an
    // apply make the next batch large.
    bool caught_up = false;
    while (!stop.stop_requested()) {
      Collect();
      if (failure_) std::rethrow_exception(failure_);
      HandOver(caught_up);
      if (Backpressured()) {
        WaitForLanes(std::chrono::milliseconds(50));
        continue;
      }
      std::vector<kafka::Message> messages = consumer_->PollBatch(PollTimeout(), kPollBatch);
      sought_.clear();  // what librdkafka fetched before a seek is not served after it
      for (kafka::Message& message : messages) Add(message);
      ResolveTroubles();
      CheckRanges();
      if (const uint64_t outages = consumer_->BrokerOutages(); outages != outages_seen_) {
        outages_seen_ = outages;
        RecheckPositions();
      }
      caught_up = messages.size() < kPollBatch;
      if (!messages.empty()) continue;
      UpdateLag(false);
      const bool idle =
          std::all_of(pending_.begin(), pending_.end(),
                      [](const Pending& p) { return p.batch.records.empty(); }) &&
          std::all_of(lanes_.begin(), lanes_.end(), [](const auto& lane) { return lane->Idle(); });
      if (idle) PurgeTombstones();
    }
    // Stopping: what was gathered is still applied (or rolled back when PostgreSQL is down).
    WaitUntilIdle();
    HandOver(true);
    WaitUntilIdle();
    if (failure_) std::rethrow_exception(failure_);
  } catch (...) {
    lanes_stop_.request_stop();
    StopLanes();
    throw;
  }
  StopLanes();
  pending_.clear();
  consumer_->Close();
  logger_.Info("consumer stopped");
}

}  // namespace cdc::consumer

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

double Seconds(Clock::Duration duration) { return std::chrono::duration<double>(duration).count(); }

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

bool ConsumerLoop::ReadStored(const std::function<void()>& read) {
  Backoff backoff({std::chrono::milliseconds(200), std::chrono::seconds(5), 2.0, std::nullopt},
                  clock_);
  while (true) {
    try {
      read();
      failing_since_ns_ = 0;
      return true;
    } catch (const TransientError& e) {
      Failing(e);
      metrics_.retries.WithLabels({e.code()}).Inc();
      logger_.Warn("cannot read stored offsets; retrying", {{"error", e.what()}});
      const auto delay = backoff.NextDelay();
      if (!clock_.SleepFor(delay.value_or(std::chrono::seconds(1)), stop_)) return false;
    }
  }
}

void ConsumerLoop::OnAssign(std::vector<kafka::TopicPartition>& partitions) {
  std::map<PartitionKey, StoredPosition> stored;
  if (!ReadStored([&] { stored = LoadPositions(Pg(), settings_.group_id, partitions); })) return;
  unfinished_replays_.clear();  // this member's own are taken up below
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
          logger_.Info("partition caught up with its replay",
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
    // Before the first assignment and the first group lag nothing is known: never "lag 0".
    const std::string remaining =
        group >= 0           ? std::to_string(group) + " (every partition of the group's topics)"
        : !assigned_.empty() ? std::to_string(total_lag_) + " (the partitions held here)"
                             : std::string("unknown (no partitions assigned yet)");
    *progress_ << "replay: " << applied_since_progress_ << " records in " << seconds << " s ("
               << (seconds > 0 ? static_cast<int64_t>(applied_since_progress_ / seconds) : 0)
               << " records/s), remaining lag " << remaining << std::endl;
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
    // Not ready while a replay a previous run began is unfinished, from the start (joining the
    // group takes seconds; with no matching topic it never ends).
    if (!ReadStored(
            [&] { unfinished_replays_ = LoadUnfinishedReplays(Pg(), settings_.group_id); })) {
      return;
    }
    UpdateOffsetProblem();
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

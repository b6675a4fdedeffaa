#include "consumer/apply_lane.h"

#include "common/backoff.h"
#include "common/error.h"
#include "consumer/group_lock.h"

namespace cdc::consumer {
namespace {

// Batches a lane holds: the one in flight and one waiting behind it.
constexpr size_t kDepth = 2;

double Seconds(Clock::Duration duration) { return std::chrono::duration<double>(duration).count(); }

int64_t Nanos(Clock::TimePoint time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

}  // namespace

void LaneSignal::Notify() {
  {
    std::lock_guard lock(mutex_);
    ++generation_;
  }
  cv_.notify_all();
}

uint64_t LaneSignal::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void LaneSignal::WaitFor(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return generation_ != seen; });
}

ApplyLane::ApplyLane(int id, const ConsumerSettings& settings, event::EventDecoder& decoder,
                     DeadLetterPublisher& dead_letters, ConsumerMetrics& metrics, Clock& clock,
                     Logger logger, LaneSignal& signal, std::stop_token stop)
    : id_(id),
      settings_(settings),
      metrics_(metrics),
      clock_(clock),
      logger_(std::move(logger)),
      signal_(signal),
      stop_(std::move(stop)),
      decoder_(decoder, settings.table_map,
               {&clock, settings.unknown_schema_wait, &metrics.schema_waits.Get()}),
      catalog_(settings.target_schema, settings.change_feed, logger_),
      applier_(settings, catalog_, &dead_letters, logger_),
      thread_([this](std::stop_token shutdown) { Loop(std::move(shutdown)); }) {}

ApplyLane::~ApplyLane() {
  thread_.request_stop();
  work_.notify_all();
  // jthread joins here; the loop finishes (or abandons, on stop_) the batch in flight first.
}

bool ApplyLane::Idle() const {
  std::lock_guard lock(mutex_);
  return batches_.empty();
}

bool ApplyLane::Accepting() const {
  std::lock_guard lock(mutex_);
  return batches_.size() < kDepth;
}

void ApplyLane::Submit(Batch batch) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;  // see closed_: its records are read again from cdc.offsets
    batches_.push_back(std::move(batch));
  }
  work_.notify_all();
}

std::vector<LaneDone> ApplyLane::TakeDone() {
  std::lock_guard lock(mutex_);
  return std::exchange(done_, {});
}

std::exception_ptr ApplyLane::TakeFailure() {
  std::lock_guard lock(mutex_);
  return std::exchange(failure_, nullptr);
}

metrics::Readiness ApplyLane::Readiness() const {
  std::lock_guard lock(mutex_);
  if (failing_since_ns_ == 0) return {true, ""};
  const auto failing_for = std::chrono::nanoseconds(Nanos(clock_.Now()) - failing_since_ns_);
  if (failing_for < settings_.unhealthy_after) return {true, ""};
  return {false, "batches have failed for " +
                     std::to_string(
                         std::chrono::duration_cast<std::chrono::seconds>(failing_for).count()) +
                     " s: " + last_error_};
}

void ApplyLane::Failing(const Error& error) {
  std::lock_guard lock(mutex_);
  if (failing_since_ns_ == 0) failing_since_ns_ = Nanos(clock_.Now());
  last_error_ = error.what();
}

void ApplyLane::Loop(std::stop_token shutdown) {
  while (true) {
    Batch* batch = nullptr;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, shutdown, [&] { return !batches_.empty(); });
      if (batches_.empty()) return;  // shut down with nothing to do
      batch = &batches_.front();     // a deque's elements stay put while the loop appends
    }
    std::exception_ptr failure;
    bool committed = false;
    try {
      committed = Apply(*batch);
    } catch (...) {
      failure = std::current_exception();
    }
    std::vector<Batch> dropped;
    {
      std::lock_guard lock(mutex_);
      if (committed) {
        done_.push_back({NextPositions(batch->records), static_cast<int64_t>(batch->records.size()),
                         std::move(*batch)});
        batches_.pop_front();
      } else {
        closed_ = true;
        dropped.assign(std::make_move_iterator(batches_.begin()),
                       std::make_move_iterator(batches_.end()));
        batches_.clear();
      }
      if (failure) failure_ = failure;
    }
    signal_.Notify();
    if (!committed) return;
  }
}

bool ApplyLane::Apply(Batch& batch) {
  Backoff backoff({std::chrono::milliseconds(100), std::chrono::seconds(10), 2.0, std::nullopt},
                  clock_);
  while (true) {
    const auto started = clock_.Now();
    try {
      // A batch the loop decoded while it waited is used as it is, once: a retry decodes again.
      if (!batch.decoded) decoder_.DecodeAll(batch);
      batch.decoded = false;
      if (pg_ && !pg_->healthy()) pg_.reset();
      if (!pg_) {
        pg_ = std::make_unique<pg::Connection>(
            settings_.postgres_url,
            GroupLock::ApplicationName("cdc-consumer-lane-" + std::to_string(id_)), logger_);
      }
      const ApplyOutcome outcome = applier_.Apply(*pg_, batch, true);
      RecordMetrics(batch, outcome, Seconds(clock_.Now() - started));
      std::lock_guard lock(mutex_);
      failing_since_ns_ = 0;
      return true;
    } catch (const TransientError& e) {
      Failing(e);
      metrics_.retries.WithLabels({e.code()}).Inc();
      const auto delay = backoff.NextDelay().value_or(std::chrono::seconds(1));
      logger_.Warn("batch rolled back; retrying",
                   {{"lane", id_},
                    {"code", e.code()},
                    {"error", e.what()},
                    {"records", static_cast<int64_t>(batch.records.size())},
                    {"retry_in_ms",
                     static_cast<int64_t>(
                         std::chrono::duration_cast<std::chrono::milliseconds>(delay).count())}});
      if (pg_ && !pg_->healthy()) pg_.reset();
      if (!clock_.SleepFor(delay, stop_)) return false;
    }
  }
}

void ApplyLane::RecordMetrics(const Batch& batch, const ApplyOutcome& outcome, double seconds) {
  metrics_.batch_size.Get().Observe(static_cast<double>(batch.records.size()));
  metrics_.apply_duration.Get().Observe(seconds);
  const auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.WallNow().time_since_epoch())
          .count();
  for (const TableEvent& e : batch.events) {
    metrics_.end_to_end_latency.Get().Observe(
        static_cast<double>(now_us - e.event.source.change_ts_micros) / 1e6);
  }
  int64_t applied = 0;
  for (const auto& [target, table] : outcome.tables) {
    for (const auto& [op, count] : table.events_by_op) {
      metrics_.events_applied.WithLabels({target, std::string(1, op)})
          .Inc(static_cast<double>(count));
      applied += count;
    }
    metrics_.events_skipped.WithLabels({target, "stale"}).Inc(static_cast<double>(table.stale));
    metrics_.rows_written.WithLabels({target, "upsert"}).Inc(static_cast<double>(table.upserted));
    metrics_.rows_written.WithLabels({target, "delete"}).Inc(static_cast<double>(table.deleted));
  }
  if (outcome.superseded > 0) {
    metrics_.events_skipped.WithLabels({"*", "superseded"})
        .Inc(static_cast<double>(outcome.superseded));
  }
  for (const DeadLetter& letter : batch.dead_letters) {
    metrics_.dead_letters.WithLabels({letter.error_class}).Inc();
    if (letter.error_class == "schema_incompatible") {
      metrics_.incompatible_schemas.WithLabels({letter.target_table}).Inc();
    }
  }
  metrics_.last_apply_timestamp.Get().Set(static_cast<double>(now_us) / 1e6);
  logger_.Debug("batch applied", {{"lane", id_},
                                  {"records", static_cast<int64_t>(batch.records.size())},
                                  {"events", applied},
                                  {"dead_letters", static_cast<int64_t>(outcome.dead_letters)},
                                  {"seconds", seconds}});
}

}  // namespace cdc::consumer

#include "consumer/consumer_loop.h"

#include <algorithm>
#include <ostream>

#include "common/backoff.h"
#include "common/error.h"

namespace cdc::consumer {
namespace {

constexpr auto kLagInterval = std::chrono::seconds(5);
constexpr auto kProgressInterval = std::chrono::seconds(2);
constexpr auto kPurgeInterval = std::chrono::minutes(10);

double Seconds(Clock::Duration duration) { return std::chrono::duration<double>(duration).count(); }

}  // namespace

ConsumerLoop::ConsumerLoop(const ConsumerSettings& settings, const kafka::KafkaSettings& kafka,
                           event::EventDecoder& decoder, DeadLetterPublisher& dead_letters,
                           ConsumerMetrics& metrics, Clock& clock, Logger logger,
                           std::ostream* progress)
    : settings_(settings),
      kafka_settings_(kafka),
      metrics_(metrics),
      clock_(clock),
      logger_(std::move(logger)),
      progress_(progress),
      decoder_(decoder, settings.table_map),
      catalog_(settings.target_schema, logger_),
      applier_(settings, catalog_, &dead_letters, logger_) {}

ConsumerLoop::~ConsumerLoop() = default;

pg::Connection& ConsumerLoop::Pg() {
  if (pg_ && !pg_->healthy()) pg_.reset();
  if (!pg_) pg_ = std::make_unique<pg::Connection>(settings_.postgres_url, "cdc-consumer");
  return *pg_;
}

metrics::Readiness ConsumerLoop::Readiness() const {
  const int64_t since = failing_since_ns_.load();
  if (since == 0) return {true, ""};
  const auto failing_for = clock_.Now().time_since_epoch() - std::chrono::nanoseconds(since);
  if (failing_for < settings_.unhealthy_after) return {true, ""};
  std::lock_guard lock(error_mutex_);
  return {false, "batches have failed for " +
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
  while (true) {
    try {
      const auto stored = LoadOffsets(Pg(), settings_.group_id, partitions);
      for (kafka::TopicPartition& p : partitions) {
        const auto found = stored.find({p.topic, p.partition});
        if (found != stored.end()) p.offset = found->second;
      }
      break;
    } catch (const TransientError& e) {
      Failing(e);
      metrics_.retries.WithLabels({e.code()}).Inc();
      logger_.Warn("cannot read stored offsets; retrying", {{"error", e.what()}});
      const auto delay = backoff.NextDelay();
      if (!clock_.SleepFor(delay.value_or(std::chrono::seconds(1)), stop_)) return;
    }
  }
  for (const kafka::TopicPartition& p : partitions) {
    assigned_.push_back(p);
    if (p.offset >= 0) positions_[{p.topic, p.partition}] = p.offset;
    logger_.Info("partition assigned",
                 {{"topic", p.topic}, {"partition", p.partition}, {"offset", p.offset}});
  }
  metrics_.assigned_partitions.Get().Set(static_cast<double>(assigned_.size()));
}

void ConsumerLoop::OnRevoke(const std::vector<kafka::TopicPartition>& partitions) {
  auto revoked = [&](const std::string& topic, int32_t partition) {
    return std::any_of(partitions.begin(), partitions.end(), [&](const kafka::TopicPartition& p) {
      return p.topic == topic && p.partition == partition;
    });
  };
  // Records gathered but not applied: the next owner reads them again from cdc.offsets.
  std::erase_if(batch_.records, [&](const consumer::Record& r) {
    return revoked(r.position.topic, r.position.partition);
  });
  std::erase_if(assigned_,
                [&](const kafka::TopicPartition& p) { return revoked(p.topic, p.partition); });
  for (const kafka::TopicPartition& p : partitions) {
    positions_.erase({p.topic, p.partition});
    metrics_.lag.WithLabels({p.topic, std::to_string(p.partition)}).Set(0);
  }
  metrics_.assigned_partitions.Get().Set(static_cast<double>(assigned_.size()));
}

void ConsumerLoop::Gather(std::stop_token stop) {
  std::optional<Clock::TimePoint> deadline;
  while (!stop.stop_requested() && batch_.records.size() < settings_.batch_max_events) {
    auto timeout = std::chrono::milliseconds(100);
    if (deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - clock_.Now());
      if (left.count() <= 0) break;
      timeout = std::min(timeout, left);
    }
    std::optional<kafka::Message> message = consumer_->Poll(timeout);
    if (!message) {
      if (batch_.records.empty()) {
        UpdateLag(false);
        return;  // idle: let Run do its periodic work
      }
      continue;
    }
    consumer::Record record;
    record.position = {std::string(message->topic()), message->partition(), message->offset(),
                       message->timestamp_ms()};
    if (const auto key = message->key()) record.key = std::string(*key);
    if (const auto value = message->value()) record.value = std::string(*value);
    record.headers = message->headers();
    if (!deadline) deadline = clock_.Now() + settings_.batch_max_ms;
    batch_.records.push_back(std::move(record));
  }
}

bool ConsumerLoop::ApplyBatch(std::stop_token stop) {
  Backoff backoff({std::chrono::milliseconds(100), std::chrono::seconds(10), 2.0, std::nullopt},
                  clock_);
  while (true) {
    const auto started = clock_.Now();
    try {
      batch_.events.clear();
      batch_.dead_letters.clear();
      for (size_t i = 0; i < batch_.records.size(); ++i) decoder_.Decode(batch_, i);
      const ApplyOutcome outcome = applier_.Apply(Pg(), batch_, true);
      Record(outcome, Seconds(clock_.Now() - started));
      failing_since_ns_ = 0;
      return true;
    } catch (const TransientError& e) {
      Failing(e);
      metrics_.retries.WithLabels({e.code()}).Inc();
      const auto delay = backoff.NextDelay().value_or(std::chrono::seconds(1));
      logger_.Warn("batch rolled back; retrying",
                   {{"code", e.code()},
                    {"error", e.what()},
                    {"records", static_cast<int64_t>(batch_.records.size())},
                    {"retry_in_ms",
                     static_cast<int64_t>(
                         std::chrono::duration_cast<std::chrono::milliseconds>(delay).count())}});
      if (pg_ && !pg_->healthy()) pg_.reset();
      if (!clock_.SleepFor(delay, stop)) return false;
    }
  }
}

void ConsumerLoop::Record(const ApplyOutcome& outcome, double seconds) {
  metrics_.batch_size.Get().Observe(static_cast<double>(batch_.records.size()));
  metrics_.apply_duration.Get().Observe(seconds);
  const auto now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.WallNow().time_since_epoch())
          .count();
  for (const TableEvent& e : batch_.events) {
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
  for (const DeadLetter& letter : batch_.dead_letters) {
    metrics_.dead_letters.WithLabels({letter.error_class}).Inc();
    if (letter.error_class == "schema_incompatible") {
      metrics_.incompatible_schemas.WithLabels({letter.target_table}).Inc();
    }
  }
  metrics_.last_apply_timestamp.Get().Set(static_cast<double>(now_us) / 1e6);
  for (const auto& [partition, next] : NextOffsets(batch_.records)) positions_[partition] = next;
  applied_since_progress_ += static_cast<int64_t>(batch_.records.size());
  logger_.Debug("batch applied", {{"records", static_cast<int64_t>(batch_.records.size())},
                                  {"events", applied},
                                  {"dead_letters", static_cast<int64_t>(outcome.dead_letters)},
                                  {"seconds", seconds}});
}

void ConsumerLoop::CommitToKafka() {
  std::vector<kafka::TopicPartition> offsets;
  for (const auto& [partition, next] : NextOffsets(batch_.records)) {
    offsets.push_back({partition.first, partition.second, next});
  }
  if (offsets.empty()) return;
  try {
    consumer_->Commit(offsets);
  } catch (const Error& e) {
    // PostgreSQL holds the truth; the Kafka commit only informs lag tools.
    logger_.Warn("Kafka offset commit failed", {{"error", e.what()}});
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
    try {
      const auto [low, high] =
          consumer_->Watermarks(p.topic, p.partition, std::chrono::milliseconds(500));
      const auto position = positions_.find({p.topic, p.partition});
      const int64_t at = position == positions_.end() ? low : std::max(low, position->second);
      const int64_t lag = std::max<int64_t>(0, high - at);
      total += lag;
      metrics_.lag.WithLabels({p.topic, std::to_string(p.partition)}).Set(static_cast<double>(lag));
    } catch (const Error&) {
      // The broker is unreachable; the gauge keeps its last value.
    }
  }
  total_lag_ = total;
  if (progress_ != nullptr && now - last_progress_ >= kProgressInterval) {
    const double seconds = last_progress_ == Clock::TimePoint{} ? 0 : Seconds(now - last_progress_);
    *progress_ << "replay: " << applied_since_progress_ << " records in " << seconds << " s ("
               << (seconds > 0 ? static_cast<int64_t>(applied_since_progress_ / seconds) : 0)
               << " records/s), remaining lag " << total_lag_ << std::endl;
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
  consumer_ = std::make_unique<kafka::Consumer>(
      kafka_settings_, settings_.group_id, this, logger_,
      std::map<std::string, std::string>{{"auto.offset.reset", "earliest"}});
  consumer_->Subscribe(settings_.Subscription());
  logger_.Info("consuming", {{"group", settings_.group_id},
                             {"subscription", settings_.Subscription().front()},
                             {"schema", settings_.target_schema}});
  while (!stop.stop_requested()) {
    Gather(stop);
    if (batch_.records.empty()) {
      PurgeTombstones();
      continue;
    }
    // On stop, the gathered batch is still applied (or rolled back when PostgreSQL is down).
    if (!ApplyBatch(stop)) break;
    CommitToKafka();
    batch_.Clear();
    UpdateLag(false);
  }
  batch_.Clear();
  consumer_->Close();
  logger_.Info("consumer stopped");
}

}  // namespace cdc::consumer

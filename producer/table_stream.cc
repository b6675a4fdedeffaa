#include "producer/table_stream.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/avro/schema.h"
#include "common/backoff.h"
#include "common/error.h"
#include "common/event/temporal.h"

namespace cdc::producer {
namespace {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr int64_t kPurgeStep = 10'000;
constexpr auto kProgressEvery = std::chrono::seconds(2);

int64_t WallMicros(const Clock& clock) {
  return duration_cast<microseconds>(clock.WallNow().time_since_epoch()).count();
}

bool SnapshotNeeded(const TablePosition& position, bool snapshot_initial) {
  if (position.snapshot.state == SnapshotPosition::State::kRunning) return true;
  if (position.snapshot.state == SnapshotPosition::State::kDone) return false;
  // Never snapshotted: only a table without any streamed position gets its initial snapshot.
  return snapshot_initial && position.watermark == 0;
}

}  // namespace

TableStream::TableStream(std::string name, std::string topic, const StreamOptions& options,
                         ChangeSource& source, Publisher& publisher, size_t table_index,
                         registry::SchemaRegistry& registry, ProducerMetrics& metrics, Clock& clock,
                         Logger logger)
    : name_(std::move(name)),
      topic_(std::move(topic)),
      options_(options),
      source_(source),
      publisher_(publisher),
      ledger_(publisher.ledger(table_index)),
      table_index_(table_index),
      registry_(registry),
      clock_(clock),
      logger_(std::move(logger)),
      rows_polled_(metrics.rows_polled.WithLabels({name_})),
      poison_rows_(metrics.poison_rows.WithLabels({name_})),
      poll_duration_(metrics.poll_duration.WithLabels({name_})),
      gaps_pending_(metrics.gaps_pending.WithLabels({name_})),
      gaps_closed_(metrics.gaps_expired.WithLabels({name_, "transactions_ended"})),
      gaps_timed_out_(metrics.gaps_expired.WithLabels({name_, "timeout"})),
      oldest_gap_seconds_(metrics.oldest_gap_seconds.WithLabels({name_})),
      lag_seconds_(metrics.lag_seconds.WithLabels({name_})),
      watermark_(metrics.watermark.WithLabels({name_})),
      in_flight_(metrics.in_flight.WithLabels({name_})),
      snapshot_rows_(metrics.snapshot_rows.WithLabels({name_})),
      snapshot_running_(metrics.snapshot_running.WithLabels({name_})),
      metrics_(metrics) {}

TableHealth TableStream::health() const {
  std::lock_guard lock(health_mutex_);
  return health_;
}

void TableStream::SetHealth(bool ok, bool streaming, std::string error) {
  std::lock_guard lock(health_mutex_);
  health_.ok = ok;
  health_.streaming = streaming;
  health_.error = std::move(error);
}

void TableStream::Run(std::stop_token stop, StreamMode mode) {
  Backoff backoff(BackoffPolicy{milliseconds(100), milliseconds(30'000), 2.0, std::nullopt},
                  clock_);
  bool started = false;
  while (!stop.stop_requested()) {
    try {
      if (!started) {
        Restart(mode == StreamMode::kBackfill ? TablePosition{} : ledger_.Confirmed());
        started = true;
      }
      if (ledger_.Failure()) {
        if (ledger_.InFlight() > 0) {
          clock_.SleepFor(milliseconds(20), stop);
          continue;
        }
        const TablePosition confirmed = ledger_.Confirmed();
        logger_.Warn("rewinding to the confirmed checkpoint after a failed delivery",
                     {{"table", name_},
                      {"error", ledger_.Failure().value_or("")},
                      {"watermark", confirmed.watermark}});
        ledger_.Reset();
        Restart(mode == StreamMode::kBackfill ? TablePosition{} : confirmed);
      }
      const size_t in_flight = ledger_.InFlight();
      in_flight_.Set(static_cast<double>(in_flight));
      if (in_flight >= options_.max_in_flight) {
        clock_.SleepFor(milliseconds(10), stop);  // Kafka is behind: the change table buffers
        continue;
      }
      EnsureSchemas();
      if (mode == StreamMode::kBackfill || !tracker_) {
        const bool done = SnapshotStep(mode);
        SetHealth(true, false, "");
        backoff.Reset();
        if (done && mode == StreamMode::kBackfill) return;
        continue;
      }
      const bool full = PollOnce();
      MaybePurge();
      SetHealth(true, true, "");
      backoff.Reset();
      if (!full) clock_.SleepFor(options_.poll_interval, stop);
    } catch (const FatalError&) {
      throw;
    } catch (const Error& e) {
      metrics_.table_errors.WithLabels({name_, std::string(RetryClassName(e.retry_class()))}).Inc();
      SetHealth(false, false, e.what());
      source_.Disconnect();
      started = false;  // resume from the confirmed position: nothing read is skipped
      Clock::Duration delay = backoff.NextDelay().value_or(std::chrono::seconds(30));
      if (!e.transient()) delay = std::max<Clock::Duration>(delay, std::chrono::seconds(5));
      logger_.Log(
          e.transient() ? LogLevel::kWarn : LogLevel::kError,
          e.transient() ? "table poll failed; retrying" : "table cannot be polled",
          {{"table", name_},
           {"error", e.what()},
           {"code", e.code()},
           {"retry_in_ms", static_cast<int64_t>(duration_cast<milliseconds>(delay).count())}});
      clock_.SleepFor(delay, stop);
    }
  }
}

void TableStream::Restart(const TablePosition& position) {
  position_ = position;
  tracker_.reset();
  if (!SnapshotNeeded(position_, options_.snapshot_initial)) {
    tracker_.emplace(position_.watermark, options_.gap_timeout, clock_);
  }
  watermark_.Set(static_cast<double>(position_.watermark));
}

void TableStream::EnsureSchemas() {
  const event::TableMeta& table = source_.table();
  if (source_.metadata_version() == schema_version_) return;
  ids_.key = registry_.Register(registry::KeySubject(topic_),
                                avro::KeySchema(options_.topic_prefix, table));
  ids_.value = registry_.Register(registry::ValueSubject(topic_),
                                  avro::ValueSchema(options_.topic_prefix, table));
  schema_version_ = source_.metadata_version();
  logger_.Info("schemas registered", {{"table", name_},
                                      {"topic", topic_},
                                      {"key_schema_id", ids_.key},
                                      {"value_schema_id", ids_.value},
                                      {"columns", static_cast<int64_t>(table.columns.size())}});
}

int64_t TableStream::ChooseHandoff() {
  const int64_t max = source_.MaxSeq().value_or(0);
  if (max <= 0) return 0;
  const int64_t low = std::max<int64_t>(0, max - kHandoffWindow);
  int64_t expected = low + 1;
  for (int64_t seq : source_.SeqsAbove(low, static_cast<size_t>(kHandoffWindow) + 1)) {
    if (seq != expected) break;  // `expected` is missing: possibly a transaction still open
    expected = seq + 1;
  }
  return expected - 1;
}

bool TableStream::SnapshotStep(StreamMode mode) {
  using State = SnapshotPosition::State;
  if (position_.snapshot.state != State::kRunning) {
    position_.snapshot = SnapshotPosition{State::kRunning, ChooseHandoff(), std::nullopt, 0};
    ledger_.AddCandidate(position_, clock_.Now());
    logger_.Info(mode == StreamMode::kBackfill ? "backfill snapshot started" : "snapshot started",
                 {{"table", name_}, {"handoff_seq", position_.snapshot.handoff}});
  }
  if (snapshot_rows_this_run_ == 0) {
    snapshot_started_ = clock_.Now();
    last_progress_ = snapshot_started_;
    snapshot_running_.Set(1);
  }
  const event::TableMeta& table = source_.table();
  SnapshotChunk chunk = source_.ReadSnapshot(position_.snapshot.after_key, options_.batch_size);
  EnsureSchemas();
  std::vector<event::Message> messages;
  std::vector<event::Message> dead_letters;
  const int64_t now_micros = WallMicros(clock_);
  for (event::Row& row : chunk.rows) {
    event::ChangeEvent event;
    event.op = event::Op::kRead;
    event.after = std::move(row);
    event.key = event::KeyFromImage(table, event);
    event.source = {options_.pipeline,          table.db,   table.schema, table.table,
                    position_.snapshot.handoff, now_micros, std::nullopt, true};
    event.ts_ms = now_micros / 1000;
    try {
      for (event::Message& m : event::BuildMessages(table, event, ids_, options_.messages)) {
        messages.push_back(std::move(m));
      }
    } catch (const PermanentError& e) {
      PoisonRecord poison;
      poison.seq = position_.snapshot.handoff;
      poison.error = e.what();
      dead_letters.push_back(DeadLetter(poison));
    }
  }
  for (PoisonRecord& poison : chunk.poison) {
    poison.seq = position_.snapshot.handoff;
    dead_letters.push_back(DeadLetter(poison));
  }
  poison_rows_.Inc(static_cast<double>(dead_letters.size()));
  publisher_.Publish(table_index_, topic_, std::move(messages));
  publisher_.Publish(table_index_, options_.dead_letter_topic, std::move(dead_letters));
  if (chunk.last_key) position_.snapshot.after_key = std::move(chunk.last_key);
  position_.snapshot.rows += static_cast<int64_t>(chunk.read);
  snapshot_rows_this_run_ += static_cast<int64_t>(chunk.read);
  snapshot_rows_.Inc(static_cast<double>(chunk.read));
  const bool done = chunk.read < options_.batch_size;
  if (done) {
    position_.snapshot.state = State::kDone;
    position_.watermark = position_.snapshot.handoff;
    tracker_.emplace(position_.watermark, options_.gap_timeout, clock_);
    snapshot_running_.Set(0);
  }
  ledger_.AddCandidate(position_, clock_.Now());
  ReportProgress(done);
  if (done) snapshot_rows_this_run_ = 0;
  return done;
}

void TableStream::ReportProgress(bool final) {
  const Clock::TimePoint now = clock_.Now();
  if (!final && now - last_progress_ < kProgressEvery) return;
  last_progress_ = now;
  const double elapsed = duration<double>(now - snapshot_started_).count();
  const double rate = elapsed > 0 ? static_cast<double>(snapshot_rows_this_run_) / elapsed : 0.0;
  if (options_.progress_to_stderr) {
    std::fprintf(stderr, "snapshot %s: %lld rows, %.0f rows/s, %.1f s elapsed%s\n", name_.c_str(),
                 static_cast<long long>(position_.snapshot.rows), rate, elapsed,
                 final ? " (done)" : "");
  }
  logger_.Info(final ? "snapshot done" : "snapshot progress", {{"table", name_},
                                                               {"rows", position_.snapshot.rows},
                                                               {"rows_per_s", rate},
                                                               {"elapsed_s", elapsed}});
}

bool TableStream::PollOnce() {
  const Clock::TimePoint start = clock_.Now();
  std::vector<event::Message> messages;
  std::vector<event::Message> dead_letters;
  int64_t oldest_ts = std::numeric_limits<int64_t>::max();
  size_t rows = 0;
  if (tracker_->pending_gap_count() > 0) {
    // Taken before this poll's gap read and after the reads that noticed the gaps (the previous
    // polls): see GapTracker::ObserveHorizon.
    if (const std::optional<TxHorizon> horizon = source_.TransactionHorizon()) {
      tracker_->ObserveHorizon(*horizon);
    } else if (tracker_->uses_horizon()) {
      tracker_->DropHorizon();
    }
  }
  const std::vector<SeqRange> gaps = tracker_->GapsToCheck(ChangeSource::kMaxRangesPerRead);
  if (!gaps.empty()) {
    const Clock::TimePoint read_at = clock_.Now();
    ChangeBatch filled = source_.ReadRanges(gaps, options_.batch_size);
    rows += filled.rows;
    // A read cut short by its row limit checked the ranges only up to its last row.
    int64_t through = gaps.back().last;
    if (filled.rows >= options_.batch_size) {
      through = 0;
      for (const ChangeRecord& record : filled.records) through = std::max(through, record.seq);
      for (const PoisonRecord& poison : filled.poison) through = std::max(through, poison.seq);
    }
    for (const PoisonRecord& poison : filled.poison) {
      if (tracker_->Accept(poison.seq)) dead_letters.push_back(DeadLetter(poison));
    }
    Publish(filled, messages, &oldest_ts);
    tracker_->Checked(gaps, through, read_at);
  }
  ChangeBatch fresh = source_.ReadNew(tracker_->high(), options_.batch_size);
  rows += fresh.rows;
  for (const PoisonRecord& poison : fresh.poison) {
    if (tracker_->Accept(poison.seq)) dead_letters.push_back(DeadLetter(poison));
  }
  Publish(fresh, messages, &oldest_ts);
  poison_rows_.Inc(static_cast<double>(dead_letters.size()));
  publisher_.Publish(table_index_, topic_, std::move(messages));
  publisher_.Publish(table_index_, options_.dead_letter_topic, std::move(dead_letters));

  const bool by_horizon = tracker_->uses_horizon();
  for (const SeqRange& gap : tracker_->ExpireGaps()) {
    (by_horizon ? gaps_closed_ : gaps_timed_out_).Inc();
    if (by_horizon) {
      logger_.Info("sequence gap closed: the transactions that could have filled it have ended",
                   {{"table", name_}, {"first_seq", gap.first}, {"last_seq", gap.last}});
    } else {
      logger_.Warn("sequence gap not filled within gap_timeout_ms; giving up on it",
                   {{"table", name_},
                    {"first_seq", gap.first},
                    {"last_seq", gap.last},
                    {"gap_timeout_ms", static_cast<int64_t>(options_.gap_timeout.count())}});
    }
  }
  for (const SeqRange& gap : tracker_->OverdueGaps()) {
    logger_.Warn(
        "sequence gap still waited for after gap_timeout_ms: a transaction that started"
        " before it is still open (its rows are published when it commits)",
        {{"table", name_},
         {"first_seq", gap.first},
         {"last_seq", gap.last},
         {"gap_timeout_ms", static_cast<int64_t>(options_.gap_timeout.count())}});
  }
  const Clock::TimePoint oldest_gap = tracker_->oldest_gap_since();
  oldest_gap_seconds_.Set(oldest_gap == Clock::TimePoint::max()
                              ? 0.0
                              : duration<double>(clock_.Now() - oldest_gap).count());
  position_.watermark = tracker_->watermark();
  ledger_.AddCandidate(position_, clock_.Now());

  rows_polled_.Inc(static_cast<double>(rows));
  gaps_pending_.Set(static_cast<double>(tracker_->pending_gap_count()));
  if (oldest_ts != std::numeric_limits<int64_t>::max()) {
    lag_seconds_.Set(std::max(0.0, static_cast<double>(WallMicros(clock_) - oldest_ts) / 1e6));
  } else if (ledger_.InFlight() == 0) {
    lag_seconds_.Set(0);
  }
  watermark_.Set(static_cast<double>(ledger_.Confirmed().watermark));
  poll_duration_.Observe(duration<double>(clock_.Now() - start).count());
  return fresh.rows >= options_.batch_size;
}

void TableStream::Publish(ChangeBatch& batch, std::vector<event::Message>& out,
                          int64_t* oldest_ts) {
  if (batch.records.empty()) return;
  EnsureSchemas();  // the read may have noticed new columns
  const event::TableMeta& table = source_.table();
  const int64_t now_ms = WallMicros(clock_) / 1000;
  for (ChangeRecord& record : batch.records) {
    if (!tracker_->Accept(record.seq)) continue;
    *oldest_ts = std::min(*oldest_ts, record.change_ts_micros);
    event::ChangeEvent event;
    event.op = record.op;
    if (record.op == event::Op::kDelete) {
      event.before = std::move(record.row);
    } else {
      event.after = std::move(record.row);
    }
    event.key = event::KeyFromImage(table, event);
    event.source = {options_.pipeline,       table.db,    table.schema, table.table, record.seq,
                    record.change_ts_micros, record.txid, false};
    event.ts_ms = now_ms;
    try {
      for (event::Message& m : event::BuildMessages(table, event, ids_, options_.messages)) {
        out.push_back(std::move(m));
      }
    } catch (const PermanentError& e) {
      PoisonRecord poison;
      poison.seq = record.seq;
      poison.error = e.what();
      publisher_.Publish(table_index_, options_.dead_letter_topic, {DeadLetter(poison)});
      poison_rows_.Inc();
    }
  }
}

event::Message TableStream::DeadLetter(const PoisonRecord& poison) const {
  nlohmann::json columns = nlohmann::json::object();
  for (const auto& [name, text] : poison.columns) {
    columns[name] = text ? nlohmann::json(*text) : nlohmann::json(nullptr);
  }
  const nlohmann::json value = {{"pipeline", options_.pipeline},
                                {"table", name_},
                                {"topic", topic_},
                                {"seq", poison.seq},
                                {"error", poison.error},
                                {"columns", std::move(columns)},
                                {"failed_at", event::FormatTimestampTz(WallMicros(clock_))}};
  logger_.Error("row cannot be encoded; sent to the dead-letter topic",
                {{"table", name_},
                 {"seq", poison.seq},
                 {"error", poison.error},
                 {"topic", options_.dead_letter_topic}});
  event::Message message;
  message.key = name_ + "/" + std::to_string(poison.seq);
  message.value = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  message.headers = {
      {"cdc.table", name_}, {"cdc.seq", std::to_string(poison.seq)}, {"cdc.error", poison.error}};
  return message;
}

void TableStream::MaybePurge() {
  if (!options_.purge) return;
  const Clock::TimePoint now = clock_.Now();
  if (last_purge_ != Clock::TimePoint{} && now - last_purge_ < options_.purge_interval) return;
  last_purge_ = now;
  const int64_t confirmed = ledger_.Confirmed().watermark;
  int64_t purged = 0;
  while (purged_through_ < confirmed) {
    const int64_t up_to = std::min(confirmed, purged_through_ + kPurgeStep);
    purged += source_.Purge(up_to, purged_through_);
    purged_through_ = up_to;
  }
  if (purged > 0) {
    metrics_.purged_rows.WithLabels({name_}).Inc(static_cast<double>(purged));
    logger_.Info("purged published change rows",
                 {{"table", name_}, {"rows", purged}, {"through_seq", confirmed}});
  }
}

}  // namespace cdc::producer

#include "producer/table_stream.h"

#include <algorithm>
#include <charconv>
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
using std::chrono::milliseconds;

constexpr int64_t kPurgeStep = 10'000;

// A key value as a dead letter shows it.
std::optional<std::string> KeyText(const event::Value& value) {
  if (const auto* number = std::get_if<int64_t>(&value)) return std::to_string(*number);
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* flag = std::get_if<bool>(&value)) return *flag ? "true" : "false";
  if (const auto* real = std::get_if<double>(&value)) {
    char buffer[32];
    return std::string(buffer, std::to_chars(buffer, buffer + sizeof(buffer), *real).ptr);
  }
  return std::nullopt;
}
constexpr int64_t kEverything = std::numeric_limits<int64_t>::max();

// Only a table that never streamed gets its initial snapshot.
bool InitialSnapshotNeeded(const TablePosition& position, bool snapshot_initial) {
  return snapshot_initial && position.snapshot.state == SnapshotPosition::State::kNone &&
         position.watermark == 0 && position.high == 0;
}

// "12-14, 20, ..." for logs: the first ten ranges, then how many more.
std::string RangesText(const std::vector<SeqRange>& ranges) {
  constexpr size_t kShown = 10;
  std::string out;
  for (size_t i = 0; i < ranges.size() && i < kShown; ++i) {
    if (!out.empty()) out += ", ";
    out += std::to_string(ranges[i].first);
    if (ranges[i].last != ranges[i].first) out += "-" + std::to_string(ranges[i].last);
  }
  if (ranges.size() > kShown) out += " and " + std::to_string(ranges.size() - kShown) + " more";
  return out;
}

// True when `batch` has a number above `high` that does not follow the one before it.
bool OpensGap(const ChangeBatch& batch, int64_t high) {
  std::vector<int64_t> above;
  for (const ChangeRecord& record : batch.records) {
    if (record.seq > high) above.push_back(record.seq);
  }
  for (const PoisonRecord& poison : batch.poison) {
    if (poison.seq > high) above.push_back(poison.seq);
  }
  std::sort(above.begin(), above.end());
  int64_t previous = high;
  for (int64_t seq : above) {
    if (seq > previous + 1) return true;
    previous = seq;
  }
  return false;
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
      snapshot_superseded_(metrics.snapshot_superseded.WithLabels({name_})),
      snapshot_running_(metrics.snapshot_running.WithLabels({name_})),
      gap_timeout_fallback_(metrics.gap_timeout_fallback.WithLabels({name_})),
      metrics_(metrics) {}

TableHealth TableStream::health() const {
  std::lock_guard lock(status_mutex_);
  return health_;
}

void TableStream::SetHealth(bool ok, bool streaming, std::string error) {
  std::lock_guard lock(status_mutex_);
  health_.ok = ok;
  health_.streaming = streaming;
  health_.error = std::move(error);
}

void TableStream::Run(std::stop_token stop) {
  Backoff backoff(BackoffPolicy{milliseconds(100), milliseconds(30'000), 2.0, std::nullopt},
                  clock_);
  bool started = false;
  while (!stop.stop_requested()) {
    try {
      if (!started) {
        Restart(ledger_.Confirmed());
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
        Restart(confirmed);
      }
      const size_t in_flight = ledger_.InFlight();
      in_flight_.Set(static_cast<double>(in_flight));
      if (in_flight >= options_.max_in_flight) {
        clock_.SleepFor(milliseconds(10), stop);  // Kafka is behind: the change table buffers
        continue;
      }
      EnsureSchemas();
      if (!tracker_) StartTracking();
      CheckColumns();
      std::optional<int64_t> requested;
      {
        std::lock_guard lock(status_mutex_);
        requested.swap(backfill_requested_);
      }
      if (requested && position_.snapshot.state != SnapshotPosition::State::kRunning) {
        BeginSnapshot(true, *requested);
        RecordCandidate();
      }
      const bool full = PollOnce();
      const bool snapshot_busy = SnapshotStep();
      MaybePurge();
      SetHealth(true, true, "");
      backoff.Reset();
      if (!full && !snapshot_busy) clock_.SleepFor(options_.poll_interval, stop);
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
  schema_version_ = 0;  // the position says which fields are published non-null
  tracker_.reset();
  chunk_.reset();
  snapshot_rows_this_run_ = 0;
  watermark_.Set(static_cast<double>(position_.watermark));
  snapshot_running_.Set(position_.snapshot.state == SnapshotPosition::State::kRunning ? 1 : 0);
  PublishStatus();
}

void TableStream::StartTracking() {
  const GapRule rule = fallback_ ? GapRule::kTimeout : source_.gap_rule();
  // A table that starts with a snapshot streams its change table from the beginning: nothing in
  // it counts as covered by the snapshot, so no restart can take a change for a snapshot row (or
  // skip a delete committed while the producer was down) - every change is published, and the
  // snapshot's chunks are ordered after them (snapshot_chunk.h).
  tracker_.emplace(position_.tracked(), rule, options_.gap_timeout, clock_);
  if (InitialSnapshotNeeded(position_, options_.snapshot_initial)) {
    BeginSnapshot(false, WallMicros(clock_));
  }
  RecordCandidate();
}

void TableStream::RecordCandidate() {
  position_.set_tracked(tracker_->Position(kMaxCheckpointGaps));
  ledger_.AddCandidate(position_, clock_.Now());
}

void TableStream::EnsureSchemas() {
  if (source_.metadata_version() == schema_version_) return;
  event::TableMeta table = source_.table();
  if (!position_.not_null) {  // first published now: NOT NULL as the table declares it
    position_.not_null.emplace();
    for (const event::ColumnMeta& column : table.columns) {
      if (!column.nullable) position_.not_null->push_back(column.name);
    }
  }
  std::vector<std::string> kept;  // a NOT NULL the source dropped is given up for good
  for (event::ColumnMeta& column : table.columns) {
    const bool listed = std::find(position_.not_null->begin(), position_.not_null->end(),
                                  column.name) != position_.not_null->end();
    column.nullable = column.nullable || !listed;
    if (!column.nullable) kept.push_back(column.name);
  }
  position_.not_null = std::move(kept);
  ids_.key = registry_.Register(registry::KeySubject(topic_),
                                avro::KeySchema(options_.topic_prefix, table));
  ids_.value = registry_.Register(registry::ValueSubject(topic_),
                                  avro::ValueSchema(options_.topic_prefix, table));
  event_table_ = std::move(table);
  schema_version_ = source_.metadata_version();
  logger_.Info("schemas registered",
               {{"table", name_},
                {"topic", topic_},
                {"key_schema_id", ids_.key},
                {"value_schema_id", ids_.value},
                {"columns", static_cast<int64_t>(event_table_.columns.size())},
                {"non_null_fields", static_cast<int64_t>(position_.not_null->size())}});
}

void TableStream::AllowNulls(const event::ChangeEvent& event) {
  std::vector<std::string> columns;
  for (size_t c = 0; c < event_table_.columns.size(); ++c) {
    if (event_table_.columns[c].nullable) continue;
    const bool null_after =
        event.after && c < event.after->size() && event::IsNull((*event.after)[c]);
    const bool null_before =
        event.before && c < event.before->size() && event::IsNull((*event.before)[c]);
    if (null_after || null_before) columns.push_back(event_table_.columns[c].name);
  }
  if (columns.empty()) return;
  std::string names;
  for (const std::string& name : columns) names += (names.empty() ? "" : ",") + name;
  logger_.Info(
      "a change holds NULL in a column the table declares NOT NULL (recorded before the column"
      " existed, or after the constraint was dropped): its schema field becomes nullable",
      {{"table", name_}, {"columns", names}, {"seq", event.source.seq}});
  std::erase_if(*position_.not_null, [&](const std::string& name) {
    return std::find(columns.begin(), columns.end(), name) != columns.end();
  });
  schema_version_ = 0;
  EnsureSchemas();
}

void TableStream::CheckColumns() {
  const event::TableMeta& table = source_.table();
  if (source_.metadata_version() == columns_version_ && position_.columns == columns_) return;
  if (source_.metadata_version() != columns_version_) {
    columns_ = ColumnsFingerprint(table);
    columns_version_ = source_.metadata_version();
  }
  if (position_.columns == columns_) return;
  const bool changed = !position_.columns.empty();  // else: first start, or an older checkpoint
  position_.columns = columns_;
  if (changed && options_.backfill_new_columns) {
    logger_.Info("the table's columns changed; backfilling so that existing rows carry them",
                 {{"table", name_}, {"columns", static_cast<int64_t>(table.columns.size())}});
    BeginSnapshot(true, WallMicros(clock_));
  } else if (changed) {
    logger_.Warn(
        "the table's columns changed; rows that do not change keep null in new columns "
        "downstream (producer.backfill_new_columns is off: cdc-producer snapshot backfills)",
        {{"table", name_}, {"columns", static_cast<int64_t>(table.columns.size())}});
  }
  RecordCandidate();
}

void TableStream::EnterFallback(bool on) {
  if (fallback_ == on) return;
  fallback_ = on;
  gap_timeout_fallback_.Set(on ? 1 : 0);
  if (on) {
    tracker_->SetRule(GapRule::kTimeout);
    logger_.Warn(
        "the source user may not read the open transactions; sequence gaps are given up after"
        " producer.gap_timeout_ms, so a transaction open longer than that loses its rows (on"
        " Oracle grant SELECT ON SYS.GV_$TRANSACTION and SYS.V_$DATABASE)",
        {{"table", name_}, {"gap_timeout_ms", static_cast<int64_t>(options_.gap_timeout.count())}});
  } else {
    tracker_->SetRule(source_.gap_rule());
    logger_.Info("the source's open transactions are readable again; gaps wait for them",
                 {{"table", name_}});
  }
  std::lock_guard lock(status_mutex_);
  health_.warning = on ? "gaps are given up after producer.gap_timeout_ms: the source user may "
                         "not read the open transactions"
                       : "";
}

std::optional<TxHorizon> TableStream::HorizonAfterRead(const ChangeBatch& batch, int64_t high) {
  if (source_.gap_rule() != GapRule::kHorizon) return std::nullopt;
  const bool opens_gaps = OpensGap(batch, high);
  if (tracker_->pending_gap_count() == 0 && !opens_gaps) return std::nullopt;
  if (fallback_ && clock_.Now() < horizon_retry_at_) return std::nullopt;
  std::optional<TxHorizon> horizon =
      source_.TransactionHorizon(opens_gaps || tracker_->NeedsMark());
  if (!horizon) {
    horizon_retry_at_ = clock_.Now() + kHorizonRetry;
    EnterFallback(true);
    return std::nullopt;
  }
  EnterFallback(false);
  return horizon;
}

bool TableStream::PollOnce() {
  const Clock::TimePoint start = clock_.Now();
  GapTracker& tracker = *tracker_;
  const ReadPlan plan =
      tracker.PlanRead(ChangeSource::kMaxRangesPerRead, static_cast<int64_t>(options_.batch_size));
  const int64_t high = tracker.high();
  const Clock::TimePoint read_at = clock_.Now();
  ChangeBatch batch = source_.ReadChanges(high, plan.ranges, plan.read_new, options_.batch_size);
  // A read cut short by its row limit covered its ranges only up to its last row.
  const bool cut_short = batch.rows >= options_.batch_size;
  int64_t through = kEverything;
  if (cut_short) {
    through = 0;
    for (const ChangeRecord& record : batch.records) through = std::max(through, record.seq);
    for (const PoisonRecord& poison : batch.poison) through = std::max(through, poison.seq);
  }
  // After the read: marks for the gaps it noticed, and proof that the gaps it skipped are still
  // empty; rows above a gap without that proof wait for the next poll.
  const std::optional<TxHorizon> horizon = HorizonAfterRead(batch, high);
  through = std::min(through, tracker.SafeThrough(plan, horizon));

  std::vector<event::Message> messages;
  std::vector<event::Message> dead_letters;
  int64_t oldest_ts = std::numeric_limits<int64_t>::max();
  bool withheld = false;
  for (const PoisonRecord& poison : batch.poison) {
    if (poison.seq > through) {
      withheld = true;
    } else if (tracker.Accept(poison.seq)) {
      dead_letters.push_back(DeadLetter(poison));
    }
  }
  for (const ChangeRecord& record : batch.records) withheld |= record.seq > through;
  Publish(batch, through, messages, &oldest_ts);
  poison_rows_.Inc(static_cast<double>(dead_letters.size()));
  publisher_.Publish(table_index_, topic_, std::move(messages));
  publisher_.Publish(table_index_, options_.dead_letter_topic, std::move(dead_letters));
  tracker.Checked(plan, through, read_at);
  if (horizon) tracker.ObserveHorizon(*horizon);

  LogExpiredGaps(tracker.ExpireGaps(), tracker.rule() == GapRule::kTimeout);
  if (const std::vector<SeqRange> overdue = tracker.OverdueGaps(); !overdue.empty()) {
    logger_.Warn(
        "sequence gaps still waited for after gap_timeout_ms: a transaction that started before"
        " them is still open (their rows are published when it commits)",
        {{"table", name_},
         {"gaps", static_cast<int64_t>(overdue.size())},
         {"ranges", RangesText(overdue)},
         {"gap_timeout_ms", static_cast<int64_t>(options_.gap_timeout.count())}});
  }
  const Clock::TimePoint oldest_gap = tracker.oldest_gap_since();
  oldest_gap_seconds_.Set(oldest_gap == Clock::TimePoint::max()
                              ? 0.0
                              : duration<double>(clock_.Now() - oldest_gap).count());
  RecordCandidate();

  rows_polled_.Inc(static_cast<double>(batch.rows));
  gaps_pending_.Set(static_cast<double>(tracker.pending_gap_count()));
  if (oldest_ts != std::numeric_limits<int64_t>::max()) {
    lag_seconds_.Set(std::max(0.0, static_cast<double>(WallMicros(clock_) - oldest_ts) / 1e6));
  } else if (ledger_.InFlight() == 0) {
    lag_seconds_.Set(0);
  }
  watermark_.Set(static_cast<double>(ledger_.Confirmed().watermark));
  poll_duration_.Observe(duration<double>(clock_.Now() - start).count());
  // More gaps need reading than one statement covers: read on at once (they converge: a gap's
  // possible writers only end), a bounded number of times before the usual pause.
  const bool more_gaps = !plan.read_new && tracker.rule() == GapRule::kHorizon;
  catch_up_polls_ = more_gaps ? catch_up_polls_ + 1 : 0;
  return cut_short || withheld || (more_gaps && catch_up_polls_ <= kCatchUpPolls);
}

void TableStream::LogExpiredGaps(const std::vector<SeqRange>& expired, bool by_timeout) {
  if (expired.empty()) return;
  (by_timeout ? gaps_timed_out_ : gaps_closed_).Inc(static_cast<double>(expired.size()));
  const auto count = static_cast<int64_t>(expired.size());
  if (!by_timeout) {
    logger_.Info("sequence gaps closed: no transaction that could fill them is open",
                 {{"table", name_}, {"gaps", count}, {"ranges", RangesText(expired)}});
  } else {
    logger_.Warn("sequence gaps not filled within gap_timeout_ms; given up",
                 {{"table", name_},
                  {"gaps", count},
                  {"ranges", RangesText(expired)},
                  {"gap_timeout_ms", static_cast<int64_t>(options_.gap_timeout.count())}});
  }
}

void TableStream::Publish(ChangeBatch& batch, int64_t through, std::vector<event::Message>& out,
                          int64_t* oldest_ts) {
  if (batch.records.empty()) return;
  EnsureSchemas();  // the read may have noticed new columns
  const event::TableMeta& table = event_table_;
  const int64_t now_ms = WallMicros(clock_) / 1000;
  for (ChangeRecord& record : batch.records) {
    if (record.seq > through || !tracker_->Accept(record.seq)) continue;
    *oldest_ts = std::min(*oldest_ts, record.change_ts_micros);
    event::ChangeEvent event;
    event.op = record.op;
    if (record.op == event::Op::kDelete) {
      event.before = std::move(record.row);
    } else {
      event.after = std::move(record.row);
      event.before = std::move(record.before);
    }
    event.key = event::KeyFromImage(table, event);
    if (chunk_) chunk_->Supersede(KeyIdentity(event.key));
    event.source = {options_.pipeline,       table.db,    table.schema, table.table, record.seq,
                    record.change_ts_micros, record.txid, false};
    event.ts_ms = now_ms;
    PoisonRecord poison;
    poison.seq = record.seq;
    try {
      AllowNulls(event);
      std::optional<std::vector<event::Message>> messages = Encode(table, event, &poison);
      if (!messages && event.op == event::Op::kUpdate && event.before) {
        // The old image doubles an update: without it, the change itself may still fit.
        event.before.reset();
        messages = Encode(table, event, &poison);
        if (messages) {
          logger_.Warn(
              "an update is published without its old image (before_image): with it "
              "the event is over the message size limit",
              {{"table", name_}, {"seq", record.seq}, {"limit", poison.limit.value_or(0)}});
        }
      }
      if (messages) {
        for (event::Message& m : *messages) out.push_back(std::move(m));
        continue;
      }
    } catch (const PermanentError& e) {
      poison.error = e.what();
    }
    publisher_.Publish(table_index_, options_.dead_letter_topic, {DeadLetter(poison)});
    poison_rows_.Inc();
  }
}

std::optional<std::vector<event::Message>> TableStream::Encode(const event::TableMeta& table,
                                                               const event::ChangeEvent& event,
                                                               PoisonRecord* poison) const {
  // librdkafka counts key, value and headers against message.max.bytes; the record's framing
  // needs a little more.
  constexpr size_t kFraming = 1024;
  std::vector<event::Message> messages =
      event::BuildMessages(table, event, ids_, options_.messages);
  for (const event::Message& message : messages) {
    size_t bytes = message.key.size() + (message.value ? message.value->size() : 0);
    for (const auto& header : message.headers) {
      bytes += header.key.size() + (header.value ? header.value->size() : 0);
    }
    const size_t limit =
        options_.max_message_bytes > kFraming ? options_.max_message_bytes - kFraming : 0;
    if (bytes <= limit) continue;
    poison->bytes = static_cast<int64_t>(bytes);
    poison->limit = static_cast<int64_t>(limit);
    poison->error = "the event is " + std::to_string(bytes) + " bytes, over the limit of " +
                    std::to_string(limit) +
                    " (kafka.properties.message.max.bytes less 1 KiB of framing; the topic's "
                    "max.message.bytes and the broker's message.max.bytes must allow a larger "
                    "one too)";
    for (size_t k = 0; k < table.key.size() && k < event.key.size(); ++k) {
      poison->columns.emplace_back(table.columns[table.key[k]].name, KeyText(event.key[k]));
    }
    return std::nullopt;
  }
  return messages;
}

event::Message TableStream::DeadLetter(const PoisonRecord& poison) const {
  // A dead letter stays small: long values are cut, with their size.
  constexpr size_t kShownBytes = 1024;
  nlohmann::json columns = nlohmann::json::object();
  for (const auto& [name, text] : poison.columns) {
    if (text && text->size() > kShownBytes) {
      columns[name] =
          text->substr(0, kShownBytes) + "... (" + std::to_string(text->size()) + " bytes)";
    } else {
      columns[name] = text ? nlohmann::json(*text) : nlohmann::json(nullptr);
    }
  }
  nlohmann::json value = {{"pipeline", options_.pipeline},
                          {"table", name_},
                          {"topic", topic_},
                          {"seq", poison.seq},
                          {"error", poison.error},
                          {"columns", std::move(columns)},
                          {"failed_at", event::FormatTimestampTz(WallMicros(clock_))}};
  if (poison.bytes) value["size"] = *poison.bytes;
  if (poison.limit) value["limit"] = *poison.limit;
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
  if (!purge_started_ && purged_through_ < confirmed) {
    // The first purge since the start begins at the change table's lowest number, not at 0:
    // after a restart the numbers below it were purged before (one DELETE per kPurgeStep of
    // them would be a million statements at a watermark of 10^10).
    purged_through_ = std::max(purged_through_, source_.MinSeq().value_or(confirmed + 1) - 1);
    purge_started_ = true;
  }
  const int64_t from = purged_through_;
  int64_t purged = 0;
  int64_t statements = 0;
  while (purged_through_ < confirmed) {
    const int64_t up_to = std::min(confirmed, purged_through_ + kPurgeStep);
    purged += source_.Purge(up_to, purged_through_);
    purged_through_ = up_to;
    ++statements;
  }
  if (purged > 0) {
    metrics_.purged_rows.WithLabels({name_}).Inc(static_cast<double>(purged));
    logger_.Info("purged published change rows", {{"table", name_},
                                                  {"rows", purged},
                                                  {"after_seq", from},
                                                  {"through_seq", confirmed},
                                                  {"statements", statements}});
  }
}

}  // namespace cdc::producer

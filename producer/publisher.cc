#include "producer/publisher.h"

#include <chrono>
#include <climits>

namespace cdc::producer {

const std::map<std::string, std::string>& Publisher::DefaultProperties() {
  static const std::map<std::string, std::string> kDefaults = {
      {"message.timeout.ms", "0"},  // never give up: the change table is the buffer
      {"linger.ms", "10"},
      {"batch.num.messages", "10000"},
      {"batch.size", "1000000"},
      {"queue.buffering.max.messages", "1000000"},
      // Batches of change events compress well (repeated headers, field names, keys): the
      // broker stores and serves half the bytes; lz4 costs the producer no measurable CPU.
      {"compression.type", "lz4"},
  };
  return kDefaults;
}

Publisher::Publisher(const kafka::KafkaSettings& settings, ProducerMetrics& metrics,
                     const Clock& clock, Logger logger)
    : metrics_(metrics), clock_(clock), logger_(std::move(logger)) {
  producer_ = std::make_unique<kafka::Producer>(settings, *this, logger_, DefaultProperties());
}

Publisher::~Publisher() = default;

size_t Publisher::AddTable(const std::string& name, TablePosition position) {
  auto table = std::make_unique<Table>();
  table->name = name;
  table->ledger = std::make_unique<TableLedger>(std::move(position));
  table->published = &metrics_.events_published.WithLabels({name});
  table->errors = &metrics_.delivery_errors.WithLabels({name});
  table->latency = &metrics_.publish_latency.WithLabels({name});
  tables_.push_back(std::move(table));
  return tables_.size() - 1;
}

void Publisher::Publish(size_t table, const std::string& topic,
                        std::vector<event::Message>&& messages) {
  if (messages.empty()) return;
  TableLedger& ledger = *tables_.at(table)->ledger;
  const uint64_t first = ledger.Reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    event::Message& message = messages[i];
    kafka::OutgoingMessage out;
    out.topic = topic;
    out.key = message.key;
    if (message.value) out.value = *message.value;
    out.headers = std::move(message.headers);
    out.tag = (static_cast<uint64_t>(table + 1) << kTableShift) | (first + i);
    try {
      producer_->Produce(out);
    } catch (...) {
      for (size_t j = i; j < messages.size(); ++j) ledger.Release(first + j);
      throw;
    }
  }
}

void Publisher::PublishUntracked(const std::string& topic, const std::string& key,
                                 const std::string& value) {
  kafka::OutgoingMessage out;
  out.topic = topic;
  out.key = key;
  out.value = value;
  out.tag = 0;
  producer_->Produce(out);
}

void Publisher::Serve(std::chrono::milliseconds timeout) { producer_->Poll(timeout); }

bool Publisher::Flush(std::chrono::milliseconds timeout) { return producer_->Flush(timeout); }

void Publisher::PurgeAll() { producer_->PurgeAll(); }

bool Publisher::LoadTopicMetadata(const std::vector<std::string>& topics,
                                  std::chrono::milliseconds timeout) {
  return producer_->LoadTopicMetadata(topics, timeout);
}

int Publisher::InFlight() const { return producer_->InFlight(); }

void Publisher::NoteOutages() {
  const uint64_t outages = producer_->BrokerOutages();
  if (outages == outages_noted_) return;
  outages_noted_ = outages;
  // A tip not checked yet since an earlier outage stays: it is the older one.
  for (const auto& [partition, tip] : confirmed_) unchecked_.emplace(partition, tip);
}

std::map<int32_t, ConfirmedTip> Publisher::TipsOf(const std::string& topic) const {
  std::map<int32_t, ConfirmedTip> tips;
  for (auto it = confirmed_.lower_bound({topic, INT32_MIN});
       it != confirmed_.end() && it->first.first == topic; ++it) {
    tips[it->first.second] = it->second;
  }
  return tips;
}

const ConfirmedTips& Publisher::UncheckedTips() {
  NoteOutages();
  return unchecked_;
}

void Publisher::Checked(const ConfirmedTips& tips) {
  for (const auto& [partition, tip] : tips) {
    const auto found = unchecked_.find(partition);
    if (found != unchecked_.end() && found->second == tip) unchecked_.erase(found);
  }
}

void Publisher::OnDelivery(const kafka::DeliveryReport& report) {
  const uint64_t table_tag = report.tag >> kTableShift;
  if (table_tag == 0) {
    if (!report.ok()) {
      logger_.Warn("checkpoint record not delivered; a later one replaces it",
                   {{"topic", report.topic}, {"error", report.error_code}});
    }
    return;
  }
  const size_t index = static_cast<size_t>(table_tag - 1);
  if (index >= tables_.size()) return;
  Table& table = *tables_[index];
  const uint64_t ordinal = report.tag & ((uint64_t{1} << kTableShift) - 1);
  if (report.ok()) {
    table.published->Inc();
    NoteOutages();
    ConfirmedTip& tip = confirmed_[{report.topic, report.partition}];
    if (report.offset > tip.offset) tip = {report.offset, ContentHash(report.key, report.value)};
    if (auto waited = table.ledger->Delivered(ordinal, clock_.Now())) {
      table.latency->Observe(std::chrono::duration<double>(*waited).count());
    }
    return;
  }
  table.ledger->Failed(ordinal, report.error_code + ": " + report.error_message);
  // Dropped at shutdown (PurgeAll): said once there; the next start publishes them again.
  if (report.error_code == "_PURGE_QUEUE" || report.error_code == "_PURGE_INFLIGHT") return;
  table.errors->Inc();
  if (!refused_ && report.error_code == "TOPIC_AUTHORIZATION_FAILED") {
    refused_ = report.topic + ": " + report.error_code + ": " + report.error_message;
  }
  std::lock_guard lock(error_log_mutex_);
  if (clock_.Now() - last_error_log_ > std::chrono::seconds(1)) {
    last_error_log_ = clock_.Now();
    logger_.Error("delivery failed; the table re-publishes from its confirmed checkpoint",
                  {{"table", table.name},
                   {"topic", report.topic},
                   {"error", report.error_code},
                   {"detail", report.error_message}});
  }
}

}  // namespace cdc::producer

#include "producer/loss_watch.h"

namespace cdc::producer {

LossWatch::LossWatch(Publisher& publisher, registry::SchemaRegistry& schemas,
                     const kafka::KafkaSettings& kafka, std::chrono::milliseconds interval,
                     const Clock& clock, Logger logger)
    : publisher_(publisher),
      schemas_(schemas),
      interval_(interval),
      clock_(clock),
      logger_(std::move(logger)),
      checker_(kafka, logger_),
      outages_seen_(publisher.BrokerOutages()),
      next_periodic_check_(clock.Now() + interval) {}

std::vector<LostMessages> LossWatch::Poll() {
  if (const uint64_t outages = publisher_.BrokerOutages(); outages != outages_seen_) {
    outages_seen_ = outages;
    outage_check_due_ = true;
  }
  std::vector<LostMessages> lost;
  if (std::optional<ConfirmedChecker::Outcome> outcome = checker_.Take()) {
    if (outcome->error) {
      if (outage_check_running_) next_outage_check_ = clock_.Now() + kRetryDelay;
      logger_.Debug("confirmed messages not checked yet; retrying", {{"error", *outcome->error}});
    } else if (outage_check_running_) {
      publisher_.Checked(outcome->tips);
      // Another outage meanwhile: its tips are checked next.
      if (outages_at_check_ == outages_seen_) outage_check_due_ = false;
      logger_.Info("schemas and confirmed messages checked after every broker was unreachable",
                   {{"schemas_published_again", static_cast<int64_t>(outcome->republished)},
                    {"partitions_checked", static_cast<int64_t>(outcome->tips.size())},
                    {"partitions_with_lost_messages", static_cast<int64_t>(outcome->lost.size())}});
    } else {
      logger_.Debug(
          "confirmed messages checked",
          {{"partitions_checked", static_cast<int64_t>(outcome->tips.size())},
           {"partitions_with_lost_messages", static_cast<int64_t>(outcome->lost.size())}});
    }
    if (!outcome->error) ++checks_;
    lost = std::move(outcome->lost);
    lost_found_ = lost_found_ || !lost.empty();
    outage_check_running_ = false;
  }
  if (!checker_.running()) {
    const Clock::TimePoint now = clock_.Now();
    if (outage_check_due_ && now >= next_outage_check_) {
      outage_check_running_ = true;
      outages_at_check_ = outages_seen_;
      checker_.Start(
          publisher_.UncheckedTips(), [this] { return schemas_.Republish(); }, kCheckTimeout);
    } else if (interval_.count() > 0 && now >= next_periodic_check_) {
      next_periodic_check_ = now + interval_;
      checker_.Start(publisher_.Tips(), nullptr, kCheckTimeout);
    }
  }
  return lost;
}

std::string LossWatch::Describe(const std::vector<LostMessages>& lost) {
  std::string text;
  for (size_t i = 0; i < lost.size() && i < 5; ++i) {
    text += (i == 0 ? "" : "; ") + lost[i].topic + "[" + std::to_string(lost[i].partition) + "] " +
            lost[i].reason + ": confirmed offset " + std::to_string(lost[i].confirmed) +
            ", log end " +
            (lost[i].log_end < 0 ? std::string("(none)") : std::to_string(lost[i].log_end));
  }
  if (lost.size() > 5) text += "; and " + std::to_string(lost.size() - 5) + " more";
  return text;
}

}  // namespace cdc::producer

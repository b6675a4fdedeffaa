// When the producer checks that the broker still holds the messages it confirmed, and what it
// makes of the answer (producer/confirmed_check.h). After every broker was unreachable: the
// schemas are published again where missing and the tips as they stood before the outage are
// read back; until that check is done no checkpoint may be written, so a checkpoint never
// covers changes a broker lost with an outage. Every `interval` besides: the current tips, for
// losses no outage announces (unclean leader election while other brokers stayed up, a topic
// deleted and re-created); a checkpoint written before such a check found the loss may cover
// lost changes (README runbook: backfill). Checks run on their own thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/kafka/settings.h"
#include "common/log.h"
#include "common/registry/schema_registry.h"
#include "producer/confirmed_check.h"
#include "producer/publisher.h"

namespace cdc::producer {

class LossWatch {
 public:
  // `interval` 0: after outages only. `publisher` and `schemas` must outlive the watch.
  LossWatch(Publisher& publisher, registry::SchemaRegistry& schemas,
            const kafka::KafkaSettings& kafka, std::chrono::milliseconds interval,
            const Clock& clock, Logger logger);

  // One main-loop turn (after Serve): starts a check that is due, takes a finished one's
  // outcome. Returns the partitions where the broker lost confirmed messages (empty: none found).
  std::vector<LostMessages> Poll();
  // False from an outage until its check is done, and once a check found lost messages.
  bool checkpoints_allowed() const { return !outage_check_due_ && !lost_found_; }
  // Checks that got an answer from the broker.
  uint64_t checks() const { return checks_; }

  // "topic[p] reason: confirmed offset N, log end M; ..." for up to 5 partitions.
  static std::string Describe(const std::vector<LostMessages>& lost);

 private:
  static constexpr std::chrono::seconds kCheckTimeout{10};
  static constexpr std::chrono::seconds kRetryDelay{2};

  Publisher& publisher_;
  registry::SchemaRegistry& schemas_;
  const std::chrono::milliseconds interval_;
  const Clock& clock_;
  const Logger logger_;
  ConfirmedChecker checker_;
  uint64_t outages_seen_ = 0;
  bool outage_check_due_ = false;
  bool lost_found_ = false;
  uint64_t checks_ = 0;
  bool outage_check_running_ = false;
  uint64_t outages_at_check_ = 0;  // outages seen when the running outage check began
  Clock::TimePoint next_outage_check_{};
  Clock::TimePoint next_periodic_check_{};
};

}  // namespace cdc::producer

// The consumer's commands, wired from validated settings. main() parses the command line and the
// configuration and calls one of these; each returns the process exit code.
#pragma once

#include <iosfwd>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/log.h"
#include "consumer/settings.h"

namespace cdc::consumer {

// Applies migrations, then consumes until `stop`. Returns 0 after a clean stop, 1 after a fatal
// error.
int RunConsumer(const config::Config& config, const ConsumerSettings& settings,
                const Logging& logging, std::stop_token stop);

// Validates PostgreSQL and Kafka; prints a report to `out`. 0 when both are usable, else 1.
int CheckConsumer(const config::Config& config, const ConsumerSettings& settings,
                  const Logging& logging, std::ostream& out);

struct ReplayRequest {
  std::optional<std::string> from_timestamp;  // nullopt = from the beginning
  std::vector<std::string> topics;            // empty = every input topic
};

// Rewinds the stored offsets (PostgreSQL and Kafka) of the chosen topics, then runs like
// RunConsumer, printing progress to `progress`.
int ReplayConsumer(const config::Config& config, const ConsumerSettings& settings,
                   const ReplayRequest& request, const Logging& logging, std::stop_token stop,
                   std::ostream& progress);

}  // namespace cdc::consumer

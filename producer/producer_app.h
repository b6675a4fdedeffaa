// The producer's commands, wired from validated settings. main() parses the command line and
// the configuration and calls one of these; each returns the process exit code.
#pragma once

#include <iosfwd>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/log.h"
#include "producer/dialect.h"
#include "producer/settings.h"

namespace cdc::producer {

// Snapshot where needed, then stream every table until `stop`; flushes, writes the final
// checkpoints and returns 0 (1 after a fatal error). `on_fatal` is called from a worker thread
// that hit a fatal error so that main can request stop.
int RunProducer(const config::Config& config, const ProducerSettings& settings,
                const Logging& logging, std::stop_token stop,
                const std::function<void()>& on_fatal);

// Validates the source (connection, tables, change tables) and Kafka; prints a report to `out`.
// Returns 0 when everything is usable, else 1.
int CheckProducer(const config::Config& config, const ProducerSettings& settings,
                  const Logging& logging, std::ostream& out);

}  // namespace cdc::producer

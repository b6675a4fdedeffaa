// Backfills: `cdc-producer snapshot --table T` asks the RUNNING producer to re-snapshot T and
// follows it to the end. The backfill runs inside the producer's worker for T, so that its `r`
// events interleave with the stream in CDC_SEQ order (snapshot_chunk.h); a second process
// publishing into the same topic could not keep that order.
//
// The producer serves two operator commands on its status port (producer.metrics_listen), to
// clients on the same host only:
//   POST /snapshots?table=T  -> 202 {"table","id","state"}: a backfill of T starts (or the one
//                               running already answers the request); 404 for a table the
//                               producer does not stream, 503 while it is starting
//   GET  /snapshots?table=T  -> 200 {"table","state":"none|running|done","id","backfill","rows"}
// A request is answered once GET shows state "done" with an id >= the POST's id. A backfill in
// progress is checkpointed: a restarted producer resumes it.
#pragma once

#include <functional>
#include <iosfwd>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "common/host_port.h"
#include "common/log.h"
#include "common/metrics/status_server.h"
#include "producer/settings.h"
#include "producer/table_stream.h"

namespace cdc::producer {

// Looks a stream up by table name: nullptr when the producer does not stream that table, nullopt
// while it is still starting (its streams do not exist yet).
using StreamLookup = std::function<std::optional<TableStream*>(const std::string& table)>;

// Registers the two commands on `server` (before it starts).
void AddBackfillCommands(metrics::StatusServer& server, StreamLookup lookup);

// Where the snapshot command finds the running producer: `address` when given, else
// producer.metrics_listen with a wildcard host replaced by 127.0.0.1. Throws config::ConfigError
// when that has port 0 (any free port) and no address was given.
HostPort ProducerAddress(const ProducerSettings& settings, const std::optional<HostPort>& address);

// Requests a backfill of `table` from the producer at `address` and waits for it, printing
// progress ("snapshot T: N rows, R rows/s, E s elapsed", "(done)" at the end) to `progress`.
// A producer that is starting (503) or restarting (no answer after it answered) is waited for, up
// to a minute. Returns 0 when done; 1 at once when nothing listens at `address`, when the producer
// refuses (4xx) or cannot be reached for a minute, or when `stop` is requested.
int FollowBackfill(const HostPort& address, const std::string& table, const Logger& logger,
                   std::stop_token stop, std::ostream& progress);

}  // namespace cdc::producer

// One measured cdc-consumer run of the consumer benchmark: a fresh consumer (its own database
// and consumer group) applies every event of the bench topic; its rates, CPU and peak RSS are
// measured and the replica is checked against the model of the final rows.
#pragma once

#include <cstdint>

#include "tests/harness/dev_broker.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/process.h"

namespace cdc::testing {

// The final replica: row count and the sums of two columns every version changes.
struct ExpectedReplica {
  int64_t rows = 0;
  int64_t qty_sum = 0;
  int64_t ref_sum = 0;
};

struct ConsumerRunSpec {
  int64_t events = 0;  // in the topic cdc.BENCH.ITEMS
  int64_t batch = 0;   // consumer.batch_max_events
  int lanes = 0;       // consumer.apply_lanes; 0 = the default
  bool debug_log = false;
  ExpectedReplica expected;
};

struct ConsumerRun {
  bool finished = false;  // false: the consumer stopped or timed out
  double steady = 0;      // events/s from the first committed batch to the last event
  double total = 0;       // events/s from process start
  double rss_mb = 0;
  double cpu_consumer = 0;
  double cpu_backends = 0;
  double cpu_broker = 0;
  double wall = 0;
  bool correct = false;
  int64_t dead_letters = 0;
  int stop_rc = -1;
};

// Runs round `round` in database replica_<round>; `finished` is false when the consumer stopped
// or timed out (its log is printed).
ConsumerRun RunConsumer(PgCluster& cluster, const DevBroker& broker, const TempDir& dir,
                        const ConsumerRunSpec& spec, int round);

}  // namespace cdc::testing

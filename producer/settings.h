// The producer's view of the configuration (sections source, producer, kafka, pipeline),
// validated at start-up: every problem is a ConfigError naming its key path.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/host_port.h"
#include "common/sql_quote.h"
#include "producer/change_source.h"
#include "producer/table_stream.h"

namespace cdc::producer {

struct TableSettings {
  std::string name;  // as configured, e.g. SHOP.ORDERS
  SourceTableSpec source;
  std::string topic;
  // consumer.table_map names its replica table (when the file configures the consumer too);
  // otherwise the replica's name is the table's, lower-cased, and ddl checks its length.
  bool replica_mapped = false;
};

struct ProducerSettings {
  std::string pipeline;
  std::string connection;
  std::optional<SqlDialect> dialect;  // nullopt = auto
  std::vector<TableSettings> tables;
  StreamOptions stream;
  std::string checkpoint_topic;
  std::chrono::milliseconds checkpoint_interval{1000};
  // How often the broker is asked again for the last message it confirmed in each partition
  // (producer/loss_watch.h); 0: only after every broker was unreachable.
  std::chrono::milliseconds confirmed_check_interval{60'000};
  HostPort metrics_listen;
  int topic_partitions = 4;
  int topic_replication_factor = -1;

  // Throws config::ConfigError listing every problem.
  static ProducerSettings FromConfig(const config::Config& config);
  // The table named `name` (as configured); nullopt when there is none.
  const TableSettings* FindTable(const std::string& name) const;
};

}  // namespace cdc::producer

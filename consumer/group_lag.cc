#include "consumer/group_lag.h"

#include "common/error.h"
#include "common/kafka/consumer.h"

namespace cdc::consumer {
namespace {

constexpr auto kKafkaTimeout = std::chrono::seconds(5);

}  // namespace

std::vector<int64_t> StoreGroupLag(pg::Connection& connection, const std::string& group_id,
                                   const std::string& target_schema,
                                   const std::vector<PartitionEnd>& ends) {
  std::vector<std::string> topics, partitions, lows, highs;
  for (const PartitionEnd& e : ends) {
    topics.push_back(e.topic);
    partitions.push_back(std::to_string(e.partition));
    lows.push_back(std::to_string(e.low));
    highs.push_back(std::to_string(e.end));
  }
  const pg::Result rows = connection.Exec(
      "WITH m AS ("
      "  SELECT e.i, e.topic, e.partition, e.end_offset,"
      "   GREATEST(COALESCE(o.next_offset, e.low), e.low) AS next_offset"
      "  FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[])"
      "   WITH ORDINALITY AS e(topic, partition, low, end_offset, i)"
      "  LEFT JOIN cdc.offsets o ON o.group_id = $1 AND o.topic = e.topic"
      "   AND o.partition = e.partition),"
      " stored AS ("
      "  INSERT INTO cdc.partition_lag AS l (group_id, target_schema, topic, partition,"
      "   end_offset, next_offset, behind_since, observed_at)"
      "  SELECT $1, $6, topic, partition, end_offset, next_offset,"
      "   CASE WHEN next_offset < end_offset THEN now() END, now() FROM m"
      "  ON CONFLICT (group_id, topic, partition) DO UPDATE SET end_offset = EXCLUDED.end_offset,"
      "   target_schema = EXCLUDED.target_schema,"
      "   next_offset = EXCLUDED.next_offset, observed_at = EXCLUDED.observed_at,"
      "   behind_since = CASE WHEN EXCLUDED.next_offset < EXCLUDED.end_offset"
      "    THEN COALESCE(l.behind_since, EXCLUDED.behind_since) END)"
      " SELECT GREATEST(end_offset - next_offset, 0) FROM m ORDER BY i",
      {group_id, pg::ArrayLiteral(topics), pg::ArrayLiteral(partitions), pg::ArrayLiteral(lows),
       pg::ArrayLiteral(highs), target_schema});
  std::vector<int64_t> lags;
  for (int i = 0; i < rows.rows(); ++i) lags.push_back(rows.GetInt(i, 0));
  return lags;
}

GroupLag::GroupLag(const ConsumerSettings& settings, const kafka::KafkaSettings& kafka,
                   ConsumerMetrics& metrics, Clock& clock, Logger logger,
                   std::chrono::milliseconds interval)
    : settings_(settings),
      kafka_(kafka),
      metrics_(metrics),
      clock_(clock),
      logger_(std::move(logger)),
      interval_(interval),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

GroupLag::~GroupLag() = default;

void GroupLag::Run(std::stop_token stop) {
  std::unique_ptr<kafka::Consumer> reader;
  std::unique_ptr<pg::Connection> pg;
  do {
    try {
      // A handle that never subscribes: it joins no group and fetches nothing.
      if (!reader) {
        reader = std::make_unique<kafka::Consumer>(kafka_, settings_.group_id + ".lag", nullptr,
                                                   logger_);
      }
      std::vector<PartitionEnd> ends;
      for (const auto& [topic, partitions] : reader->AllTopics(kKafkaTimeout)) {
        if (!settings_.IsInputTopic(topic)) continue;
        for (const int32_t partition : partitions) {
          const auto [low, high] = reader->Watermarks(topic, partition, kKafkaTimeout);
          ends.push_back({topic, partition, low, high});
        }
      }
      if (pg && !pg->healthy()) pg.reset();
      if (!pg)
        pg = std::make_unique<pg::Connection>(settings_.postgres_url, "cdc-consumer-lag", logger_);
      const std::vector<int64_t> lags =
          StoreGroupLag(*pg, settings_.group_id, settings_.target_schema, ends);
      int64_t total = 0;
      for (size_t i = 0; i < ends.size(); ++i) {
        total += lags[i];
        metrics_.lag.WithLabels({ends[i].topic, std::to_string(ends[i].partition)})
            .Set(static_cast<double>(lags[i]));
      }
      total_ = total;
    } catch (const Error& e) {
      logger_.Warn("cannot measure the group's lag; trying again", {{"error", e.what()}});
    }
  } while (clock_.SleepFor(interval_, stop));
}

}  // namespace cdc::consumer

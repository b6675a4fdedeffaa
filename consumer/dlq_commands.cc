#include "consumer/dlq_commands.h"

#include <unistd.h>

#include <array>
#include <nlohmann/json.hpp>
#include <ostream>

#include "common/clock.h"
#include "common/event/decoder.h"
#include "common/kafka/settings.h"
#include "common/pg/connection.h"
#include "common/pg/dead_letters.h"
#include "common/registry/factory.h"
#include "consumer/applier.h"
#include "consumer/migrations.h"
#include "consumer/record_decoder.h"
#include "consumer/target_catalog.h"

namespace cdc::consumer {
namespace {

// Who runs this command, for the audit columns: "cdc-consumer USER@HOST".
std::string Operator() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  const char* user = getenv("USER");
  return std::string("cdc-consumer ") + (user != nullptr ? user : std::to_string(getuid())) + "@" +
         host.data();
}

}  // namespace

int ListDeadLetters(const ConsumerSettings& settings, int64_t limit, std::ostream& out) {
  pg::Connection connection(settings.postgres_url, "cdc-consumer-dlq");
  const pg::Result rows = connection.Exec(
      "SELECT id, topic, partition, \"offset\", COALESCE(target_table, ''), stage, error_class,"
      " COALESCE(error_code, ''),"
      " to_char(failed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " +
          std::string(pg::kDeadLetterStateSql) +
          ", error_message FROM cdc.dead_letters WHERE group_id = $1 ORDER BY id DESC LIMIT $2",
      {settings.group_id, std::to_string(limit)});
  out << "id\ttopic\tpartition\toffset\ttable\tstage\tclass\tcode\tfailed_at\tstate\tmessage\n";
  for (int i = 0; i < rows.rows(); ++i) {
    for (int c = 0; c < rows.columns(); ++c) {
      std::string field(rows.Get(i, c));
      for (char& ch : field) {
        if (ch == '\t' || ch == '\n') ch = ' ';
      }
      out << (c ? "\t" : "") << field;
    }
    out << "\n";
  }
  out << rows.rows() << " dead letter(s)" << std::endl;
  return 0;
}

int RedriveDeadLetters(const config::Config& config, const ConsumerSettings& settings,
                       std::optional<int64_t> id, const Logging& logging, std::ostream& out) {
  const Logger logger = logging.Get("redrive");
  SystemClock clock;
  pg::Connection connection(settings.postgres_url, "cdc-consumer-redrive", logger);
  ApplyMigrations(connection, logger);
  const pg::Result letters = connection.Exec(
      "SELECT id, topic, partition, \"offset\", key, value, headers::text, " +
          std::string(pg::kDeadLetterStateSql) +
          " FROM cdc.dead_letters WHERE group_id = $1"
          " AND ($2::bigint IS NULL OR id = $2::bigint)"
          " AND ($2::bigint IS NOT NULL OR (redriven_at IS NULL AND discarded_at IS NULL))"
          " ORDER BY id",
      {settings.group_id, id ? pg::Param(std::to_string(*id)) : std::nullopt});
  if (id && letters.rows() == 0) {
    out << "dead letter " << *id << " not found for group " << settings.group_id << std::endl;
    return 1;
  }
  const kafka::KafkaSettings kafka = kafka::KafkaSettings::FromConfig(config);
  const std::unique_ptr<registry::SchemaRegistry> schemas =
      registry::MakeSchemaRegistry(config, kafka, clock, logging.Get("registry"));
  event::EventDecoder decoder(*schemas, settings.format);
  RecordDecoder records(decoder, settings.table_map);
  TargetCatalog catalog(settings.target_schema, settings.change_feed, logger);
  BatchApplier applier(settings, catalog, nullptr, logger);
  int redriven = 0, failed = 0, skipped = 0;
  for (int i = 0; i < letters.rows(); ++i) {
    const std::string letter_id(letters.Get(i, 0));
    if (letters.Get(i, 7) != "open") {
      ++skipped;
      out << "dead letter " << letter_id << ": already " << letters.Get(i, 7) << ", skipped\n";
      continue;
    }
    auto bytes = [&](int column) -> std::optional<std::string> {
      if (letters.IsNull(i, column)) return std::nullopt;
      const std::string_view hex = letters.Get(i, column);  // "\x…"
      std::string raw;
      for (size_t h = 2; h + 1 < hex.size(); h += 2) {
        raw.push_back(static_cast<char>(std::stoi(std::string(hex.substr(h, 2)), nullptr, 16)));
      }
      return raw;
    };
    Batch batch;
    Record record;
    record.position = {std::string(letters.Get(i, 1)), static_cast<int32_t>(letters.GetInt(i, 2)),
                       letters.GetInt(i, 3), -1};
    record.key = bytes(4);
    record.value = bytes(5);
    for (const auto& header : nlohmann::json::parse(letters.Get(i, 6))) {
      record.headers.push_back(
          {header.at("key").get<std::string>(),
           header.at("value").is_null()
               ? std::nullopt
               : std::optional<std::string>(header.at("value").get<std::string>())});
    }
    batch.records.push_back(std::move(record));
    records.Decode(batch, 0);
    const ApplyOutcome outcome = applier.Apply(connection, batch, false, [&](pg::Connection& tx) {
      if (batch.dead_letters.empty()) {
        tx.Exec(
            "UPDATE cdc.dead_letters SET redriven_at = now(),"
            " redrive_count = redrive_count + 1 WHERE id = $1",
            {letter_id});
      } else {
        const DeadLetter& again = batch.dead_letters.front();
        tx.Exec(
            "UPDATE cdc.dead_letters SET stage = $2, error_class = $3, error_code = $4,"
            " error_message = $5, failed_at = now(), redrive_count = redrive_count + 1"
            " WHERE id = $1",
            {letter_id, again.stage, again.error_class, again.error_code, again.message});
      }
    });
    (void)outcome;
    if (batch.dead_letters.empty()) {
      ++redriven;
      out << "dead letter " << letter_id << ": applied\n";
    } else {
      ++failed;
      out << "dead letter " << letter_id << ": failed again: " << batch.dead_letters.front().message
          << "\n";
    }
  }
  out << "redrive: " << redriven << " applied, " << failed << " failed again, " << skipped
      << " skipped" << std::endl;
  return failed == 0 ? 0 : 1;
}

int DiscardDeadLetters(const ConsumerSettings& settings, const DiscardRequest& request,
                       const Logging& logging, std::ostream& out) {
  const Logger logger = logging.Get("discard");
  pg::Connection connection(settings.postgres_url, "cdc-consumer-discard", logger);
  ApplyMigrations(connection, logger);
  std::vector<int64_t> ids;
  if (request.id) {
    ids.push_back(*request.id);
  } else {
    const pg::Result open = connection.Exec(
        "SELECT id FROM cdc.dead_letters WHERE group_id = $1 AND redriven_at IS NULL"
        " AND discarded_at IS NULL AND ($2::text IS NULL OR target_table = $2) ORDER BY id",
        {settings.group_id, request.table});
    for (int i = 0; i < open.rows(); ++i) ids.push_back(open.GetInt(i, 0));
  }
  const std::string by = Operator();
  int discarded = 0, skipped = 0, failed = 0;
  for (const int64_t id : ids) {
    const std::optional<std::string> before =
        pg::DiscardDeadLetter(connection, id, settings.group_id, request.reason, by);
    if (!before) {
      ++failed;
      out << "dead letter " << id << " not found for group " << settings.group_id << "\n";
    } else if (*before == "open") {
      ++discarded;
      out << "dead letter " << id << ": discarded\n";
      logger.Info("dead letter discarded", {{"id", id}, {"by", by}, {"reason", request.reason}});
    } else if (*before == "discarded") {
      ++skipped;
      out << "dead letter " << id << ": already discarded, skipped\n";
    } else {
      ++failed;
      out << "dead letter " << id << ": already " << *before << ", not discarded\n";
    }
  }
  out << "discard: " << discarded << " discarded, " << skipped << " skipped, " << failed
      << " refused" << std::endl;
  return failed == 0 ? 0 : 1;
}

}  // namespace cdc::consumer

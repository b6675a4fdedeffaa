// The configuration file's contract. Every binary validates the whole file against this schema,
// so a section added for one binary is accepted (and type-checked) by all of them.
#include "common/config/schema.h"

namespace cdc::config {

ConfigSchema ProjectSchema() {
  ConfigSchema schema;
  schema.sections.push_back(KeySpec::Section(
      "pipeline",
      {
          // Logical name of this pipeline: appears in events' source.name and in metrics.
          KeySpec::String("name").Required(),
      }));
  schema.sections.push_back(KeySpec::Section(
      "log",
      {
          KeySpec::Enum("level", {"trace", "debug", "info", "warn", "error"}).Default("info"),
          KeySpec::Enum("format", {"json", "text"}).Default("text"),
      }));
  schema.sections.push_back(KeySpec::Section(
      "kafka",
      {
          KeySpec::String("bootstrap_servers").Default("127.0.0.1:9092"),
          KeySpec::Enum("format", {"avro", "json"}).Default("avro"),
          KeySpec::String("topic_prefix").Default("cdc"),
          // Passed to librdkafka unchanged (security.protocol, ssl.*, sasl.*, ...).
          KeySpec::StringMap("properties").Default("{}"),
          // A delete is followed by a tombstone (same key, null value) so compacted topics forget
          // it.
          KeySpec::Bool("tombstones").Default("true"),
          // Confluent-compatible schema registry; empty = schemas are published to `schemas_topic`.
          KeySpec::String("schema_registry_url").Default("\"\""),
          KeySpec::String("schema_registry_user").Default("\"\""),
          KeySpec::String("schema_registry_password").Default("\"\"").Secret(),
          KeySpec::String("schema_registry_ca_location").Default("\"\""),
          KeySpec::Int("schema_registry_timeout_ms", 100, 600000).Default("10000"),
          KeySpec::String("schemas_topic").Default("_cdc_schemas"),
      }));
  schema.sections.push_back(KeySpec::Section(
      "source",
      {
          // Any ODBC connection string (DSN-less or DSN=...). Required by cdc-producer.
          KeySpec::String("connection").Secret(),
          // auto = from SQLGetInfo(SQL_DBMS_NAME).
          KeySpec::Enum("dialect", {"auto", "oracle", "postgres", "sqlite"}).Default("auto"),
      }));
  schema.sections.push_back(KeySpec::Section(
      "producer",
      {
          KeySpec::List("tables",
                        {
                            // schema.table as the source spells it (SQLite: main.ORDERS).
                            KeySpec::String("name").Required(),
                            // Default: <name>_CT.
                            KeySpec::String("change_table"),
                            // Default: the primary key from the source catalog.
                            KeySpec::StringList("key"),
                            // Default: <kafka.topic_prefix>.<schema>.<table>.
                            KeySpec::String("topic"),
                            // Record an update's old image too (the event's `before`); costs
                            // the source's writes (producer/README.md). Takes effect at ddl
                            // --apply.
                            KeySpec::Bool("before_image").Default("false"),
                        })
              .Default("[]"),
          // Idle wait between polls; while batches come back full the next poll is immediate.
          KeySpec::Int("poll_interval_ms", 1, 3'600'000).Default("200"),
          KeySpec::Int("batch_size", 1, 1'000'000).Default("5000"),
          // A sequence gap that has not filled after this long is given up (rolled back).
          KeySpec::Int("gap_timeout_ms", 0, 86'400'000).Default("30000"),
          KeySpec::Enum("snapshot", {"initial", "never"}).Default("initial"),
          // Columns added to a captured table start a backfill of it (existing rows carry them).
          KeySpec::Bool("backfill_new_columns").Default("true"),
          KeySpec::String("checkpoint_topic").Default("_cdc_offsets"),
          // Rows the producer cannot encode go here with their context (JSON).
          KeySpec::String("dead_letter_topic").Default("_cdc_producer_dlq"),
          // Messages awaiting delivery per table before polling pauses.
          KeySpec::Int("max_in_flight", 1000, 10'000'000).Default("200000"),
          KeySpec::Int("checkpoint_interval_ms", 10, 3'600'000).Default("1000"),
          KeySpec::Int("confirmed_check_interval_ms", 0, 86'400'000).Default("60000"),
          // Delete published change-table rows up to the confirmed checkpoint.
          KeySpec::Bool("purge").Default("false"),
          KeySpec::Int("purge_interval_ms", 10, 86'400'000).Default("60000"),
          // Topics the producer creates (where the broker supports CreateTopics).
          KeySpec::Int("topic_partitions", 1, 10'000).Default("4"),
          KeySpec::Int("topic_replication_factor", -1, 100).Default("-1"),
          KeySpec::String("metrics_listen").Default("127.0.0.1:9101"),
      }));
  schema.sections.push_back(KeySpec::Section(
      "postgres",
      {
          // libpq URL or key=value string of the replica database. Required by cdc-consumer and
          // cdc-api. TLS: sslmode=verify-full&sslrootcert=... in the URL.
          KeySpec::String("url").Secret(),
          // Where replicated tables live; the pipeline's own tables live in schema `cdc`.
          KeySpec::String("schema").Default("replica"),
      }));
  schema.sections.push_back(KeySpec::Section(
      "consumer",
      {
          KeySpec::String("group_id").Default("cdc-pg"),
          // Input topics; or topic_pattern (a regular expression). One of the two is required.
          KeySpec::StringList("topics").Default("[]"),
          KeySpec::String("topic_pattern").Default("\"\""),
          // "SCHEMA.TABLE": target table name overrides.
          KeySpec::StringMap("table_map").Default("{}"),
          KeySpec::Int("batch_max_events", 1, 1'000'000).Default("5000"),
          KeySpec::Int("batch_max_ms", 1, 600'000).Default("100"),
          // Threads applying batches in parallel, each with its own PostgreSQL connection; a
          // partition always goes to the same lane, so per-partition order is kept.
          KeySpec::Int("apply_lanes", 1, 32).Default("2"),
          // Default <group_id>.dlq; must not be an input topic.
          KeySpec::String("dlq_topic").Default("\"\""),
          KeySpec::Enum("delete_mode", {"hard", "soft"}).Default("hard"),
          // Tombstones (remembered deletes) older than this are purged.
          KeySpec::Int("tombstone_retention_hours", 1, 87'600).Default("168"),
          // An index on _cdc_seq for cdc-api's change feed (costs every update its HOT path).
          KeySpec::Bool("change_feed").Default("false"),
          // /ready turns false when no batch could be applied for this long.
          KeySpec::Int("unhealthy_after_ms", 100, 86'400'000).Default("60000"),
          // A partition whose log no longer holds the stored position (the topic was re-created,
          // truncated, or retention deleted records not yet applied): stop consuming it, or
          // replay it from the log's start (the version guard makes that safe).
          KeySpec::Enum("on_offset_reset", {"stop", "replay"}).Default("stop"),
          // How long an event whose schema id the registry does not know waits for it (the
          // schema is usually late: re-registered after the broker lost the schemas topic)
          // before it is dead-lettered as schema_unknown.
          KeySpec::Int("unknown_schema_wait_ms", 0, 86'400'000).Default("60000"),
          KeySpec::String("metrics_listen").Default("127.0.0.1:9102"),
      }));
  schema.sections.push_back(KeySpec::Section(
      "api",
      {
          KeySpec::String("listen").Default("127.0.0.1:8080"),
          // PostgreSQL connections shared by the request threads.
          KeySpec::Int("pool_size", 1, 512).Default("8"),
          // Worker threads for the requests that wait on PostgreSQL (pages, long-polls, status).
          KeySpec::Int("threads", 1, 4096).Default("64"),
          // Event-loop threads: they own the connections and answer cheap routes; each has a
          // batch thread that answers the reads by key gathered meanwhile, one statement per
          // table.
          KeySpec::Int("io_threads", 1, 64).Default("1"),
          // Bearer tokens; empty (and no tokens_file) = no authentication.
          KeySpec::StringList("tokens").Default("[]").Secret(),
          // A file with one token per line (# comments), read at start-up.
          KeySpec::String("tokens_file").Default("\"\""),
          // Paths served without a token.
          KeySpec::StringList("open_paths").Default("[/health, /ready, /metrics]"),
          // Requests per second per token (or per client address without auth); 0 = no limit.
          KeySpec::Int("rate_limit_per_second", 0, 1'000'000).Default("0"),
          KeySpec::Int("rate_limit_burst", 1, 1'000'000).Default("100"),
          KeySpec::Int("max_page_size", 1, 100'000).Default("1000"),
          KeySpec::Int("statement_timeout_ms", 1, 3'600'000).Default("5000"),
          // Origins allowed by CORS (exact match, e.g. https://app.example.com); empty = none.
          KeySpec::StringList("cors_origins").Default("[]"),
      }));
  return schema;
}

}  // namespace cdc::config

// The end-to-end benchmark driver (issue 7): SQLite source -> cdc-producer -> dev broker ->
// cdc-consumer -> PostgreSQL, every part real, on this machine.
//   Phase 1 (throughput): cdc-workload makes N changes of the 10-column bench table (30% inserts,
//   60% updates, 10% deletes) as fast as SQLite takes them, then the producer starts on that
//   backlog. Reported: producer changes/s, consumer applied changes/s, end-to-end changes/s
//   (producer start -> last change applied; and from the first change made, which includes the
//   source's own write speed), and the raw baselines in the same run: an ODBC bulk fetch of the
//   same change rows and a COPY of the same row images into an identical table. The timeline
//   splits the end-to-end time: producer start -> first event published (start-up), and last
//   event published -> last change applied (the consumer's drain).
//   Phase 2 (latency): a fixed rate (default 5k changes/s, poll_interval_ms 100) for S seconds;
//   p50/p95/p99 of _cdc_applied_at - _cdc_source_ts over the rows applied in the phase.
// Output: a human summary on stdout and one JSON line. Progress on stderr.
//   e2e_bench [--changes N] [--rate R] [--seconds S] [--partitions P] [--change-feed] [--profile]
// `--change-feed` runs the consumer with consumer.change_feed: true (an index on _cdc_seq, so no
// HOT updates) and gives the COPY baseline's table the same index. `--profile` logs every
// statement on the server during phase 1 and prints where PostgreSQL's time went, by statement.
#include <httplib.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "common/kafka/consumer.h"
#include "common/log.h"
#include "common/odbc/odbc.h"
#include "common/pg/connection.h"
#include "tests/bench/consumer_profile.h"
#include "tests/bench/raw_fetch.h"
#include "tests/harness/bench_util.h"
#include "tests/harness/dev_broker.h"
#include "tests/harness/odbc_sources.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/process.h"

namespace cdc::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int64_t changes = 1'000'000;
  int rate = 5000;
  int seconds = 20;
  int partitions = 64;
  std::string kafka_properties;  // extra kafka.properties entries, "k: v, k: v"
  bool profile = false;          // print PostgreSQL's time by statement in phase 1
  bool change_feed = false;      // consumer.change_feed
};

constexpr const char* kUsage =
    "usage: e2e_bench [--changes N] [--rate R] [--seconds S] [--partitions P] [--change-feed] "
    "[--profile] [--kafka-properties \"k: v, ...\"]\n";

class Bench {
 public:
  explicit Bench(const Options& options)
      : options_(options),
        broker_({"--topic", "cdc.main.ITEMS:" + std::to_string(options.partitions)}) {
    cluster_.CreateDatabase("replica");
    producer_port_ = FreePort();
    consumer_port_ = FreePort();
    config_ = dir_.File("config.yaml");
    std::ofstream(config_) << "pipeline: {name: bench}\nlog: {level: warn, format: json}\n"
                           << "kafka:\n  bootstrap_servers: " << broker_.bootstrap() << "\n"
                           << "  properties: {" << options.kafka_properties << "}\n"
                           << "source:\n  connection: \"" << Source() << "\"\n"
                           << "producer:\n  snapshot: never\n  poll_interval_ms: 100\n"
                           << "  metrics_listen: 127.0.0.1:" << producer_port_
                           << "\n  tables:\n    - name: main.ITEMS\n"
                           << "postgres:\n  url: \"" << cluster_.Url("replica")
                           << "\"\n  schema: replica\n"
                           << "consumer:\n  group_id: bench\n  topics: [cdc.main.ITEMS]\n"
                           << "  metrics_listen: 127.0.0.1:" << consumer_port_ << "\n"
                           << "  change_feed: " << (options.change_feed ? "true" : "false") << "\n";
    Run({CDC_WORKLOAD_PATH, "init", "--source", Source(), "--schema", "bench"}, "init");
    Run({CDC_PRODUCER_PATH, "ddl", "--config", config_, "--apply"}, "ddl");
    source_db_ = std::make_unique<odbc::Connection>(environment_, Source());
    db_ = std::make_unique<pg::Connection>(cluster_.Url("replica"), "bench");
  }

  int Main() {
    consumer_ = Start(CDC_CONSUMER_PATH, "consumer", consumer_port_);
    // The consumer joins its group first (the dev broker takes ~3 s for a first join).
    for (int i = 0; i < 300; ++i) {
      if (MetricSample(Metrics(consumer_port_), "cdc_consumer_assigned_partitions") > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }

    // ---- phase 1: N changes in the source (as fast as SQLite's triggers take them over ODBC),
    // then the pipeline works the backlog off.
    const Clock::time_point made_start = Clock::now();
    Process workload(
        {CDC_WORKLOAD_PATH, "run", "--source", Source(), "--schema", "bench", "--count",
         std::to_string(options_.changes), "--transaction-size", "5000", "--seed", "7"},
        dir_.File("workload.log"));
    if (workload.Wait(std::chrono::seconds(3600)) != 0) return Fail("cdc-workload failed");
    const Clock::time_point made_end = Clock::now();
    const int64_t max_seq = MaxSeq();

    if (options_.profile) {
      LogEveryStatement(*db_, true);
    }
    const Clock::time_point pipeline_start = Clock::now();
    const double consumer_cpu_before = ProcessCpuSeconds(consumer_->pid());
    const double backends_cpu_before = BackendCpuSeconds();
    const double broker_cpu_before = ProcessCpuSeconds(broker_.pid());
    producer_ = Start(CDC_PRODUCER_PATH, "producer", producer_port_);
    std::optional<Clock::time_point> first_published;
    std::optional<Clock::time_point> all_published;
    std::optional<Clock::time_point> first_applied;
    Clock::time_point last_progress = Clock::now();
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const std::string metrics = Metrics(producer_port_);
      const double published =
          MetricSample(metrics, "cdc_producer_events_published_total{table=\"main.ITEMS\"}");
      const double watermark =
          MetricSample(metrics, "cdc_producer_checkpoint_watermark{table=\"main.ITEMS\"}");
      if (published > 0 && !first_published) first_published = Clock::now();
      if (!all_published && watermark >= static_cast<double>(max_seq)) {
        all_published = Clock::now();
        high_watermark_ = HighWatermarks();
      }
      const int64_t applied = Applied();
      if (applied > 0 && !first_applied) first_applied = Clock::now();
      if (all_published && applied >= high_watermark_) break;
      if (Seconds(Clock::now() - pipeline_start) > 1800) return Fail("phase 1 timed out");
      if (!producer_->running() || !consumer_->running()) return Fail("a process exited");
      if (Seconds(Clock::now() - last_progress) >= 2) {
        last_progress = Clock::now();
        const double elapsed = Seconds(Clock::now() - pipeline_start);
        std::fprintf(stderr, "e2e: %.0f s, %.0f events published, %lld records applied (%.0f/s)\n",
                     elapsed, published, static_cast<long long>(applied),
                     static_cast<double>(applied) / elapsed);
      }
    }
    const Clock::time_point applied_end = Clock::now();
    if (options_.profile) {
      LogEveryStatement(*db_, false);
    }
    const double changes = static_cast<double>(max_seq);
    const double made_rate = changes / Seconds(made_end - made_start);
    const double producer_rate = changes / Seconds(*all_published - *first_published);
    const double consumer_rate = changes / Seconds(applied_end - *first_applied);
    const double e2e_rate = changes / Seconds(applied_end - pipeline_start);
    const double e2e_with_made = changes / Seconds(applied_end - made_start);
    const double startup_seconds = Seconds(*first_published - pipeline_start);
    const double drain_seconds = Seconds(applied_end - *all_published);
    // Where the CPU went while the pipeline worked the backlog off (2 cores = 2 s per second).
    const double producer_cpu = ProcessCpuSeconds(producer_->pid());
    const double consumer_cpu = ProcessCpuSeconds(consumer_->pid()) - consumer_cpu_before;
    const double backends_cpu = BackendCpuSeconds() - backends_cpu_before;
    const double broker_cpu = ProcessCpuSeconds(broker_.pid()) - broker_cpu_before;
    const double phase_seconds = Seconds(applied_end - pipeline_start);
    const int64_t producer_rss = PeakRssKb(producer_->pid());
    const int64_t consumer_rss = PeakRssKb(consumer_->pid());
    const bool equal = ReplicaEqualsSource();

    // ---- baselines on the same rows, with the pipeline idle.
    const double fetch_rate = RawFetchRate(max_seq);
    const double copy_rate = RawCopy(CopyText(), max_seq);

    // ---- phase 2: latency at a fixed rate.
    const std::string phase_start = Single("SELECT now()");
    Process paced(
        {CDC_WORKLOAD_PATH, "run", "--source", Source(), "--schema", "bench", "--rate",
         std::to_string(options_.rate), "--count",
         std::to_string(static_cast<int64_t>(options_.rate) * options_.seconds), "--seed", "11"},
        dir_.File("workload-paced.log"));
    if (paced.Wait(std::chrono::seconds(options_.seconds + 120)) != 0) {
      return Fail("paced workload failed");
    }
    const int64_t last_seq = MaxSeq();
    const Clock::time_point drain_start = Clock::now();
    // cdc.tables.last_seq: deletes count (the last change may be one), and no table is scanned.
    while (Single("SELECT COALESCE(last_seq, 0) FROM cdc.tables WHERE target_table = 'items'") !=
               std::to_string(last_seq) &&
           Seconds(Clock::now() - drain_start) < 60) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const pg::Result latency = db_->Exec(
        "SELECT count(*), percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY "
        "extract(epoch FROM _cdc_applied_at - _cdc_source_ts)) FROM replica.items "
        "WHERE _cdc_applied_at >= $1::timestamptz",
        {phase_start});
    const std::string samples(latency.Get(0, 0));
    std::string quantiles(latency.Get(0, 1));  // {0.012,0.034,0.051}
    double p50 = 0, p95 = 0, p99 = 0;
    std::sscanf(quantiles.c_str(), "{%lf,%lf,%lf}", &p50, &p95, &p99);

    const int producer_rc = producer_->Stop(SIGTERM, std::chrono::seconds(15));
    const int consumer_rc = consumer_->Stop(SIGTERM, std::chrono::seconds(15));

    std::printf(
        "end-to-end benchmark (%lld changes of BENCH.ITEMS: 30%% inserts, 60%% updates, "
        "10%% deletes; %d partitions; 2 apply lanes)\n",
        static_cast<long long>(max_seq), options_.partitions);
    std::printf(
        "  source changes made      %9.0f changes/s (cdc-workload over ODBC, SQLite triggers)\n",
        made_rate);
    std::printf(
        "  producer                 %9.0f changes/s  vs raw ODBC fetch %9.0f rows/s  = %.2fx\n",
        producer_rate, fetch_rate, producer_rate / fetch_rate);
    std::printf(
        "  consumer                 %9.0f changes/s  vs raw COPY       %9.0f rows/s  = %.2fx\n",
        consumer_rate, copy_rate, consumer_rate / copy_rate);
    std::printf(
        "  end to end               %9.0f changes/s  (producer start on the backlog -> last "
        "applied; target >= 100000)\n",
        e2e_rate);
    std::printf("  end to end incl. making  %9.0f changes/s  (first change made -> last applied)\n",
                e2e_with_made);
    std::printf(
        "  timeline                 producer start -> first event published %.2f s, last "
        "published -> last applied %.2f s\n",
        startup_seconds, drain_seconds);
    std::printf(
        "  latency at %d changes/s  p50 %.0f ms, p95 %.0f ms, p99 %.0f ms over %s rows "
        "(target p99 <= 300 ms)\n",
        options_.rate, p50 * 1000, p95 * 1000, p99 * 1000, samples.c_str());
    std::printf("  replica equals source    %s\n", equal ? "yes" : "NO");
    std::printf(
        "  CPU in phase 1 (%.1f s wall, %.1f s available on %u cores): producer %.1f s, consumer "
        "%.1f s, its PostgreSQL backends %.1f s, dev broker %.1f s\n",
        phase_seconds, phase_seconds * std::thread::hardware_concurrency(),
        std::thread::hardware_concurrency(), producer_cpu, consumer_cpu, backends_cpu, broker_cpu);
    std::printf("  peak RSS                 producer %lld MB, consumer %lld MB\n",
                static_cast<long long>(producer_rss / 1024),
                static_cast<long long>(consumer_rss / 1024));
    std::printf(
        "{\"bench\":\"e2e\",\"changes\":%lld,\"made_per_s\":%.0f,\"producer_per_s\":%.0f,"
        "\"raw_fetch_per_s\":%.0f,\"producer_ratio\":%.3f,\"consumer_per_s\":%.0f,"
        "\"raw_copy_per_s\":%.0f,\"consumer_ratio\":%.3f,\"e2e_per_s\":%.0f,\"e2e_with_making_per_"
        "s\":%.0f,\"rate\":%d,"
        "\"latency_p50_ms\":%.1f,\"latency_p95_ms\":%.1f,\"latency_p99_ms\":%.1f,"
        "\"cpu_producer_s\":%.1f,\"cpu_consumer_s\":%.1f,\"cpu_backends_s\":%.1f,"
        "\"cpu_broker_s\":%.1f,\"startup_s\":%.2f,\"drain_s\":%.2f,\"equal\":%s,"
        "\"change_feed\":%s}\n",
        static_cast<long long>(max_seq), made_rate, producer_rate, fetch_rate,
        producer_rate / fetch_rate, consumer_rate, copy_rate, consumer_rate / copy_rate, e2e_rate,
        e2e_with_made, options_.rate, p50 * 1000, p95 * 1000, p99 * 1000, producer_cpu,
        consumer_cpu, backends_cpu, broker_cpu, startup_seconds, drain_seconds,
        equal ? "true" : "false", options_.change_feed ? "true" : "false");
    if (options_.profile) PrintProfile(cluster_.log_path());
    return equal && producer_rc == 0 && consumer_rc == 0 ? 0 : 1;
  }

 private:
  std::string Source() const { return source_.ConnectionString() + "Timeout=20000;"; }

  void Run(const std::vector<std::string>& argv, const std::string& name) {
    Process process(argv, dir_.File(name + ".log"));
    if (process.Wait(std::chrono::seconds(120)) != 0) {
      throw std::runtime_error(name + " failed; see " + dir_.File(name + ".log"));
    }
  }

  std::unique_ptr<Process> Start(const std::string& path, const std::string& name, uint16_t port) {
    auto process = std::make_unique<Process>(
        std::vector<std::string>{path, "run", "--config", config_}, dir_.File(name + ".log"));
    for (int i = 0; i < 600; ++i) {
      if (!Metrics(port).empty()) return process;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error(name + " did not start; see " + dir_.File(name + ".log"));
  }

  static std::string Metrics(uint16_t port) {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/metrics");
    return res && res->status == 200 ? res->body : "";
  }

  int Fail(const std::string& why) {
    std::fprintf(stderr, "e2e_bench: %s\n", why.c_str());
    for (const char* name : {"workload", "producer", "consumer"}) {
      std::string tail;
      RunShell("tail -n 15 " + dir_.File(std::string(name) + ".log"), &tail);
      std::fprintf(stderr, "---- %s\n%s", name, tail.c_str());
    }
    return 1;
  }

  std::string Single(const std::string& sql) { return std::string(db_->Exec(sql).Get(0, 0)); }

  int64_t MaxSeq() {
    odbc::Statement max(*source_db_);
    max.ExecuteDirect("SELECT COALESCE(MAX(CDC_SEQ), 0) FROM ITEMS_CT");
    odbc::RowBatch batch;
    max.FetchBatch(batch, 1, 64);
    return std::stoll(std::string(*batch.Get(0, 0)));
  }

  // Records in the topic (sum of high watermarks), once everything is published.
  int64_t HighWatermarks() {
    kafka::KafkaSettings settings;
    settings.bootstrap_servers = broker_.bootstrap();
    Logging logging(LogFormat::kText, LogLevel::kWarn);
    kafka::Consumer reader(settings, "bench-watermarks", nullptr, logging.Get("reader"));
    int64_t high = 0;
    for (int32_t p = 0; p < options_.partitions; ++p) {
      high += reader.Watermarks("cdc.main.ITEMS", p, std::chrono::seconds(10)).second;
    }
    return high;
  }

  // CPU seconds of the PostgreSQL backends serving the consumer (its lanes and its loop).
  double BackendCpuSeconds() {
    const pg::Result pids =
        db_->Exec("SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'cdc-consumer%'");
    double total = 0;
    for (int i = 0; i < pids.rows(); ++i) {
      total += ProcessCpuSeconds(static_cast<pid_t>(pids.GetInt(i, 0)));
    }
    return total;
  }

  // Records the consumer has applied (sum of its stored next offsets).
  int64_t Applied() {
    try {
      return db_->Exec("SELECT COALESCE(sum(next_offset), 0) FROM cdc.offsets").GetInt(0, 0);
    } catch (const std::exception&) {
      return 0;  // not created yet
    }
  }

  bool ReplicaEqualsSource() {
    odbc::Statement source(*source_db_);
    source.ExecuteDirect("SELECT COUNT(*), COALESCE(SUM(ID), 0), COALESCE(SUM(QTY), 0) FROM ITEMS");
    odbc::RowBatch batch;
    source.FetchBatch(batch, 1, 64);
    const std::string expected = std::string(*batch.Get(0, 0)) + "|" +
                                 std::string(*batch.Get(0, 1)) + "|" +
                                 std::string(*batch.Get(0, 2));
    const pg::Result replica = db_->Exec(
        "SELECT count(*)::text || '|' || COALESCE(sum(id), 0) || '|' || COALESCE(sum(qty), 0) "
        "FROM replica.items");
    const std::string actual(replica.Get(0, 0));
    if (actual != expected) {
      std::fprintf(stderr, "replica %s != source %s (count|sum(id)|sum(qty))\n", actual.c_str(),
                   expected.c_str());
    }
    return actual == expected;
  }

  // Baseline 1: one statement fetching every change row, as fast as a plain client can.
  double RawFetchRate(int64_t expected) {
    const RawFetch fetch = RawBulkFetch(*source_db_, "SELECT * FROM ITEMS_CT ORDER BY CDC_SEQ");
    if (fetch.rows != expected) {
      throw std::runtime_error("raw fetch read a different number of rows");
    }
    return fetch.RowsPerSecond();
  }

  // The change rows' images as COPY text for baseline 2 (not timed): the 10 columns, then
  // _cdc_seq, _cdc_op, _cdc_source_ts (the change time).
  std::string CopyText() {
    odbc::Statement statement(*source_db_);
    statement.ExecuteDirect("SELECT * FROM ITEMS_CT ORDER BY CDC_SEQ");
    statement.SetFetchWidths(std::vector<size_t>(statement.Columns().size(), 64));
    odbc::RowBatch batch;
    std::string copy;
    while (statement.FetchBatch(batch, 1000, 4096)) {
      for (size_t r = 0; r < batch.rows(); ++r) {
        const auto text = [&](size_t c, std::string_view null) {
          const auto value = batch.Get(r, c);
          return std::string(value ? *value : null);
        };
        for (size_t c = 4; c < batch.columns(); ++c) copy += text(c, "\\N") + "\t";
        copy += text(0, "0") + "\t" + text(1, "u").substr(0, 1) + "\t" + text(2, "\\N") + "\n";
      }
    }
    return copy;
  }

  // Baseline 2: COPY of the same row images into a table shaped like replica.items (its columns,
  // storage parameters and indexes; the key index not unique, since the images repeat keys).
  double RawCopy(const std::string& copy, int64_t expected) {
    db_->Exec(
        std::string("CREATE TABLE replica.items_copy (LIKE replica.items INCLUDING DEFAULTS)") +
        (options_.change_feed ? "" : " WITH (fillfactor = 85)") +
        "; CREATE INDEX ON replica.items_copy (id);" +
        (options_.change_feed ? "CREATE INDEX ON replica.items_copy (_cdc_seq);" : "") +
        "CHECKPOINT");
    const Clock::time_point start = Clock::now();
    pg::Transaction tx(*db_);
    const int64_t rows = db_->CopyIn(
        "COPY replica.items_copy (id, account, name, amount, created, score, status, qty, note, "
        "ref, _cdc_seq, _cdc_op, _cdc_source_ts) FROM STDIN",
        copy);
    tx.Commit();
    const double seconds = Seconds(Clock::now() - start);
    if (rows != expected) throw std::runtime_error("raw COPY wrote a different number of rows");
    return static_cast<double>(rows) / seconds;
  }

  const Options options_;
  PgCluster cluster_;
  DevBroker broker_;
  SqliteSource source_;
  TempDir dir_{"cdc-e2e-bench"};
  std::string config_;
  uint16_t producer_port_ = 0;
  uint16_t consumer_port_ = 0;
  odbc::Environment environment_;
  std::unique_ptr<odbc::Connection> source_db_;
  std::unique_ptr<pg::Connection> db_;
  std::unique_ptr<Process> consumer_;
  std::unique_ptr<Process> producer_;
  int64_t high_watermark_ = 0;
};

int Main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--profile" || arg == "--change-feed") {
      (arg == "--profile" ? options.profile : options.change_feed) = true;
      continue;
    }
    const bool valued = i + 1 < argc;
    if (valued && arg == "--changes") {
      options.changes = std::stoll(argv[++i]);
    } else if (valued && arg == "--rate") {
      options.rate = std::stoi(argv[++i]);
    } else if (valued && arg == "--seconds") {
      options.seconds = std::stoi(argv[++i]);
    } else if (valued && arg == "--partitions") {
      options.partitions = std::stoi(argv[++i]);
    } else if (valued && arg == "--kafka-properties") {
      options.kafka_properties = argv[++i];
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  Bench bench(options);
  return bench.Main();
}

}  // namespace
}  // namespace cdc::testing

int main(int argc, char** argv) { return cdc::testing::Main(argc, argv); }

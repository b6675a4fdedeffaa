#include "tests/e2e/pipeline.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/json/codec.h"
#include "common/kafka/consumer.h"
#include "common/log.h"
#include "common/pg/connection.h"

namespace cdc::testing {
namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// "2026-12-01T18:56:45.57" -> "2026-12-01 18:56:45.570"
std::string CanonicalTimestamp(std::string text) {
  std::replace(text.begin(), text.end(), 'T', ' ');
  const size_t dot = text.find('.');
  if (dot == std::string::npos) return text + ".000";
  text.resize(std::min(text.size(), dot + 4), '0');
  while (text.size() < dot + 4) text += '0';
  return text;
}

std::string SqliteExpression(const DemoColumn& column) {
  const std::string& c = column.name;
  switch (column.kind) {
    case Kind::kInteger:
      return "CAST(" + c + " AS TEXT)";
    case Kind::kDecimal:
      return "CASE WHEN " + c + " IS NULL THEN NULL ELSE printf('%.2f', " + c + ") END";
    case Kind::kBytes:
      return "CASE WHEN " + c + " IS NULL THEN NULL ELSE lower(hex(" + c + ")) END";
    case Kind::kText:
    case Kind::kTimestamp:
      return c;
  }
  return c;
}

std::string PostgresExpression(const DemoColumn& column) {
  const std::string c = Lower(column.name);
  switch (column.kind) {
    case Kind::kInteger:
    case Kind::kDecimal:
      return c + "::text";
    case Kind::kBytes:
      return "encode(" + c + ", 'hex')";
    case Kind::kTimestamp:
      return "to_char(" + c + ", 'YYYY-MM-DD HH24:MI:SS.MS')";
    case Kind::kText:
      return c;
  }
  return c;
}

std::optional<std::string> FromJson(const nlohmann::json& value, Kind kind) {
  if (value.is_null()) return std::nullopt;
  switch (kind) {
    case Kind::kInteger:
      return value.is_string() ? value.get<std::string>() : std::to_string(value.get<int64_t>());
    case Kind::kBytes:
      return Hex(json::Base64Decode(value.get<std::string>()));
    case Kind::kTimestamp:
      return CanonicalTimestamp(value.get<std::string>());
    case Kind::kText:
    case Kind::kDecimal:
      return value.get<std::string>();
  }
  return std::nullopt;
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

std::string DemoTable::target() const { return Lower(name); }

namespace {

std::string Describe(const CanonicalRow& row) {
  std::string out;
  for (const auto& value : row) out += (out.empty() ? "" : "|") + value.value_or("NULL");
  return out;
}

}  // namespace

::testing::AssertionResult SameRows(const std::vector<CanonicalRow>& expected,
                                    const std::vector<CanonicalRow>& actual) {
  if (expected == actual) return ::testing::AssertionSuccess();
  std::vector<CanonicalRow> missing;
  std::vector<CanonicalRow> unexpected;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::back_inserter(missing));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::back_inserter(unexpected));
  auto failure = ::testing::AssertionFailure()
                 << expected.size() << " expected rows, " << actual.size() << " actual; "
                 << missing.size() << " missing, " << unexpected.size() << " unexpected";
  for (size_t i = 0; i < std::min<size_t>(3, missing.size()); ++i) {
    failure << "\n  missing:    " << Describe(missing[i]);
  }
  for (size_t i = 0; i < std::min<size_t>(3, unexpected.size()); ++i) {
    failure << "\n  unexpected: " << Describe(unexpected[i]);
  }
  return failure;
}

const std::vector<DemoTable>& DemoTables() {
  static const std::vector<DemoTable> kTables = {
      {"CUSTOMERS",
       {{"ID", Kind::kInteger},
        {"NAME", Kind::kText},
        {"EMAIL", Kind::kText},
        {"COUNTRY", Kind::kText},
        {"BALANCE", Kind::kDecimal},
        {"AVATAR", Kind::kBytes},
        {"CREATED_AT", Kind::kTimestamp},
        {"UPDATED_AT", Kind::kTimestamp}}},
      {"PRODUCTS",
       {{"SKU", Kind::kText},
        {"TITLE", Kind::kText},
        {"DESCRIPTION", Kind::kText},
        {"PRICE", Kind::kDecimal},
        {"STOCK", Kind::kInteger},
        {"UPDATED_AT", Kind::kTimestamp}}},
      {"ORDERS",
       {{"ID", Kind::kInteger},
        {"CUSTOMER_ID", Kind::kInteger},
        {"STATUS", Kind::kText},
        {"TOTAL", Kind::kDecimal},
        {"NOTE", Kind::kText},
        {"ORDERED_AT", Kind::kTimestamp}}},
      {"ORDER_LINES",
       {{"ORDER_ID", Kind::kInteger},
        {"LINE_NO", Kind::kInteger},
        {"SKU", Kind::kText},
        {"QTY", Kind::kInteger},
        {"PRICE", Kind::kDecimal}}},
  };
  return kTables;
}

std::string BinaryPath(const std::string& name) {
  if (name == "producer") return CDC_PRODUCER_PATH;
  if (name == "consumer") return CDC_CONSUMER_PATH;
  if (name == "api") return CDC_API_PATH;
  if (name == "workload") return CDC_WORKLOAD_PATH;
  throw std::invalid_argument("no binary " + name);
}

Pipeline::Pipeline(const std::string& format, const std::string& consumer_settings)
    : broker_({"--topic", "cdc.main.CUSTOMERS:8", "--topic", "cdc.main.PRODUCTS:8", "--topic",
               "cdc.main.ORDERS:8", "--topic", "cdc.main.ORDER_LINES:8"}) {
  cluster_.CreateDatabase("replica");
  producer_port_ = FreePort();
  consumer_port_ = FreePort();
  api_port_ = FreePort();
  std::ostringstream config;
  config << "pipeline: {name: e2e}\n"
         << "log: {level: info, format: json}\n"
         << "kafka:\n  bootstrap_servers: " << broker_.bootstrap() << "\n  format: " << format
         << "\n  topic_prefix: cdc\n"
         << "  properties: {session.timeout.ms: '6000', heartbeat.interval.ms: '500'}\n"
         << "source:\n  connection: \"" << source_connection() << "\"\n"
         << "producer:\n  snapshot: never\n  poll_interval_ms: 100\n  topic_partitions: 8\n"
         << "  metrics_listen: 127.0.0.1:" << producer_port_ << "\n  tables:\n";
  for (const DemoTable& table : DemoTables()) {
    config << "    - name: main." << table.name << "\n"
           << (RecordsBeforeImages(table) ? "      before_image: true\n" : "");
  }
  config << "postgres:\n  url: \"" << cluster_.Url("replica") << "\"\n  schema: replica\n"
         << "consumer:\n  group_id: cdc-e2e\n  topic_pattern: '^cdc\\.main\\..*'\n"
         << "  batch_max_ms: 50\n  change_feed: true\n  metrics_listen: 127.0.0.1:"
         << consumer_port_ << "\n"
         << consumer_settings << "api:\n  listen: 127.0.0.1:" << api_port_
         << "\n  threads: 8\n  pool_size: 2\n";
  config_path_ = dir_.File("config.yaml");
  WriteText(config_path_, config.str());

  // The demo schema, then its change tables and triggers, exactly as the quickstart does.
  RunWorkload({"init"});
  std::string output;
  const int rc =
      RunShell(BinaryPath("producer") + " ddl --apply --config " + config_path_ + " 2>&1", &output);
  if (rc != 0) throw std::runtime_error("cdc-producer ddl --apply failed: " + output);
  source_db_ = std::make_unique<odbc::Connection>(environment_, source_connection());
}

Pipeline::~Pipeline() { Stop(); }

uint16_t Pipeline::PortOf(const std::string& name) const {
  if (name == "producer") return producer_port_;
  if (name == "api") return api_port_;
  if (name == "consumer" || name == "replay") return consumer_port_;
  throw std::invalid_argument("no process " + name);
}

void Pipeline::StartProcess(const std::string& name, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BinaryPath(name == "replay" ? "consumer" : name),
                                   name == "replay" ? "replay" : "run", "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  processes_[name] = std::make_unique<Process>(argv, dir_.File(name + ".log"));
  for (int i = 0; i < 600; ++i) {
    if (Status(name, "/health").first == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error(name + " did not start:\n" + LogTail(name));
}

int Pipeline::StopProcess(const std::string& name) {
  const int status = processes_.at(name)->Stop(SIGTERM, std::chrono::seconds(15));
  processes_.erase(name);
  return status;
}

std::optional<int> Pipeline::WaitExit(const std::string& name, std::chrono::seconds timeout) {
  const std::optional<int> status = processes_.at(name)->Wait(timeout);
  if (status) processes_.erase(name);
  return status;
}

std::pair<int, std::string> Pipeline::Status(const std::string& name, const std::string& path) {
  httplib::Client client("127.0.0.1", PortOf(name));
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  const auto res = client.Get(path);
  if (!res) return {0, ""};
  return {res->status, res->body};
}

void Pipeline::Start() {
  for (const char* name : {"consumer", "producer", "api"}) StartProcess(name);
}

std::string Pipeline::RunWorkload(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BinaryPath("workload"), args.at(0), "--source",
                                   source_connection(),    "--schema", "demo"};
  argv.insert(argv.end(), args.begin() + 1, args.end());
  Process workload(argv, dir_.File("workload.log"));
  std::string out;
  while (auto line = workload.ReadLine(std::chrono::seconds(300))) out += *line + "\n";
  const std::optional<int> rc = workload.Wait(std::chrono::seconds(10));
  if (rc != 0) throw std::runtime_error("cdc-workload failed:\n" + LogTail("workload"));
  return out;
}

// Tables whose change-table maximum is above the producer's confirmed watermark (every change
// up to the watermark has a successful delivery report), as "TABLE seq>watermark" words.
std::string Pipeline::Unpublished() {
  httplib::Client client("127.0.0.1", producer_port_);
  auto res = client.Get("/metrics");
  const std::string metrics = res && res->status == 200 ? res->body : "";
  std::string out;
  for (const DemoTable& table : DemoTables()) {
    odbc::Statement max(*source_db_);
    max.ExecuteDirect("SELECT COALESCE(MAX(CDC_SEQ), 0) FROM " + table.name + "_CT");
    odbc::RowBatch batch;
    max.FetchBatch(batch, 1);
    const int64_t last = std::stoll(std::string(*batch.Get(0, 0)));
    const std::string series =
        "cdc_producer_checkpoint_watermark{table=\"main." + table.name + "\"} ";
    const size_t at = metrics.find(series);
    const int64_t watermark =
        at == std::string::npos
            ? -1
            : static_cast<int64_t>(std::stod(metrics.substr(at + series.size())));
    if (watermark != last) {
      out += table.name + " " + std::to_string(last) + ">" + std::to_string(watermark) + " ";
    }
  }
  return out;
}

// Records in the topics that the consumer has not applied yet (high watermarks minus the
// offsets stored in PostgreSQL).
int64_t Pipeline::TopicsBehind() {
  kafka::KafkaSettings settings;
  settings.bootstrap_servers = broker_.bootstrap();
  Logging logging(LogFormat::kText, LogLevel::kWarn);
  kafka::Consumer reader(settings, "e2e-watermarks", nullptr, logging.Get("reader"));
  int64_t high = 0;
  for (const DemoTable& table : DemoTables()) {
    for (const int32_t p : reader.Partitions(table.topic(), std::chrono::seconds(10))) {
      high += reader.Watermarks(table.topic(), p, std::chrono::seconds(10)).second;
    }
  }
  int64_t stored = 0;
  try {
    const std::string sum =
        Sql("SELECT COALESCE(sum(next_offset), 0) FROM cdc.offsets WHERE group_id = 'cdc-e2e'");
    stored = std::stoll(sum);
  } catch (const std::exception&) {
    return high;
  }
  return high - stored;
}

bool Pipeline::WaitDrained(std::chrono::seconds timeout, std::string* why) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const std::string unpublished = Unpublished();
    const int64_t behind = unpublished.empty() ? TopicsBehind() : -1;
    if (behind == 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      *why = "unpublished: " + unpublished + "; records not applied " + std::to_string(behind) +
             "\nproducer:\n" + LogTail("producer") + "\nconsumer:\n" + LogTail("consumer");
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

std::map<std::string, int> Pipeline::Stop() {
  std::map<std::string, int> statuses;
  for (const char* name : {"api", "producer", "consumer", "replay"}) {
    auto it = processes_.find(name);
    if (it == processes_.end()) continue;
    statuses[name] = it->second->Stop(SIGTERM, std::chrono::seconds(15));
    processes_.erase(it);
  }
  return statuses;
}

std::vector<CanonicalRow> Pipeline::SourceRows(const DemoTable& table) {
  std::string sql = "SELECT ";
  for (size_t i = 0; i < table.columns.size(); ++i) {
    sql += (i ? ", " : "") + SqliteExpression(table.columns[i]);
  }
  std::vector<CanonicalRow> rows = Query(*source_db_, sql + " FROM " + table.name);
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<CanonicalRow> Pipeline::SourceChanges(const DemoTable& table) {
  std::string sql =
      "SELECT CAST(CDC_SEQ AS TEXT), CASE CDC_OP WHEN 'I' THEN 'c' WHEN 'U' THEN 'u' ELSE 'd' END";
  for (const DemoColumn& column : table.columns) sql += ", " + SqliteExpression(column);
  for (const DemoColumn& column : table.columns) {
    const DemoColumn old{"_cdc_old_" + column.name, column.kind};
    sql += RecordsBeforeImages(table)
               ? ", CASE WHEN CDC_OP = 'U' THEN " + SqliteExpression(old) + " END"
               : ", NULL";
  }
  std::vector<CanonicalRow> rows = Query(*source_db_, sql + " FROM " + table.name + "_CT");
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<CanonicalRow> Pipeline::SubscriberChanges(const DemoTable& table,
                                                      const std::string& group) {
  std::vector<std::string> argv = {
      "/usr/bin/python3", std::string(CDC_SOURCE_DIR) + "/deploy/examples/subscriber.py",
      "--bootstrap",      broker_.bootstrap(),
      "--topic",          table.topic(),
      "--from-beginning", "--exit-at-end"};
  if (!group.empty()) argv.insert(argv.end(), {"--group", group});
  Process subscriber(argv, dir_.File("subscriber.log"));
  std::vector<CanonicalRow> rows;
  while (auto line = subscriber.ReadLine(std::chrono::seconds(120))) {
    const nlohmann::json change = nlohmann::json::parse(*line);
    const std::string op = change.at("op").get<std::string>();
    const nlohmann::json& image = op == "d" ? change.at("before") : change.at("after");
    CanonicalRow row = {std::to_string(change.at("seq").get<int64_t>()), op};
    for (const DemoColumn& column : table.columns) {
      row.push_back(FromJson(image.at(column.name), column.kind));
    }
    // An update's old image, where it has one.
    const nlohmann::json& before = change.at("before");
    for (const DemoColumn& column : table.columns) {
      row.push_back(op == "u" && !before.is_null() ? FromJson(before.at(column.name), column.kind)
                                                   : std::nullopt);
    }
    rows.push_back(std::move(row));
  }
  if (subscriber.Wait(std::chrono::seconds(10)) != 0) {
    throw std::runtime_error("subscriber.py failed:\n" + LogTail("subscriber"));
  }
  // Sequence numbers sort as text here; both sides are sorted the same way.
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<CanonicalRow> Pipeline::ReplicaRows(const DemoTable& table) {
  std::string sql = "SELECT ";
  for (size_t i = 0; i < table.columns.size(); ++i) {
    sql += (i ? ", " : "") + PostgresExpression(table.columns[i]);
  }
  sql += " FROM replica." + table.target();
  pg::Connection db(cluster_.Url("replica"), "e2e-test");
  const pg::Result result = db.Exec(sql);
  std::vector<CanonicalRow> rows;
  for (int r = 0; r < result.rows(); ++r) {
    CanonicalRow row;
    for (int c = 0; c < result.columns(); ++c) row.push_back(result.Optional(r, c));
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<CanonicalRow> Pipeline::ApiRows(const DemoTable& table, int* pages) {
  httplib::Client client("127.0.0.1", api_port_);
  client.set_read_timeout(std::chrono::seconds(30));
  std::vector<CanonicalRow> rows;
  std::string cursor;
  *pages = 0;
  while (true) {
    std::string target = "/api/v1/tables/" + table.target() + "/rows?limit=1000";
    if (!cursor.empty()) target += "&cursor=" + cursor;
    auto res = client.Get(target);
    ++*pages;
    if (!res || res->status != 200) {
      throw std::runtime_error("GET " + target + " failed: " + (res ? res->body : "no reply"));
    }
    const nlohmann::json body = nlohmann::json::parse(res->body);
    for (const nlohmann::json& item : body.at("data")) {
      CanonicalRow row;
      for (const DemoColumn& column : table.columns) {
        row.push_back(FromJson(item.at(Lower(column.name)), column.kind));
      }
      rows.push_back(std::move(row));
    }
    const nlohmann::json& pagination = body.at("meta").at("pagination");
    if (!pagination.at("has_more").get<bool>()) break;
    cursor = pagination.at("next_cursor").get<std::string>();
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<CanonicalRow> Pipeline::FeedRows(const DemoTable& table) {
  std::vector<std::string> key;
  for (const nlohmann::json& k : nlohmann::json::parse(
           Sql("SELECT array_to_json(key_columns) FROM cdc.tables WHERE target_table = '" +
               table.target() + "'"))) {
    key.push_back(k.get<std::string>());
  }
  httplib::Client client("127.0.0.1", api_port_);
  client.set_read_timeout(std::chrono::seconds(30));
  std::map<std::string, CanonicalRow> rows;  // by the key's JSON text
  int64_t after = 0;
  while (true) {
    const std::string target = "/api/v1/tables/" + table.target() +
                               "/changes?limit=1000&after_seq=" + std::to_string(after);
    auto res = client.Get(target);
    if (!res || res->status != 200) {
      throw std::runtime_error("GET " + target + " failed: " + (res ? res->body : "no reply"));
    }
    const nlohmann::json data = nlohmann::json::parse(res->body).at("data");
    if (data.at("changes").empty()) break;
    for (const nlohmann::json& change : data.at("changes")) {
      const bool deleted = change.at("op") == "d";
      const nlohmann::json& image = change.at(deleted ? "key" : "row");
      nlohmann::json id = nlohmann::json::array();
      for (const std::string& k : key) id.push_back(image.at(k));
      if (deleted) {
        rows.erase(id.dump());
        continue;
      }
      CanonicalRow row;
      for (const DemoColumn& column : table.columns) {
        row.push_back(FromJson(image.at(Lower(column.name)), column.kind));
      }
      rows[id.dump()] = std::move(row);
    }
    after = data.at("next_after_seq").get<int64_t>();
  }
  std::vector<CanonicalRow> out;
  for (auto& [id, row] : rows) out.push_back(std::move(row));
  std::sort(out.begin(), out.end());
  return out;
}

std::string Pipeline::LogTail(const std::string& name, size_t lines) const {
  return TailFile(dir_.File(name + ".log"), lines);
}

}  // namespace cdc::testing

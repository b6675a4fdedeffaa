// Shared set-up for cdc-api integration tests: a real PostgreSQL cluster whose `replica` database
// holds the cdc.* tables (the consumer's migrations) and target tables created and registered by
// the consumer's own TargetCatalog, so they are shaped exactly as cdc-consumer writes them; a
// cdc-api child process on a free port; an HTTP client.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/event/types.h"
#include "common/log.h"
#include "common/pg/connection.h"
#include "consumer/migrations.h"
#include "consumer/target_catalog.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/process.h"

namespace cdc::testing {

// SHOP.ORDERS: REGION varchar(8) + ID bigint key, AMOUNT numeric(12,2), NOTE text, PAID bool,
// CREATED timestamp, PHOTO bytes.
inline event::TableMeta ApiOrdersTable() {
  event::TableMeta table;
  table.db = "shop";
  table.schema = "SHOP";
  table.table = "ORDERS";
  table.columns = {{"REGION", event::ColumnType::kString, 0, 0, 8, false, 12, {}},
                   {"ID", event::ColumnType::kInt64, 0, 0, 0, false, -5, {}},
                   {"AMOUNT", event::ColumnType::kDecimal, 12, 2, 0, true, 3, {}},
                   {"NOTE", event::ColumnType::kString, 0, 0, 0, true, -1, {}},
                   {"PAID", event::ColumnType::kBoolean, 0, 0, 0, true, -7, {}},
                   {"CREATED", event::ColumnType::kTimestamp, 0, 0, 0, true, 93, {}},
                   {"PHOTO", event::ColumnType::kBytes, 0, 0, 0, true, -3, {}}};
  table.key = {0, 1};
  return table;
}

struct HttpReply {
  int status = 0;
  nlohmann::json body;
  httplib::Headers headers;
  std::string raw;
  std::string Header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? "" : found->second;
  }
  std::string Code() const {
    return body.value("error", nlohmann::json::object()).value("code", "");
  }
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.CreateDatabase("replica");
    url_ = cluster_.Url("replica");
    pg::Connection db(url_, "api-test");
    Logging logging(LogFormat::kText, LogLevel::kWarn);
    consumer::ApplyMigrations(db, logging.Get("test"));
  }

  std::string Sql(const std::string& sql) const { return cluster_.Psql("replica", sql); }

  // Creates replica.<target> as cdc-consumer with consumer.change_feed does and registers it in
  // cdc.tables.
  void CreateTable(const event::TableMeta& meta, const std::string& target) {
    pg::Connection db(url_, "api-test");
    Logging logging(LogFormat::kText, LogLevel::kWarn);
    consumer::TargetCatalog catalog("replica", true, logging.Get("test"));
    catalog.Prepare(db, target, "cdc." + meta.schema + "." + meta.table, meta, 1);
  }

  // Starts cdc-api; `api_yaml` adds lines to the api section.
  void StartApi(const std::string& api_yaml = "", const std::string& log_level = "warn") {
    port_ = FreePort();
    const std::string config = dir_.File("api.yaml");
    std::ofstream(config) << "pipeline: {name: test}\nlog: {level: " << log_level
                          << ", format: json}\npostgres:\n  url: \"" << url_
                          << "\"\n  schema: replica\napi:\n  listen: 127.0.0.1:" << port_
                          << "\n  threads: 16\n  pool_size: 4\n"
                          << api_yaml;
    api_ = std::make_unique<Process>(
        std::vector<std::string>{CDC_API_PATH, "run", "--config", config}, dir_.File("api.log"));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(std::chrono::seconds(60));
    client_->set_url_encode(false);  // targets are sent exactly as the tests spell them
    for (int i = 0; i < 200; ++i) {
      if (auto res = client_->Get("/health"); res && res->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "cdc-api did not start; log:\n" << LogText();
  }

  HttpReply Get(const std::string& target, const httplib::Headers& headers = {}) {
    return Send("GET", target, headers);
  }

  HttpReply Send(const std::string& method, const std::string& target,
                 const httplib::Headers& headers = {}, const std::string& body = "") {
    httplib::Request req;
    req.method = method;
    req.path = target;
    req.headers = headers;
    if (!body.empty()) {
      req.body = body;
      req.set_header("Content-Type", "application/json");
    }
    HttpReply reply;
    auto res = client_->send(req);
    if (!res) {
      reply.status = -1;
      return reply;
    }
    reply.status = res->status;
    reply.headers = res->headers;
    reply.raw = res->body;
    reply.body = nlohmann::json::parse(res->body, nullptr, false);
    return reply;
  }

  std::string LogText() const {
    std::ifstream in(dir_.File("api.log"));
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  PgCluster cluster_;
  TempDir dir_{"cdc-api-test"};
  std::string url_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> api_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace cdc::testing

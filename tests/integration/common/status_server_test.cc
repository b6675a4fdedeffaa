// The embeddable /metrics, /health, /ready endpoint over real HTTP.
#include "common/metrics/status_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace cdc::metrics {
namespace {

TEST(StatusServer, ServesMetricsHealthAndReadiness) {
  Registry registry;
  registry.AddCounter("cdc_test_total", "A test counter.").Get().Inc(7);
  Logging logging(LogFormat::kText, LogLevel::kWarn);
  std::atomic<bool> ready{false};
  StatusServer server(
      registry,
      [&] {
        return Readiness{ready.load(), ready ? "" : "postgres down"};
      },
      logging.Get("status"));
  server.Start(ParseHostPort("127.0.0.1:0"));
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->get_header_value("Content-Type").find("version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics->body.find("cdc_test_total 7"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("\ncdc_ready 0\n"), std::string::npos) << metrics->body;

  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");

  auto not_ready = client.Get("/ready");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(nlohmann::json::parse(not_ready->body)["reason"], "postgres down");
  ready = true;
  auto is_ready = client.Get("/ready");
  ASSERT_TRUE(is_ready);
  EXPECT_EQ(is_ready->status, 200);
  metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("\ncdc_ready 1\n"), std::string::npos) << metrics->body;

  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing->body)["error"]["code"], "NOT_FOUND");
  server.Stop();
}

TEST(StatusServer, BusyPortIsAFatalStartupError) {
  Registry registry;
  Logging logging(LogFormat::kText, LogLevel::kWarn);
  StatusServer first(registry, nullptr, logging.Get("status"));
  first.Start(ParseHostPort("127.0.0.1:0"));
  StatusServer second(registry, nullptr, logging.Get("status"));
  EXPECT_THROW(second.Start(ParseHostPort("127.0.0.1:" + std::to_string(first.port()))),
               FatalError);
}

}  // namespace
}  // namespace cdc::metrics

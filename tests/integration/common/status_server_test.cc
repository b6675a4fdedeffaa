// The embeddable /metrics, /health, /ready endpoint over real HTTP.
#include "common/metrics/status_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <ifaddrs.h>
#include <netinet/in.h>

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
  std::atomic<bool> degraded{false};
  StatusServer server(
      registry,
      [&] {
        return Readiness{ready.load(), ready ? "" : "postgres down",
                         degraded ? "orders: gaps are given up after the timeout" : ""};
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

  EXPECT_FALSE(nlohmann::json::parse(is_ready->body).contains("warning"));
  degraded = true;  // still ready, with what runs degraded
  auto warned = client.Get("/ready");
  ASSERT_TRUE(warned);
  EXPECT_EQ(warned->status, 200);
  EXPECT_EQ(nlohmann::json::parse(warned->body)["warning"],
            "orders: gaps are given up after the timeout");

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

// The first IPv4 address of this machine outside 127.0.0.0/8 ("" when there is none).
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string out;
  for (ifaddrs* entry = list; entry != nullptr && out.empty(); entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {0};
    const auto* in = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    if (std::string(text).rfind("127.", 0) != 0) out = text;
  }
  freeifaddrs(list);
  return out;
}

// Operator commands answer clients on the same host and nobody else: the status port is often
// open to a whole cluster for scraping.
TEST(StatusServer, CommandsAnswerOnlyClientsOnThisHost) {
  Registry registry;
  Logging logging(LogFormat::kText, LogLevel::kWarn);
  StatusServer server(registry, nullptr, logging.Get("status"));
  std::atomic<int> calls{0};
  server.AddCommand("POST", "/snapshots", [&](const std::map<std::string, std::string>& params) {
    ++calls;
    return CommandReply{202, nlohmann::json{{"table", params.at("table")}}.dump()};
  });
  server.Start(ParseHostPort("0.0.0.0:0"));
  httplib::Client local("127.0.0.1", server.port());
  auto accepted = local.Post("/snapshots?table=SHOP.ORDERS", "", "application/json");
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->status, 202);
  EXPECT_EQ(nlohmann::json::parse(accepted->body)["table"], "SHOP.ORDERS");
  EXPECT_EQ(local.Get("/snapshots")->status, 404);  // only the registered method
  // The same server reached through a non-loopback address of this machine: another host's view.
  const std::string address = NonLoopbackAddress();
  if (address.empty()) GTEST_SKIP() << "no non-loopback IPv4 address on this machine";
  httplib::Client remote(address, server.port());
  auto refused = remote.Post("/snapshots?table=SHOP.ORDERS", "", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(nlohmann::json::parse(refused->body)["error"]["code"], "FORBIDDEN");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(remote.Get("/health")->status, 200);  // the rest of the port stays open
  server.Stop();
}

}  // namespace
}  // namespace cdc::metrics

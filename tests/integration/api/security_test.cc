// Access and abuse: bearer tokens (401 with WWW-Authenticate, open paths, tokens never logged),
// CORS (403 for unknown origins), the rate limit (429 + Retry-After, then recovery), request ids,
// and 200 hostile requests that must all get a 4xx envelope, never a 5xx or a crash.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "tests/integration/api/api_fixture.h"

namespace cdc::testing {
namespace {

class ApiSecurityTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    CreateTable(ApiOrdersTable(), "orders");
    Sql("INSERT INTO replica.orders (region, id, note, _cdc_seq, _cdc_op) VALUES"
        " ('EU', 1, 'secret data', 1, 'c')");
  }
  const httplib::Headers kAuth = {{"Authorization", "Bearer tok-123456"}};
};

TEST_F(ApiSecurityTest, BearerTokensGuardEverythingButTheOpenPaths) {
  StartApi("  tokens: [tok-123456, other-token]\n", "info");
  HttpReply reply = Get("/api/v1/tables/orders/rows");
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.Code(), "AUTH_001");
  EXPECT_EQ(reply.Header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(reply.raw.find("secret data"), std::string::npos);
  reply = Get("/api/v1/tables/orders/rows", {{"Authorization", "Bearer wrong-token"}});
  EXPECT_EQ(reply.status, 401);
  reply = Get("/api/v1/tables/orders/rows", {{"Authorization", "Basic dG9rLTEyMzQ1Ng=="}});
  EXPECT_EQ(reply.status, 401);
  reply = Get("/api/v1/tables/orders/rows", kAuth);
  EXPECT_EQ(reply.status, 200) << reply.raw;
  EXPECT_EQ(Get("/api/v1/status", {{"Authorization", "Bearer other-token"}}).status, 200);
  // Probes stay open.
  EXPECT_EQ(Get("/health").status, 200);
  EXPECT_EQ(Get("/ready").status, 200);
  EXPECT_EQ(Get("/metrics").status, 200);
  // Access log: one JSON line per request with its id; never a token.
  Get("/api/v1/tables", {{"Authorization", "Bearer tok-123456"}, {"X-Request-ID", "trace-42"}});
  EXPECT_EQ(api_->Stop(SIGTERM), 0);  // a clean stop on SIGTERM
  const std::string log = LogText();
  EXPECT_NE(log.find("\"request_id\":\"trace-42\""), std::string::npos) << log;
  EXPECT_EQ(log.find("tok-123456"), std::string::npos);
  EXPECT_EQ(log.find("wrong-token"), std::string::npos);
}

TEST_F(ApiSecurityTest, CorsOnlyForConfiguredOrigins) {
  StartApi("  cors_origins: [\"https://app.example.com\"]\n");
  HttpReply reply =
      Send("OPTIONS", "/api/v1/tables",
           {{"Origin", "https://app.example.com"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(reply.status, 204);
  EXPECT_EQ(reply.Header("Access-Control-Allow-Origin"), "https://app.example.com");
  reply = Send("OPTIONS", "/api/v1/tables", {{"Origin", "https://evil.example.com"}});
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(reply.Code(), "AUTH_003");
  reply = Get("/api/v1/tables", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(reply.Header("Access-Control-Allow-Origin"), "https://app.example.com");
  reply = Get("/api/v1/tables", {{"Origin", "https://evil.example.com"}});
  EXPECT_EQ(reply.Header("Access-Control-Allow-Origin"), "");
}

TEST_F(ApiSecurityTest, RateLimitAnswers429ThenRecovers) {
  StartApi("  rate_limit_per_second: 5\n  rate_limit_burst: 5\n");
  int ok = 0;
  HttpReply limited;
  for (int i = 0; i < 20; ++i) {
    HttpReply reply = Get("/api/v1/tables");
    if (reply.status == 200) ++ok;
    if (reply.status == 429) limited = reply;
  }
  EXPECT_GE(ok, 5);
  EXPECT_LT(ok, 20);
  ASSERT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Code(), "RATE_001");
  EXPECT_GE(std::stoi(limited.Header("Retry-After")), 1);
  EXPECT_EQ(Get("/health").status, 200);  // probes are never limited
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  EXPECT_EQ(Get("/api/v1/tables").status, 200);
}

TEST_F(ApiSecurityTest, RequestIdsAreEchoedOrMade) {
  StartApi();
  EXPECT_EQ(Get("/api/v1/tables", {{"X-Request-ID", "abc-123"}}).Header("X-Request-ID"), "abc-123");
  const HttpReply hostile = Get("/api/v1/tables", {{"X-Request-ID", "bad id\"<script>"}});
  const std::string made = hostile.Header("X-Request-ID");
  EXPECT_EQ(made.size(), 16u);
  EXPECT_EQ(hostile.body["meta"]["request_id"], made);
  EXPECT_NE(Get("/api/v1/tables").Header("X-Request-ID"), made);
}

TEST_F(ApiSecurityTest, HostileRequestsGet4xxAndNeverCrashTheServer) {
  StartApi("  max_page_size: 1000\n");
  std::vector<std::pair<std::string, std::string>> requests = {
      // method, target
      {"GET", "/api/v1/tables/orders%27%3B%20DROP%20TABLE%20x%3B--/rows"},
      {"GET", "/api/v1/tables/replica.orders%3B/rows"},
      {"GET", "/api/v1/tables/pg_catalog.pg_authid/rows"},
      {"GET", "/api/v1/tables/cdc.offsets/rows"},
      {"GET", "/api/v1/tables/..%2F..%2Fetc%2Fpasswd/rows"},
      {"GET", "/api/v1/tables/orders/rows?id=1%20OR%201%3D1"},
      {"GET", "/api/v1/tables/orders/rows?note=x%27%20OR%20%271%27%3D%271&id__gt=abc"},
      {"GET", "/api/v1/tables/orders/rows?fields=note%2C(SELECT%201)"},
      {"GET", "/api/v1/tables/orders/rows?limit=99999999999999999999"},
      {"GET", "/api/v1/tables/orders/rows?limit=-5"},
      {"GET", "/api/v1/tables/orders/rows?limit=1e9"},
      {"GET", "/api/v1/tables/orders/rows?cursor=%00%01"},
      {"GET", "/api/v1/tables/orders/rows?cursor=eyJ4Ijp9.0000000000000000"},
      {"GET", "/api/v1/tables/orders/rows/%E0%A4%A,1"},
      {"GET", "/api/v1/tables/orders/rows/%,1"},
      {"GET", "/api/v1/tables/orders/rows/EU,1,2,3"},
      {"GET", "/api/v1/tables/orders/rows/EU,99999999999999999999999"},
      {"GET", "/api/v1/tables/%FF%FE/rows"},
      {"GET", "/api/v1/tables/orders/changes?wait_ms=99999999"},
      {"GET", "/api/v1/tables/orders/changes?after_seq=1e3"},
      {"GET", "/api/v1/tables/orders/rows?created__gt=2026-02-31T00:00:00"},
      {"GET", "/api/v1/tables/orders/rows?amount=1" + std::string(2000, '0')},
      {"GET", "/api/v1/dead-letters?limit=0"},
      {"GET", "/api/v1/dead-letters?cursor=AAAA"},
      {"GET", "/api/v1/unknown"},
      {"GET", "/api/v2/tables"},
      {"GET", "/"},
      {"GET", "/api/v1/tables/orders/rows/"},
      {"POST", "/api/v1/tables"},
      {"DELETE", "/api/v1/tables/orders/rows/EU,1"},
      {"PUT", "/api/v1/status"},
      {"PATCH", "/nope"},
      {"GET", "/api/v1/tables/" + std::string(9000, 'a') + "/rows"},
  };
  // Random garbage on top: bytes in table names, parameter names and values.
  std::mt19937 rng(17);
  const std::string alphabet = "abc%'\";()=,/\\_-.09$*?&";
  while (requests.size() < 200) {
    std::string noise;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 30); i < n; ++i) {
      noise.push_back(alphabet[rng() % alphabet.size()]);
    }
    std::string encoded;
    for (const char c : noise) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
        encoded.push_back(c);
      } else {
        encoded += std::string("%") + kHex[static_cast<unsigned char>(c) >> 4] + kHex[c & 0xF];
      }
    }
    switch (rng() % 4) {
      case 0:
        requests.emplace_back("GET", "/api/v1/tables/" + encoded + "/rows");
        break;
      case 1:
        requests.emplace_back("GET", "/api/v1/tables/orders/rows?" + encoded + "=1");
        break;
      case 2:
        requests.emplace_back("GET", "/api/v1/tables/orders/rows?id__in=x" + encoded);
        break;
      default:
        requests.emplace_back("GET", "/api/v1/tables/orders/rows/" + encoded);
        break;
    }
  }
  for (const auto& [method, target] : requests) {
    const HttpReply reply = Send(method, target);
    ASSERT_GE(reply.status, 400) << method << " " << target.substr(0, 200) << ": " << reply.raw;
    ASSERT_LT(reply.status, 500) << method << " " << target.substr(0, 200) << ": " << reply.raw;
    if (reply.status != 414 && !reply.raw.empty()) {
      EXPECT_EQ(reply.body["success"], false) << target.substr(0, 200) << ": " << reply.raw;
    }
  }
  // Overlong and broken headers.
  EXPECT_LT(Get("/api/v1/tables", {{"X-Long", std::string(20000, 'x')}}).status, 500);
  EXPECT_EQ(Get("/api/v1/tables/orders/rows/EU,1").status, 200);  // still serving
  EXPECT_TRUE(api_->running());
  EXPECT_EQ(Sql("SELECT count(*) FROM replica.orders"), "1");  // nothing was dropped
}

TEST_F(ApiSecurityTest, ConfigErrorsNameTheKeyAndExitWithCode2) {
  auto run = [&](const std::string& api_section) {
    const std::string config = dir_.File("bad.yaml");
    std::ofstream(config) << "pipeline: {name: test}\npostgres:\n  schema: replica\napi:\n"
                          << api_section;
    Process bad({CDC_API_PATH, "run", "--config", config}, dir_.File("bad.log"));
    EXPECT_EQ(bad.Wait(std::chrono::seconds(20)), 2);
    std::ifstream in(dir_.File("bad.log"));
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  std::string text =
      run("  listen: nowhere\n  cors_origins: [example.com]\n  tokens_file: /nonexistent/tokens\n");
  for (const char* key : {"postgres.url", "api.listen", "api.cors_origins", "api.tokens_file"}) {
    EXPECT_NE(text.find(key), std::string::npos) << key << " not named in:\n" << text;
  }
  text = run("  pool_size: 0\n  max_page_sise: 10\n");
  EXPECT_NE(text.find("api.pool_size"), std::string::npos) << text;
  EXPECT_NE(text.find("api.max_page_sise"), std::string::npos) << text;
}

}  // namespace
}  // namespace cdc::testing

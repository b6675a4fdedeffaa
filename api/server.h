// The HTTP side of cdc-api: one dispatcher over the route table for every request, which assigns
// the request id, checks the bearer token and the rate limit, applies CORS, calls the endpoint,
// wraps the answer in the envelope (errors included: never a bare 5xx or a crash), sets the
// security headers, counts the request in /metrics and writes one JSON access-log line. Tuned
// cpp-httplib server (TCP_NODELAY, long keep-alive, a sized thread pool).
#pragma once

#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include "api/access.h"
#include "api/api_metrics.h"
#include "api/read_api.h"
#include "api/router.h"
#include "api/settings.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics/registry.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace cdc::api {

class ApiServer {
 public:
  // Every reference must outlive the server. `openapi_json` is served at /api/v1/openapi.json.
  ApiServer(const ApiSettings& settings, ReadApi& api, ConnectionPool& pool,
            metrics::Registry& registry, std::string openapi_json, Logger logger, Clock& clock);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds api.listen and starts serving; returns the bound port. Throws FatalError("LISTEN").
  uint16_t Start();
  // Ends long-polls, stops accepting and joins. Safe to call twice.
  void Stop();

 private:
  void Dispatch(const httplib::Request& req, httplib::Response& res);
  void Other(const httplib::Request& req, httplib::Response& res);  // non-GET methods
  void Serve(RouteId route, const RouteMatch& match, const httplib::Request& req,
             httplib::Response& res, const std::string& request_id);
  void Finish(const httplib::Request& req, httplib::Response& res, const std::string& route,
              const std::string& request_id, std::chrono::steady_clock::time_point started);

  const ApiSettings& settings_;
  ReadApi& api_;
  ConnectionPool& pool_;
  metrics::Registry& registry_;
  const std::string openapi_json_;
  const Logger logger_;
  TokenAuth auth_;
  RateLimiter limiter_;
  std::unique_ptr<ApiMetrics> metrics_;
  std::stop_source stopping_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// X-Request-ID as given when it is 1..64 characters of [A-Za-z0-9._:-], else a new random id.
std::string RequestId(const std::string& given);

}  // namespace cdc::api

#include "api/server.h"

#include <httplib.h>

#include <algorithm>
#include <random>

#include "common/http_tuning.h"

namespace cdc::api {
namespace {

constexpr const char* kJson = "application/json";

bool ValidIdChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
         c == '-';
}

std::string RawPath(const httplib::Request& req) {
  const std::string& target = req.target.empty() ? req.path : req.target;
  return target.substr(0, target.find('?'));
}

const char* RouteLabel(RouteId id) {
  switch (id) {
    case RouteId::kHealth:
      return "health";
    case RouteId::kReady:
      return "ready";
    case RouteId::kMetrics:
      return "metrics";
    case RouteId::kOpenApi:
      return "openapi";
    case RouteId::kTables:
      return "tables";
    case RouteId::kRows:
      return "rows";
    case RouteId::kRow:
      return "row";
    case RouteId::kChanges:
      return "changes";
    case RouteId::kStatus:
      return "status";
    case RouteId::kDeadLetters:
      return "dead_letters";
  }
  return "unknown";
}

void SetError(httplib::Response& res, ErrorCode code, const std::string& message,
              const nlohmann::json& details, const std::string& request_id) {
  res.status = HttpStatus(code);
  res.set_content(ErrorBody(code, message, details, request_id), kJson);
}

}  // namespace

std::string RequestId(const std::string& given) {
  if (!given.empty() && given.size() <= 64 &&
      std::all_of(given.begin(), given.end(), ValidIdChar)) {
    return given;
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string id(16, '0');
  uint64_t bits = rng();
  for (char& c : id) {
    c = kDigits[bits & 0xF];
    bits >>= 4;
  }
  return id;
}

ApiServer::ApiServer(const ApiSettings& settings, ReadApi& api, ConnectionPool& pool,
                     metrics::Registry& registry, std::string openapi_json, Logger logger,
                     Clock& clock)
    : settings_(settings),
      api_(api),
      pool_(pool),
      registry_(registry),
      openapi_json_(std::move(openapi_json)),
      logger_(std::move(logger)),
      auth_(settings.tokens),
      limiter_(settings.rate_limit_per_second, settings.rate_limit_burst, clock),
      metrics_(std::make_unique<ApiMetrics>(registry)),
      server_(std::make_unique<httplib::Server>()) {
  TuneHttpServer(*server_, settings_.threads);
  server_->set_payload_max_length(64 * 1024);
  server_->Get(".*",
               [this](const httplib::Request& req, httplib::Response& res) { Dispatch(req, res); });
  const auto other = [this](const httplib::Request& req, httplib::Response& res) {
    Other(req, res);
  };
  server_->Post(".*", other);
  server_->Put(".*", other);
  server_->Patch(".*", other);
  server_->Delete(".*", other);
  server_->Options(".*", other);
  // What httplib answers by itself (a malformed request line, an overlong URI or header) gets
  // the envelope too.
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const ErrorCode code = res.status == 404 ? ErrorCode::kNotFound : ErrorCode::kFormat;
    const int status = res.status;
    res.set_content(
        ErrorBody(code, "the request cannot be served (HTTP " + std::to_string(status) + ")",
                  nullptr, RequestId(req.get_header_value("X-Request-ID"))),
        kJson);
  });
  server_->set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        const std::string id = RequestId(req.get_header_value("X-Request-ID"));
        logger_.Error("unhandled exception", {{"request_id", id}});
        SetError(res, ErrorCode::kInternal, "internal error", nullptr, id);
      });
}

ApiServer::~ApiServer() { Stop(); }

uint16_t ApiServer::Start() { return StartHttpServer(*server_, settings_.listen, thread_); }

void ApiServer::Stop() {
  stopping_.request_stop();
  StopHttpServer(server_.get(), thread_);
}

void ApiServer::Other(const httplib::Request& req, httplib::Response& res) {
  const auto started = std::chrono::steady_clock::now();
  const std::string id = RequestId(req.get_header_value("X-Request-ID"));
  res.set_header("X-Request-ID", id);
  const std::optional<RouteMatch> match = MatchRoute(RawPath(req));
  const std::string origin = req.get_header_value("Origin");
  if (req.method == "OPTIONS" && match && !origin.empty()) {
    // CORS preflight: only configured origins may call.
    if (std::find(settings_.cors_origins.begin(), settings_.cors_origins.end(), origin) ==
        settings_.cors_origins.end()) {
      SetError(res, ErrorCode::kForbidden, "origin not allowed",
               {{"origin", origin.substr(0, 200)}}, id);
    } else {
      res.status = 204;
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Access-Control-Allow-Methods", "GET, OPTIONS");
      res.set_header("Access-Control-Allow-Headers", "Authorization, X-Request-ID");
      res.set_header("Access-Control-Max-Age", "600");
      res.set_header("Vary", "Origin");
    }
  } else if (match) {
    res.set_header("Allow", "GET, OPTIONS");
    SetError(res, ErrorCode::kMethod, req.method.substr(0, 20) + " is not allowed here; use GET",
             nullptr, id);
  } else {
    SetError(res, ErrorCode::kNotFound, "no such route", nullptr, id);
  }
  Finish(req, res, match ? RouteLabel(match->route->id) : "unknown", id, started);
}

void ApiServer::Dispatch(const httplib::Request& req, httplib::Response& res) {
  const auto started = std::chrono::steady_clock::now();
  const std::string id = RequestId(req.get_header_value("X-Request-ID"));
  res.set_header("X-Request-ID", id);
  const std::string path = RawPath(req);
  const std::optional<RouteMatch> match = MatchRoute(path);
  if (!match) {
    SetError(res, ErrorCode::kNotFound, "no such route", nullptr, id);
    Finish(req, res, "unknown", id, started);
    return;
  }
  const RouteId route = match->route->id;
  const std::string origin = req.get_header_value("Origin");
  if (!origin.empty() && std::find(settings_.cors_origins.begin(), settings_.cors_origins.end(),
                                   origin) != settings_.cors_origins.end()) {
    res.set_header("Access-Control-Allow-Origin", origin);
    res.set_header("Vary", "Origin");
  }
  const bool open = std::find(settings_.open_paths.begin(), settings_.open_paths.end(), path) !=
                    settings_.open_paths.end();
  std::string caller = req.remote_addr;
  if (auth_.enabled() && !open) {
    const std::string authorization = req.get_header_value("Authorization");
    const std::optional<std::string_view> token = TokenAuth::BearerToken(authorization);
    if (!token || !auth_.Accepts(*token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      SetError(res, ErrorCode::kUnauthorized,
               token ? "the bearer token is not valid" : "a bearer token is required", nullptr, id);
      Finish(req, res, RouteLabel(route), id, started);
      return;
    }
    caller = "token:" + std::string(*token);
  }
  if (!open) {
    if (const std::optional<int64_t> retry = limiter_.Take(caller)) {
      res.set_header("Retry-After", std::to_string(*retry));
      SetError(res, ErrorCode::kRateLimited, "too many requests; retry later",
               {{"retry_after_seconds", *retry}}, id);
      Finish(req, res, RouteLabel(route), id, started);
      return;
    }
  }
  try {
    Serve(route, *match, req, res, id);
  } catch (const ApiError& e) {
    SetError(res, e.code(), e.what(), e.details(), id);
  } catch (const std::exception& e) {
    logger_.Error("request failed", {{"request_id", id}, {"error", e.what()}});
    SetError(res, ErrorCode::kInternal, "internal error", nullptr, id);
  }
  Finish(req, res, RouteLabel(route), id, started);
}

void ApiServer::Serve(RouteId route, const RouteMatch& match, const httplib::Request& req,
                      httplib::Response& res, const std::string& request_id) {
  const QueryParams& params = req.params;
  const auto table = [&]() -> std::string {
    const std::optional<std::string> name = PercentDecode(match.params[0]);
    if (!name) {
      throw ApiError(ErrorCode::kFormat, "malformed percent-encoding in the table name",
                     {{"parameter", "table"}});
    }
    return *name;
  };
  Reply reply;
  switch (route) {
    case RouteId::kHealth:
      res.set_content(R"({"status":"ok"})", kJson);
      return;
    case RouteId::kReady: {
      const std::optional<std::string> reason = api_.NotReady();
      res.status = reason ? 503 : 200;
      res.set_content(reason ? nlohmann::json({{"status", "not ready"}, {"reason", *reason}}).dump()
                             : std::string(R"({"status":"ready"})"),
                      kJson);
      return;
    }
    case RouteId::kMetrics:
      metrics_->pool_in_use.Get().Set(pool_.in_use());
      metrics_->pool_size.Get().Set(pool_.size());
      metrics_->pool_waits.Get().Set(static_cast<double>(pool_.waits()));
      metrics_->key_lookup_statements.Get().Set(
          static_cast<double>(api_.key_batcher().statements()));
      metrics_->key_lookup_keys.Get().Set(static_cast<double>(api_.key_batcher().keys()));
      res.set_content(registry_.Render() + metrics::RenderReadyGauge(!api_.NotReady()),
                      "text/plain; version=0.0.4; charset=utf-8");
      return;
    case RouteId::kOpenApi:
      res.set_content(openapi_json_, kJson);
      return;
    case RouteId::kTables:
      OnlyParams(params, {});
      reply = api_.Tables();
      break;
    case RouteId::kRows:
      reply = api_.Rows(table(), params);
      break;
    case RouteId::kRow:
      reply = api_.Row(table(), match.params[1], params);
      break;
    case RouteId::kChanges:
      reply = api_.Changes(table(), params, stopping_.get_token());
      break;
    case RouteId::kStatus:
      OnlyParams(params, {});
      reply = api_.Status();
      break;
    case RouteId::kDeadLetters:
      reply = api_.DeadLetters(params);
      break;
  }
  res.status = 200;
  res.set_content(SuccessBody(200, reply.data, request_id, reply.pagination), kJson);
}

void ApiServer::Finish(const httplib::Request& req, httplib::Response& res,
                       const std::string& route, const std::string& request_id,
                       std::chrono::steady_clock::time_point started) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-store");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_->requests.WithLabels({route, std::to_string(res.status)}).Inc();
  metrics_->duration.WithLabels({route}).Observe(seconds);
  const std::string path = RawPath(req);
  logger_.Info("request", {{"request_id", request_id},
                           {"method", req.method.substr(0, 16)},
                           {"path", path.substr(0, 200)},
                           {"route", route},
                           {"status", res.status},
                           {"ms", seconds * 1000.0},
                           {"client", req.remote_addr}});
}

}  // namespace cdc::api

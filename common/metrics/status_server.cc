#include "common/metrics/status_server.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/http_tuning.h"

namespace cdc::metrics {
namespace {

void JsonReply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

StatusServer::StatusServer(const Registry& registry, ReadinessCheck readiness, Logger logger)
    : registry_(registry), readiness_(std::move(readiness)), logger_(std::move(logger)) {}

StatusServer::~StatusServer() { Stop(); }

void StatusServer::Start(const HostPort& listen) {
  server_ = std::make_unique<httplib::Server>();
  TuneHttpServer(*server_, 4);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.Render() + RenderReadyGauge(Check().ready),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
    JsonReply(res, 200, {{"status", "ok"}});
  });
  server_->Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    const Readiness readiness = Check();
    if (readiness.ready && !readiness.warning.empty()) {
      JsonReply(res, 200, {{"status", "ready"}, {"warning", readiness.warning}});
    } else if (readiness.ready) {
      JsonReply(res, 200, {{"status", "ready"}});
    } else {
      JsonReply(res, 503, {{"status", "not_ready"}, {"reason", readiness.reason}});
    }
  });
  for (const Command& command : commands_) {
    auto handle = [&command, host = listen.host](const httplib::Request& req,
                                                 httplib::Response& res) {
      const std::string& peer = req.remote_addr;
      const bool local = peer.rfind("127.", 0) == 0 || peer.rfind("::ffff:127.", 0) == 0 ||
                         peer == "::1" || (!host.empty() && peer == host);
      if (!local) {
        JsonReply(res, 403,
                  {{"error",
                    {{"code", "FORBIDDEN"},
                     {"message", "operator commands are served to clients on this host only"}}}});
        return;
      }
      std::map<std::string, std::string> params;
      for (const auto& [name, value] : req.params) params.emplace(name, value);
      CommandReply reply;
      try {
        reply = command.handler(params);
      } catch (const std::exception& e) {
        reply = {500,
                 nlohmann::json{{"error", {{"code", "INTERNAL"}, {"message", e.what()}}}}.dump()};
      }
      res.status = reply.status;
      res.set_content(reply.body, "application/json");
    };
    if (command.method == "POST") {
      server_->Post(command.path, handle);
    } else {
      server_->Get(command.path, handle);
    }
  }
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      JsonReply(res, 404, {{"error", {{"code", "NOT_FOUND"}, {"message", "no such endpoint"}}}});
    }
  });
  port_ = StartHttpServer(*server_, listen, thread_);
  logger_.Info("status endpoint listening",
               {{"address", listen.host + ":" + std::to_string(port_)}});
}

void StatusServer::AddCommand(const std::string& method, const std::string& path,
                              CommandHandler handler) {
  commands_.push_back({method, path, std::move(handler)});
}

Readiness StatusServer::Check() const {
  try {
    return readiness_ ? readiness_() : Readiness{true, ""};
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

void StatusServer::Stop() { StopHttpServer(server_.get(), thread_); }

}  // namespace cdc::metrics

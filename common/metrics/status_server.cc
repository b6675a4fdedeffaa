#include "common/metrics/status_server.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/error.h"

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
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(100000);
  server_->new_task_queue = [] { return new httplib::ThreadPool(4); };
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/health", [](const httplib::Request&, httplib::Response& res) {
    JsonReply(res, 200, {{"status", "ok"}});
  });
  server_->Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    Readiness readiness;
    try {
      readiness = readiness_ ? readiness_() : Readiness{true, ""};
    } catch (const std::exception& e) {
      readiness = {false, e.what()};
    }
    if (readiness.ready) {
      JsonReply(res, 200, {{"status", "ready"}});
    } else {
      JsonReply(res, 503, {{"status", "not_ready"}, {"reason", readiness.reason}});
    }
  });
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) {
      JsonReply(res, 404, {{"error", {{"code", "NOT_FOUND"}, {"message", "no such endpoint"}}}});
    }
  });
  if (listen.port == 0) {
    const int port = server_->bind_to_any_port(listen.host);
    if (port < 0) throw FatalError("LISTEN", "cannot listen on " + listen.ToString());
    port_ = static_cast<uint16_t>(port);
  } else {
    if (!server_->bind_to_port(listen.host, listen.port)) {
      throw FatalError("LISTEN", "cannot listen on " + listen.ToString());
    }
    port_ = listen.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  logger_.Info("status endpoint listening",
               {{"address", listen.host + ":" + std::to_string(port_)}});
}

void StatusServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cdc::metrics

#include "tests/harness/fake_schema_registry.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "common/host_port.h"
#include "common/http_tuning.h"
#include "common/json/codec.h"

namespace cdc::testing {

FakeSchemaRegistry::FakeSchemaRegistry(std::string user, std::string password,
                                       const std::string& tls_cert, const std::string& tls_key)
    : user_(std::move(user)),
      password_(std::move(password)),
      tls_(!tls_cert.empty()),
      server_(tls_ ? std::make_unique<httplib::SSLServer>(tls_cert.c_str(), tls_key.c_str())
                   : std::make_unique<httplib::Server>()) {
  TuneHttpServer(*server_, 4);
  // Failure injection and auth run inside each handler (after httplib read the request body, so
  // a keep-alive connection stays in sync).
  auto refuse = [this](const httplib::Request& req, httplib::Response& res) {
    requests_.fetch_add(1);
    if (failures_.load() > 0) {
      failures_.fetch_sub(1);
      res.status = 503;
      res.set_content(R"({"error_code":50301,"message":"injected failure"})", "application/json");
      return true;
    }
    if (!user_.empty() && req.get_header_value("Authorization") !=
                              "Basic " + json::Base64Encode(user_ + ":" + password_)) {
      res.status = 401;
      res.set_content(R"({"error_code":401,"message":"Unauthorized"})", "application/json");
      return true;
    }
    return false;
  };
  server_->Post(R"(/subjects/([^/]+)/versions)", [this, refuse](const httplib::Request& req,
                                                                httplib::Response& res) {
    if (refuse(req, res)) return;
    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("schema") || !body["schema"].is_string() ||
        nlohmann::json::parse(body["schema"].get<std::string>(), nullptr, false).is_discarded()) {
      res.status = 422;
      res.set_content(R"({"error_code":42201,"message":"Invalid schema"})", "application/json");
      return;
    }
    const std::string schema = body["schema"].get<std::string>();
    std::lock_guard lock(mutex_);
    auto [it, inserted] = ids_.emplace(schema, static_cast<int32_t>(ids_.size() + 1));
    if (inserted) schemas_[it->second] = schema;
    std::vector<int32_t>& versions = subjects_[req.matches[1]];
    if (std::find(versions.begin(), versions.end(), it->second) == versions.end()) {
      versions.push_back(it->second);
    }
    res.set_content(nlohmann::json{{"id", it->second}}.dump(),
                    "application/vnd.schemaregistry.v1+json");
  });
  server_->Get(R"(/schemas/ids/(\d+))", [this, refuse](const httplib::Request& req,
                                                       httplib::Response& res) {
    if (refuse(req, res)) return;
    std::lock_guard lock(mutex_);
    const auto found = schemas_.find(std::stoi(req.matches[1]));
    if (found == schemas_.end()) {
      res.status = 404;
      res.set_content(R"({"error_code":40403,"message":"Schema not found"})", "application/json");
      return;
    }
    res.set_content(nlohmann::json{{"schema", found->second}}.dump(),
                    "application/vnd.schemaregistry.v1+json");
  });
  port_ = StartHttpServer(*server_, ParseHostPort("127.0.0.1:0"), thread_);
}

FakeSchemaRegistry::~FakeSchemaRegistry() { StopHttpServer(server_.get(), thread_); }

size_t FakeSchemaRegistry::VersionCount(const std::string& subject) const {
  std::lock_guard lock(mutex_);
  const auto found = subjects_.find(subject);
  return found == subjects_.end() ? 0 : found->second.size();
}

}  // namespace cdc::testing

#include "common/registry/confluent_registry.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/redact.h"

namespace cdc::registry {
namespace {

constexpr const char* kContentType = "application/vnd.schemaregistry.v1+json";

struct ParsedUrl {
  std::string origin;  // scheme://host[:port]
  std::string prefix;  // path without trailing slash
};

ParsedUrl ParseUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos ||
      (url.compare(0, scheme_end, "http") != 0 && url.compare(0, scheme_end, "https") != 0)) {
    throw config::ConfigError(
        {"kafka.schema_registry_url: expected http(s)://host[:port][/path], got \"" +
         RedactSecrets(url) + "\""});
  }
  const size_t path = url.find('/', scheme_end + 3);
  ParsedUrl parsed{url.substr(0, path), path == std::string::npos ? "" : url.substr(path)};
  while (!parsed.prefix.empty() && parsed.prefix.back() == '/') parsed.prefix.pop_back();
  if (parsed.origin.size() <= scheme_end + 3) {
    throw config::ConfigError(
        {"kafka.schema_registry_url: no host in \"" + RedactSecrets(url) + "\""});
  }
  return parsed;
}

std::string ErrorMessage(const std::string& body) {
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
    return parsed["message"].get<std::string>();
  }
  return body.substr(0, 200);
}

}  // namespace

ConfluentSettings ConfluentSettings::FromConfig(const config::ConfigView& config) {
  ConfluentSettings settings;
  settings.url = config.GetString("kafka.schema_registry_url");
  settings.user = config.GetString("kafka.schema_registry_user");
  settings.password = config.GetString("kafka.schema_registry_password");
  settings.ca_location = config.GetString("kafka.schema_registry_ca_location");
  settings.timeout = std::chrono::milliseconds(config.GetInt("kafka.schema_registry_timeout_ms"));
  return settings;
}

ConfluentRegistry::ConfluentRegistry(ConfluentSettings settings, Clock& clock, Logger logger)
    : settings_(std::move(settings)), clock_(clock), logger_(std::move(logger)) {
  const ParsedUrl url = ParseUrl(settings_.url);
  prefix_ = url.prefix;
  client_ = std::make_unique<httplib::Client>(url.origin);
  if (!client_->is_valid()) {
    throw config::ConfigError({"kafka.schema_registry_url: cannot use \"" +
                               RedactSecrets(settings_.url) + "\" (https needs TLS support)"});
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(settings_.timeout);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(settings_.timeout - seconds);
  client_->set_connection_timeout(seconds.count(), micros.count());
  client_->set_read_timeout(seconds.count(), micros.count());
  client_->set_write_timeout(seconds.count(), micros.count());
  client_->set_keep_alive(true);
  if (!settings_.user.empty()) client_->set_basic_auth(settings_.user, settings_.password);
  if (!settings_.ca_location.empty()) client_->set_ca_cert_path(settings_.ca_location);
}

ConfluentRegistry::~ConfluentRegistry() = default;

ConfluentRegistry::Response ConfluentRegistry::Call(const std::string& method,
                                                    const std::string& path,
                                                    const std::string& body) {
  Response response;
  const std::stop_source never_stopped;
  RetryTransient(
      [&] {
        const std::string full_path = prefix_ + path;
        httplib::Result result = method == "POST"
                                     ? client_->Post(full_path.c_str(), body, kContentType)
                                     : client_->Get(full_path.c_str());
        if (!result && result.error() == httplib::Error::SSLServerVerification) {
          throw FatalError("REGISTRY_TLS", "schema registry " + RedactSecrets(settings_.url) +
                                               ": server certificate verification failed (set "
                                               "kafka.schema_registry_ca_location?)");
        }
        if (!result) {
          throw TransientError("REGISTRY_UNREACHABLE",
                               "schema registry " + RedactSecrets(settings_.url) +
                                   " unreachable: " + httplib::to_string(result.error()));
        }
        if (result->status >= 500 || result->status == 429) {
          throw TransientError("REGISTRY_" + std::to_string(result->status),
                               "schema registry answered " + std::to_string(result->status) + ": " +
                                   ErrorMessage(result->body));
        }
        response = {result->status, result->body};
      },
      settings_.retry, clock_, never_stopped.get_token(),
      [this](const TransientError& error, Clock::Duration delay) {
        logger_.Warn(
            "schema registry call failed; retrying",
            {{"error", error.what()},
             {"delay_ms", std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()}});
      });
  if (response.status == 401 || response.status == 403) {
    throw FatalError("REGISTRY_AUTH", "schema registry rejected the credentials (" +
                                          std::to_string(response.status) + ")");
  }
  return response;
}

int32_t ConfluentRegistry::Register(const std::string& subject, const std::string& schema) {
  std::lock_guard lock(mutex_);
  const auto cached = ids_.find({subject, schema});
  if (cached != ids_.end()) return cached->second;
  const Response response =
      Call("POST", "/subjects/" + subject + "/versions", nlohmann::json{{"schema", schema}}.dump());
  if (response.status != 200) {
    throw PermanentError("REGISTRY_REJECTED", "schema registry rejected the schema for " + subject +
                                                  " (" + std::to_string(response.status) +
                                                  "): " + ErrorMessage(response.body));
  }
  const nlohmann::json parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("id") || !parsed["id"].is_number_integer()) {
    throw TransientError("REGISTRY_BAD_ANSWER",
                         "schema registry answer without an id: " + response.body.substr(0, 200));
  }
  const auto id = parsed["id"].get<int32_t>();
  ids_[{subject, schema}] = id;
  schemas_[id] = schema;
  logger_.Info("schema registered", {{"subject", subject}, {"id", id}});
  return id;
}

std::string ConfluentRegistry::Lookup(int32_t id) {
  std::lock_guard lock(mutex_);
  const auto cached = schemas_.find(id);
  if (cached != schemas_.end()) return cached->second;
  const Response response = Call("GET", "/schemas/ids/" + std::to_string(id), "");
  if (response.status == 404) {
    throw PermanentError("SCHEMA_ID",
                         "schema id " + std::to_string(id) + " is not in the registry");
  }
  const nlohmann::json parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (response.status != 200 || !parsed.is_object() || !parsed.contains("schema") ||
      !parsed["schema"].is_string()) {
    throw PermanentError("SCHEMA_ID", "schema registry lookup of id " + std::to_string(id) +
                                          " failed (" + std::to_string(response.status) +
                                          "): " + ErrorMessage(response.body));
  }
  std::string schema = parsed["schema"].get<std::string>();
  schemas_[id] = schema;
  return schema;
}

}  // namespace cdc::registry

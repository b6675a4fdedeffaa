#include "api/registry_api.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/query.h"
#include "common/error.h"

namespace cdc::api {
namespace {

RegistryApi::Answer Failure(int status, int code, const std::string& message) {
  return {status, nlohmann::json{{"error_code", code}, {"message", message}}.dump()};
}

std::optional<int64_t> PositiveInt(const std::string& text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > INT32_MAX) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

RegistryApi::RegistryApi(Open open) : open_(std::move(open)) {}

RegistryApi::~RegistryApi() = default;

registry::TopicRegistry& RegistryApi::Reader() {
  std::lock_guard lock(mutex_);
  if (!reader_) reader_ = open_();
  return *reader_;
}

RegistryApi::Answer RegistryApi::Serve(RouteId route, const std::vector<std::string>& params) {
  if (!open_) {
    return Failure(404, 40401,
                   "this pipeline's schemas are in the registry kafka.schema_registry_url names");
  }
  std::string subject;
  if (!params.empty() && route != RouteId::kSchemaById) {
    const std::optional<std::string> decoded = PercentDecode(params[0]);
    if (!decoded) return Failure(404, 40401, "Subject not found");
    subject = *decoded;
  }
  try {
    switch (route) {
      case RouteId::kSchemaById: {
        const std::optional<int64_t> id = PositiveInt(params.at(0));
        if (!id) return Failure(404, 40403, "Schema not found");
        try {
          const std::string schema = Reader().Lookup(static_cast<int32_t>(*id));
          return {200, nlohmann::json{{"schema", schema}}.dump()};
        } catch (const PermanentError&) {
          return Failure(404, 40403, "Schema " + std::to_string(*id) + " not found");
        }
      }
      case RouteId::kSubjects:
        return {200, nlohmann::json(Reader().Subjects()).dump()};
      case RouteId::kSubjectVersions: {
        const std::vector<int> versions = Reader().Versions(subject);
        if (versions.empty()) return Failure(404, 40401, "Subject '" + subject + "' not found");
        return {200, nlohmann::json(versions).dump()};
      }
      case RouteId::kSubjectVersion: {
        std::optional<int> version;
        if (params.at(1) != "latest" && params.at(1) != "-1") {
          const std::optional<int64_t> number = PositiveInt(params.at(1));
          if (!number) {
            return Failure(422, 42202,
                           "The specified version '" + params.at(1).substr(0, 20) +
                               "' is not a valid version id: a positive integer or latest");
          }
          version = static_cast<int>(*number);
        }
        const std::optional<registry::TopicRegistry::Version> found =
            Reader().Find(subject, version);
        if (!found) {
          return Reader().Versions(subject).empty()
                     ? Failure(404, 40401, "Subject '" + subject + "' not found")
                     : Failure(404, 40402, "Version " + params.at(1).substr(0, 20) + " not found");
        }
        return {200, nlohmann::json{{"subject", found->subject},
                                    {"version", found->version},
                                    {"id", found->id},
                                    {"schema", found->schema}}
                         .dump()};
      }
      default:
        return Failure(404, 40401, "not a schema registry route");
    }
  } catch (const cdc::Error& e) {
    // Kafka unreachable or the topic not readable in time: the caller may retry.
    return Failure(503, 50002, std::string("the schemas topic cannot be read now: ") + e.what());
  }
}

}  // namespace cdc::api

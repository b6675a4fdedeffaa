#include "api/registry_api.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/query.h"
#include "api/response.h"
#include "common/error.h"

namespace cdc::api {
namespace {

constexpr auto kMaxReaderAge = std::chrono::minutes(1);
constexpr auto kMinReaderAge = std::chrono::seconds(5);
constexpr auto kFailFast = std::chrono::seconds(5);

RegistryApi::Answer Failure(int status, int code, const std::string& message) {
  // DumpJson: a subject or version echoed back may hold bytes that are not UTF-8.
  return {status, DumpJson(nlohmann::json{{"error_code", code}, {"message", message}})};
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

RegistryApi::RegistryApi(Open open, const Clock& clock) : open_(std::move(open)), clock_(clock) {}

RegistryApi::~RegistryApi() = default;

std::shared_ptr<registry::TopicRegistry> RegistryApi::Reader(bool fresh) {
  std::lock_guard lock(mutex_);
  const Clock::TimePoint now = clock_.Now();
  const auto age = now - opened_at_;
  if (!reader_ || age > kMaxReaderAge || (fresh && age > kMinReaderAge)) {
    reader_.reset();
    reader_ = open_();
    opened_at_ = now;
  }
  return reader_;
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
  {
    std::lock_guard lock(mutex_);
    if (clock_.Now() < failing_until_) {
      return Failure(503, 50002, "the schemas topic could not be read a moment ago; retry later");
    }
  }
  try {
    return Route(route, params, subject);
  } catch (const cdc::Error& e) {
    // Kafka unreachable or the topic not readable in time: answer at once for a while, so that
    // waiting requests do not pile up behind one another.
    std::lock_guard lock(mutex_);
    failing_until_ = clock_.Now() + kFailFast;
    reader_.reset();
    return Failure(503, 50002, std::string("the schemas topic cannot be read now: ") + e.what());
  }
}

RegistryApi::Answer RegistryApi::Route(RouteId route, const std::vector<std::string>& params,
                                       const std::string& subject) {
  switch (route) {
    case RouteId::kSchemaById: {
      const std::optional<int64_t> id = PositiveInt(params.at(0));
      if (!id) return Failure(404, 40403, "Schema not found");
      for (const bool fresh : {false, true}) {  // not found: once more from a new reader
        try {
          const std::string schema = Reader(fresh)->Lookup(static_cast<int32_t>(*id));
          return {200, DumpJson(nlohmann::json{{"schema", schema}})};
        } catch (const PermanentError&) {
        }
      }
      return Failure(404, 40403, "Schema " + std::to_string(*id) + " not found");
    }
    case RouteId::kSubjects:
      return {200, DumpJson(nlohmann::json(Reader(false)->Subjects()))};
    case RouteId::kSubjectVersions: {
      const std::vector<int> versions = Reader(false)->Versions(subject);
      if (versions.empty()) return Failure(404, 40401, "Subject '" + subject + "' not found");
      return {200, DumpJson(nlohmann::json(versions))};
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
      const std::shared_ptr<registry::TopicRegistry> reader = Reader(false);
      const std::optional<registry::TopicRegistry::Version> found = reader->Find(subject, version);
      if (!found) {
        return reader->Versions(subject).empty()
                   ? Failure(404, 40401, "Subject '" + subject + "' not found")
                   : Failure(404, 40402, "Version " + params.at(1).substr(0, 20) + " not found");
      }
      return {200, DumpJson(nlohmann::json{{"subject", found->subject},
                                           {"version", found->version},
                                           {"id", found->id},
                                           {"schema", found->schema}})};
    }
    default:
      return Failure(404, 40401, "not a schema registry route");
  }
}

}  // namespace cdc::api

#include "api/response.h"

#include <chrono>
#include <ctime>

namespace cdc::api {

const char* CodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMissing:
      return "VAL_001";
    case ErrorCode::kFormat:
      return "VAL_002";
    case ErrorCode::kRange:
      return "VAL_003";
    case ErrorCode::kUnauthorized:
      return "AUTH_001";
    case ErrorCode::kForbidden:
      return "AUTH_003";
    case ErrorCode::kNotFound:
      return "BIZ_001";
    case ErrorCode::kMethod:
      return "BIZ_002";
    case ErrorCode::kConflict:
      return "BIZ_003";
    case ErrorCode::kRateLimited:
      return "RATE_001";
    case ErrorCode::kInternal:
      return "SYS_001";
    case ErrorCode::kTimeout:
      return "SYS_002";
    case ErrorCode::kUnavailable:
      return "SYS_003";
  }
  return "SYS_001";
}

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMissing:
    case ErrorCode::kFormat:
    case ErrorCode::kRange:
      return 400;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethod:
      return 405;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kUnavailable:
      return 503;
  }
  return 500;
}

std::string NowIso() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[40];
  const size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof(text) - n, ".%03dZ", static_cast<int>(millis));
  return text;
}

namespace {

nlohmann::json Meta(const std::string& request_id) {
  return {{"timestamp", NowIso()}, {"request_id", request_id}};
}

}  // namespace

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string SuccessBody(int status, std::string_view data_json, const std::string& request_id,
                        const std::optional<Pagination>& pagination) {
  nlohmann::json meta = Meta(request_id);
  if (pagination) {
    meta["pagination"] = {
        {"limit", pagination->limit},
        {"next_cursor", pagination->next_cursor ? nlohmann::json(*pagination->next_cursor)
                                                : nlohmann::json(nullptr)},
        {"has_more", pagination->has_more}};
  }
  // The members in the order nlohmann::json writes an object's (sorted by name).
  std::string body = "{\"data\":";
  body += data_json;
  body += ",\"meta\":";
  body += DumpJson(meta);
  body += ",\"status_code\":" + std::to_string(status) + ",\"success\":true}";
  return body;
}

std::string ErrorBody(ErrorCode code, const std::string& message, const nlohmann::json& details,
                      const std::string& request_id) {
  nlohmann::json error = {{"code", CodeName(code)}, {"message", message}};
  if (!details.is_null()) error["details"] = details;
  const nlohmann::json body = {{"success", false},
                               {"status_code", HttpStatus(code)},
                               {"error", error},
                               {"meta", Meta(request_id)}};
  return DumpJson(body);
}

}  // namespace cdc::api

// The response envelope every API answer uses, and the error codes. Success:
//   {"success":true,"status_code":200,"data":…,"meta":{"timestamp","request_id"[,"pagination"]}}
// Error:
//   {"success":false,"status_code":400,"error":{"code":"VAL_002","message":…,"details":{…}},
//    "meta":{…}}
// Handlers throw ApiError; the server turns it (and anything else) into an error envelope.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cdc::api {

enum class ErrorCode {
  kMissing,       // VAL_001 400: a required parameter is absent
  kFormat,        // VAL_002 400: a value does not parse, or names nothing that exists
  kRange,         // VAL_003 400: a value is outside its allowed range
  kUnauthorized,  // AUTH_001 401: no or unknown bearer token
  kForbidden,     // AUTH_003 403: a token that may not do this (e.g. CORS origin not allowed)
  kNotFound,      // BIZ_001 404: no such table, row or route
  kMethod,        // BIZ_002 405: the route exists, the method does not
  kConflict,      // BIZ_003 409: the resource is not in a state that allows this
  kRateLimited,   // RATE_001 429
  kInternal,      // SYS_001 500
  kTimeout,       // SYS_002 504: the statement timed out
  kUnavailable,   // SYS_003 503: PostgreSQL cannot be reached
};

const char* CodeName(ErrorCode code);
int HttpStatus(ErrorCode code);

class ApiError : public std::runtime_error {
 public:
  ApiError(ErrorCode code, const std::string& message, nlohmann::json details = nullptr)
      : std::runtime_error(message), code_(code), details_(std::move(details)) {}
  ErrorCode code() const { return code_; }
  const nlohmann::json& details() const { return details_; }

 private:
  ErrorCode code_;
  nlohmann::json details_;
};

struct Pagination {
  int64_t limit = 0;
  std::optional<std::string> next_cursor;
  bool has_more = false;
};

// ISO-8601 UTC with milliseconds, e.g. 2026-12-01T10:00:00.123Z.
std::string NowIso();

// A json value as text (invalid UTF-8 replaced by U+FFFD), as every body writes it.
std::string DumpJson(const nlohmann::json& value);
// The success envelope around `data_json`, the data already written as JSON text.
std::string SuccessBody(int status, std::string_view data_json, const std::string& request_id,
                        const std::optional<Pagination>& pagination = std::nullopt);
std::string ErrorBody(ErrorCode code, const std::string& message, const nlohmann::json& details,
                      const std::string& request_id);

}  // namespace cdc::api

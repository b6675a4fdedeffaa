#include "common/error.h"

namespace cdc {

std::string_view RetryClassName(RetryClass retry_class) {
  switch (retry_class) {
    case RetryClass::kTransient:
      return "transient";
    case RetryClass::kPermanent:
      return "permanent";
    case RetryClass::kFatal:
      return "fatal";
  }
  return "unknown";
}

Error::Error(RetryClass retry_class, std::string code, const std::string& message)
    : std::runtime_error(message), retry_class_(retry_class), code_(std::move(code)) {}

void ThrowError(RetryClass retry_class, std::string code, const std::string& message) {
  switch (retry_class) {
    case RetryClass::kTransient:
      throw TransientError(std::move(code), message);
    case RetryClass::kPermanent:
      throw PermanentError(std::move(code), message);
    case RetryClass::kFatal:
      break;
  }
  throw FatalError(std::move(code), message);
}

RetryClass ClassifySqlState(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return RetryClass::kTransient;
  const std::string_view klass = sqlstate.substr(0, 2);
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03") {
    return RetryClass::kTransient;
  }
  if (klass == "08" || klass == "53" || klass == "57" || klass == "58") {
    return RetryClass::kTransient;
  }
  if (klass == "XX") return RetryClass::kFatal;
  return RetryClass::kPermanent;
}

}  // namespace cdc

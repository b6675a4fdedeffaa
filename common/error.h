// The one error model used across module boundaries: typed exceptions that carry their retry
// class. Loops catch `Error` at their boundary and act on `retry_class()`:
//   kTransient - retry with backoff (connection lost, serialization failure, broker down);
//   kPermanent - this record/request can never succeed: dead-letter it or answer 4xx;
//   kFatal     - stop cleanly (bad configuration, librdkafka fatal error).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace cdc {

enum class RetryClass { kTransient, kPermanent, kFatal };

std::string_view RetryClassName(RetryClass retry_class);

class Error : public std::runtime_error {
 public:
  // `code` is a short machine-readable identifier, e.g. a SQLSTATE, a librdkafka error name or
  // one of our own ("CONFIG").
  Error(RetryClass retry_class, std::string code, const std::string& message);

  RetryClass retry_class() const { return retry_class_; }
  const std::string& code() const { return code_; }
  bool transient() const { return retry_class_ == RetryClass::kTransient; }

 private:
  const RetryClass retry_class_;
  const std::string code_;
};

class TransientError : public Error {
 public:
  TransientError(std::string code, const std::string& message)
      : Error(RetryClass::kTransient, std::move(code), message) {}
};

class PermanentError : public Error {
 public:
  PermanentError(std::string code, const std::string& message)
      : Error(RetryClass::kPermanent, std::move(code), message) {}
};

class FatalError : public Error {
 public:
  FatalError(std::string code, const std::string& message)
      : Error(RetryClass::kFatal, std::move(code), message) {}
};

// Throws the subclass matching `retry_class`.
[[noreturn]] void ThrowError(RetryClass retry_class, std::string code, const std::string& message);

// Maps a PostgreSQL SQLSTATE (5 characters) to its retry class:
//   08 connection exception, 40001 serialization failure, 40P01 deadlock, 53 insufficient
//   resources, 57 operator intervention (admin shutdown, query canceled), 55P03 lock not
//   available, 58 system error (I/O)                      -> transient
//   22 data exception, 23 integrity constraint violation, 42 syntax/access rule, and anything
//   else a retry cannot fix                                  -> permanent
//   XX000/XX001/XX002 internal error / data corrupted       -> fatal
// An empty or malformed SQLSTATE (no server answer at all) is transient.
RetryClass ClassifySqlState(std::string_view sqlstate);

}  // namespace cdc

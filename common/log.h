// Structured logging over spdlog. main() creates one Logging (format, level, sink) and hands a
// Logger per component to the objects it wires. Every line carries ts, level, component, msg and
// the call's fields; JSON format writes one object per line, text format `msg key=value ...`.
// Messages and string fields pass through RedactSecrets, so a connection string or URL that
// reaches a log line never shows its password. Loggers are cheap to copy and thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

// spdlog stays out of this header (it is the costliest include of the build).
namespace spdlog {
class logger;
namespace sinks {
class sink;
}  // namespace sinks
}  // namespace spdlog

namespace cdc {

enum class LogFormat { kText, kJson };
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

// Parses "json"/"text" and "trace".."error" (the config's enum values).
LogFormat ParseLogFormat(std::string_view text);
LogLevel ParseLogLevel(std::string_view text);

struct LogField {
  using Value = std::variant<std::string_view, std::string, int64_t, double, bool>;
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  template <typename T,
            typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
  LogField(std::string_view k, T v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}

  std::string_view key;
  Value value;
};

using LogFields = std::initializer_list<LogField>;

class Logger {
 public:
  Logger(std::shared_ptr<spdlog::logger> logger, LogFormat format);

  void Trace(std::string_view msg, LogFields fields = {}) const {
    Log(LogLevel::kTrace, msg, fields);
  }
  void Debug(std::string_view msg, LogFields fields = {}) const {
    Log(LogLevel::kDebug, msg, fields);
  }
  void Info(std::string_view msg, LogFields fields = {}) const {
    Log(LogLevel::kInfo, msg, fields);
  }
  void Warn(std::string_view msg, LogFields fields = {}) const {
    Log(LogLevel::kWarn, msg, fields);
  }
  void Error(std::string_view msg, LogFields fields = {}) const {
    Log(LogLevel::kError, msg, fields);
  }
  void Log(LogLevel level, std::string_view msg, LogFields fields) const;
  bool Enabled(LogLevel level) const;
  const std::string& component() const;

 private:
  std::shared_ptr<spdlog::logger> logger_;
  LogFormat format_;
};

// Owns the sink; hands out component loggers sharing it.
class Logging {
 public:
  // Logs to stderr.
  Logging(LogFormat format, LogLevel level);
  // Logs to the given sink (tests use an ostream sink).
  Logging(LogFormat format, LogLevel level, std::shared_ptr<spdlog::sinks::sink> sink);

  Logger Get(const std::string& component) const;
  void Flush() const;

 private:
  const LogFormat format_;
  const LogLevel level_;
  std::shared_ptr<spdlog::sinks::sink> sink_;
};

}  // namespace cdc

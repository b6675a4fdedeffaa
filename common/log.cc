#include "common/log.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/redact.h"

namespace cdc {
namespace {

spdlog::level::level_enum ToSpd(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string JsonString(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void AppendIso8601(std::string& out, spdlog::log_clock::time_point tp) {
  const auto since_epoch = tp.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = seconds.count();
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
  out += buffer;
  char frac[8];
  std::snprintf(frac, sizeof(frac), ".%03dZ", static_cast<int>(millis));
  out += frac;
}

// Wraps the payload prepared by Logger::Log: JSON payloads are `"msg":...,"k":v` fragments.
class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(msg.payload.size() + 96);
    const std::string_view level_name = spdlog::level::to_string_view(msg.level).data();
    if (format_ == LogFormat::kJson) {
      line += "{\"ts\":\"";
      AppendIso8601(line, msg.time);
      line += "\",\"level\":\"";
      line += level_name == "warning" ? "warn" : level_name;
      line += "\",\"component\":";
      line += JsonString(std::string_view(msg.logger_name.data(), msg.logger_name.size()));
      line += ',';
      line.append(msg.payload.data(), msg.payload.size());
      line += "}\n";
    } else {
      AppendIso8601(line, msg.time);
      line += ' ';
      std::string level(level_name == "warning" ? "warn" : level_name);
      for (char& c : level) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      level.resize(5, ' ');
      line += level;
      line += " [";
      line.append(msg.logger_name.data(), msg.logger_name.size());
      line += "] ";
      line.append(msg.payload.data(), msg.payload.size());
      line += '\n';
    }
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(format_);
  }

 private:
  const LogFormat format_;
};

void AppendTextValue(std::string& out, const std::string& text) {
  const bool needs_quotes = text.empty() || text.find_first_of(" \"=\t\n") != std::string::npos;
  out += needs_quotes ? JsonString(text) : text;
}

}  // namespace

LogFormat ParseLogFormat(std::string_view text) {
  return text == "json" ? LogFormat::kJson : LogFormat::kText;
}

LogLevel ParseLogLevel(std::string_view text) {
  if (text == "trace") return LogLevel::kTrace;
  if (text == "debug") return LogLevel::kDebug;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

Logger::Logger(std::shared_ptr<spdlog::logger> logger, LogFormat format)
    : logger_(std::move(logger)), format_(format) {}

bool Logger::Enabled(LogLevel level) const { return logger_->should_log(ToSpd(level)); }

const std::string& Logger::component() const { return logger_->name(); }

void Logger::Log(LogLevel level, std::string_view msg, LogFields fields) const {
  if (!Enabled(level)) return;
  std::string payload;
  if (format_ == LogFormat::kJson) {
    payload = "\"msg\":" + JsonString(RedactSecrets(msg));
  } else {
    payload = RedactSecrets(msg);
  }
  for (const LogField& field : fields) {
    std::string value;
    bool is_string = false;
    if (const auto* view = std::get_if<std::string_view>(&field.value)) {
      value = RedactSecrets(*view), is_string = true;
    } else if (const auto* str = std::get_if<std::string>(&field.value)) {
      value = RedactSecrets(*str), is_string = true;
    } else if (const auto* number = std::get_if<int64_t>(&field.value)) {
      value = std::to_string(*number);
    } else if (const auto* real = std::get_if<double>(&field.value)) {
      value = nlohmann::json(*real).dump();
    } else {
      value = std::get<bool>(field.value) ? "true" : "false";
    }
    if (format_ == LogFormat::kJson) {
      payload += ',' + JsonString(field.key) + ':' + (is_string ? JsonString(value) : value);
    } else {
      payload += ' ';
      payload.append(field.key);
      payload += '=';
      AppendTextValue(payload, value);
    }
  }
  logger_->log(ToSpd(level), std::string_view(payload));
}

Logging::Logging(LogFormat format, LogLevel level)
    : Logging(format, level, std::make_shared<spdlog::sinks::stderr_sink_mt>()) {}

Logging::Logging(LogFormat format, LogLevel level, spdlog::sink_ptr sink)
    : format_(format), level_(level), sink_(std::move(sink)) {
  sink_->set_formatter(std::make_unique<LineFormatter>(format_));
}

void Logging::Flush() const { sink_->flush(); }

Logger Logging::Get(const std::string& component) const {
  auto logger = std::make_shared<spdlog::logger>(component, sink_);
  logger->set_level(ToSpd(level_));
  logger->flush_on(spdlog::level::warn);
  return Logger(std::move(logger), format_);
}

}  // namespace cdc

#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace cdc {
namespace {

struct Captured {
  std::ostringstream stream;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink =
      std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
};

TEST(Logging, JsonLinesCarryTsLevelComponentMessageAndFields) {
  Captured out;
  Logging logging(LogFormat::kJson, LogLevel::kInfo, out.sink);
  logging.Get("producer")
      .Info("batch published",
            {{"table", "SHOP.ORDERS"}, {"rows", 5000}, {"rate", 1.5}, {"full", true}});
  const nlohmann::json line = nlohmann::json::parse(out.stream.str());
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["component"], "producer");
  EXPECT_EQ(line["msg"], "batch published");
  EXPECT_EQ(line["table"], "SHOP.ORDERS");
  EXPECT_EQ(line["rows"], 5000);
  EXPECT_EQ(line["rate"], 1.5);
  EXPECT_EQ(line["full"], true);
  const std::string ts = line["ts"];
  EXPECT_EQ(ts.size(), 24u) << ts;  // 2026-11-21T08:00:00.123Z
  EXPECT_EQ(ts.back(), 'Z');
}

TEST(Logging, EscapesJsonAndRedactsSecrets) {
  Captured out;
  Logging logging(LogFormat::kJson, LogLevel::kInfo, out.sink);
  logging.Get("source").Warn("connect to \"Driver=X;Pwd=hunter2;\" failed\n",
                             {{"url", "postgresql://u:hunter2@h/db"}});
  const std::string text = out.stream.str();
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  const nlohmann::json line = nlohmann::json::parse(text);
  EXPECT_EQ(line["level"], "warn");
  EXPECT_EQ(line["msg"], "connect to \"Driver=X;Pwd=***;\" failed\n");
  EXPECT_EQ(line["url"], "postgresql://u:***@h/db");
}

TEST(Logging, TextFormatIsHumanReadable) {
  Captured out;
  Logging logging(LogFormat::kText, LogLevel::kDebug, out.sink);
  logging.Get("consumer").Debug("applied", {{"rows", 3}, {"table", "order lines"}});
  const std::string text = out.stream.str();
  EXPECT_NE(text.find("DEBUG [consumer] applied rows=3 table=\"order lines\""), std::string::npos)
      << text;
}

TEST(Logging, LevelFiltersLowerLevels) {
  Captured out;
  Logging logging(LogFormat::kJson, LogLevel::kWarn, out.sink);
  const Logger logger = logging.Get("x");
  logger.Info("hidden");
  logger.Error("shown");
  EXPECT_FALSE(logger.Enabled(LogLevel::kInfo));
  EXPECT_EQ(out.stream.str().find("hidden"), std::string::npos);
  EXPECT_NE(out.stream.str().find("shown"), std::string::npos);
}

TEST(Logging, ParsesConfigSpellings) {
  EXPECT_EQ(ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("trace"), LogLevel::kTrace);
}

}  // namespace
}  // namespace cdc

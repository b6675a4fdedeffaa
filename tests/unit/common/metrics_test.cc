#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "common/metrics/registry.h"

namespace cdc::metrics {
namespace {

// A small parser for the Prometheus text format 0.0.4, enough to read our output back:
// returns sample name+labels -> value, and checks HELP/TYPE lines precede their samples.
struct Parsed {
  std::map<std::string, std::string> types;
  std::map<std::string, std::string> helps;
  std::map<std::string, double> samples;  // key: name{labels as written}
};

std::string Unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char next = text[++i];
      out += next == 'n' ? '\n' : next;
    } else {
      out += text[i];
    }
  }
  return out;
}

Parsed Parse(const std::string& text) {
  Parsed parsed;
  std::istringstream in(text);
  std::string line;
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)$)");
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string rest = line.substr(7);
      parsed.helps[rest.substr(0, rest.find(' '))] = Unescape(rest.substr(rest.find(' ') + 1));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      parsed.types[rest.substr(0, rest.find(' '))] = rest.substr(rest.find(' ') + 1);
      continue;
    }
    std::smatch match;
    EXPECT_TRUE(std::regex_match(line, match, kSample)) << "not a valid sample line: " << line;
    if (match.empty()) continue;
    const std::string value = match[4];
    double number = value == "+Inf" ? INFINITY : value == "-Inf" ? -INFINITY : std::stod(value);
    parsed.samples[match[1].str() + match[2].str()] = number;
  }
  return parsed;
}

TEST(Registry, RendersCountersGaugesAndHistogramsThatParseBack) {
  Registry registry;
  auto& events = registry.AddCounter("cdc_events_total", "Events published.", {"table", "op"});
  events.WithLabels({"SHOP.ORDERS", "c"}).Inc(3);
  events.WithLabels({"SHOP.ORDERS", "d"}).Inc();
  registry.AddGauge("cdc_lag_seconds", "Replication lag.").Get().Set(1.5);
  auto& latency = registry.AddHistogram("cdc_apply_seconds", "Apply latency.", {}, {0.1, 1});
  latency.Get().Observe(0.05);
  latency.Get().Observe(0.5);
  latency.Get().Observe(7);

  const Parsed parsed = Parse(registry.Render());
  EXPECT_EQ(parsed.types.at("cdc_events_total"), "counter");
  EXPECT_EQ(parsed.types.at("cdc_lag_seconds"), "gauge");
  EXPECT_EQ(parsed.types.at("cdc_apply_seconds"), "histogram");
  EXPECT_EQ(parsed.helps.at("cdc_events_total"), "Events published.");
  EXPECT_EQ(parsed.samples.at("cdc_events_total{table=\"SHOP.ORDERS\",op=\"c\"}"), 3);
  EXPECT_EQ(parsed.samples.at("cdc_events_total{table=\"SHOP.ORDERS\",op=\"d\"}"), 1);
  EXPECT_EQ(parsed.samples.at("cdc_lag_seconds"), 1.5);
  EXPECT_EQ(parsed.samples.at("cdc_apply_seconds_bucket{le=\"0.1\"}"), 1);
  EXPECT_EQ(parsed.samples.at("cdc_apply_seconds_bucket{le=\"1\"}"), 2);
  EXPECT_EQ(parsed.samples.at("cdc_apply_seconds_bucket{le=\"+Inf\"}"), 3);
  EXPECT_EQ(parsed.samples.at("cdc_apply_seconds_count"), 3);
  EXPECT_DOUBLE_EQ(parsed.samples.at("cdc_apply_seconds_sum"), 7.55);
}

TEST(Registry, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.AddCounter("weird_total", "line1\nline2 \\ end", {"v"}).WithLabels({"a\"b\\c\nd"}).Inc();
  const std::string text = registry.Render();
  EXPECT_NE(text.find("weird_total{v=\"a\\\"b\\\\c\\nd\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP weird_total line1\\nline2 \\\\ end"), std::string::npos) << text;
  const Parsed parsed = Parse(text);
  EXPECT_EQ(parsed.helps.at("weird_total"), "line1\nline2 \\ end");
}

TEST(Registry, SameRegistrationReturnsTheSameFamily) {
  Registry registry;
  auto& a = registry.AddCounter("x_total", "x", {"l"});
  auto& b = registry.AddCounter("x_total", "x", {"l"});
  EXPECT_EQ(&a, &b);
  EXPECT_THROW(registry.AddGauge("x_total", "x", {"l"}), std::logic_error);
  EXPECT_THROW(registry.AddCounter("x_total", "x", {"other"}), std::logic_error);
  EXPECT_THROW(registry.AddCounter("bad-name", "x"), std::logic_error);
  EXPECT_THROW(registry.AddCounter("ok_total", "x", {"__reserved"}), std::logic_error);
  EXPECT_THROW(a.WithLabels({}), std::logic_error);
}

TEST(Registry, ConcurrentUpdatesAreNotLost) {
  Registry registry;
  Counter& counter = registry.AddCounter("c_total", "c").Get();
  Histogram& histogram = registry.AddHistogram("h_seconds", "h").Get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.Inc();
        histogram.Observe(0.001);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), 40000);
  EXPECT_EQ(histogram.Take().count, 40000u);
}

TEST(FormatSampleValue, UsesPrometheusSpellings) {
  EXPECT_EQ(FormatSampleValue(3), "3");
  EXPECT_EQ(FormatSampleValue(-2), "-2");
  EXPECT_EQ(FormatSampleValue(0.25), "0.25");
  EXPECT_EQ(FormatSampleValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatSampleValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatSampleValue(NAN), "NaN");
}

}  // namespace
}  // namespace cdc::metrics

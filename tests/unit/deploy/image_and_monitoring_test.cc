// The rest of deploy/, checked as far as this machine allows (no Docker engine): every YAML/JSON
// file parses; the Dockerfile is multi-stage and non-root with no secrets; the systemd units run
// the binaries with restarts and hardening; the alerts and the dashboard only use metrics the
// binaries export. (manifests_test.cc checks compose and Kubernetes.)
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/api_metrics.h"
#include "common/metrics/registry.h"
#include "consumer/consumer_metrics.h"
#include "producer/producer_metrics.h"
#include "tests/unit/deploy/deploy_files.h"

namespace cdc::deploy_test {
namespace {

std::vector<fs::path> FilesWithExtensions(const std::set<std::string>& extensions) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(DeployDir())) {
    if (entry.is_regular_file() && extensions.count(entry.path().extension().string()) > 0) {
      out.push_back(entry.path());
    }
  }
  return out;
}

TEST(DeployFiles, EveryYamlAndJsonFileParses) {
  size_t yaml_files = 0;
  for (const fs::path& path : FilesWithExtensions({".yml", ".yaml"})) {
    SCOPED_TRACE(path.string());
    std::vector<YAML::Node> documents;
    ASSERT_NO_THROW(documents = YAML::LoadAllFromFile(path.string()));
    EXPECT_FALSE(documents.empty());
    for (const YAML::Node& document : documents) EXPECT_TRUE(document.IsMap());
    ++yaml_files;
  }
  size_t json_files = 0;
  for (const fs::path& path : FilesWithExtensions({".json"})) {
    SCOPED_TRACE(path.string());
    EXPECT_TRUE(nlohmann::json::accept(ReadText(path)));
    ++json_files;
  }
  // compose, its config, k8s (5), prometheus (3); the dashboard.
  EXPECT_GE(yaml_files, 10U);
  EXPECT_GE(json_files, 1U);
}

// Dockerfile instructions with line continuations joined: {INSTRUCTION, arguments}.
std::vector<std::pair<std::string, std::string>> DockerInstructions(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  std::string pending;
  while (std::getline(in, line)) {
    if (pending.empty() && (line.empty() || line[0] == '#')) continue;
    if (!line.empty() && line.back() == '\\') {
      pending += line.substr(0, line.size() - 1) + " ";
      continue;
    }
    pending += line;
    const size_t space = pending.find(' ');
    out.emplace_back(pending.substr(0, space),
                     space == std::string::npos ? "" : pending.substr(space + 1));
    pending.clear();
  }
  return out;
}

TEST(Dockerfile, MultiStageNonRootWithHealthcheckAndNoSecrets) {
  const auto instructions = DockerInstructions(ReadText(DeployDir() / "Dockerfile"));
  std::map<std::string, std::vector<std::string>> stage_instructions;  // by stage name
  std::string stage;
  std::vector<std::string> stages;
  for (const auto& [instruction, arguments] : instructions) {
    if (instruction == "FROM") {
      const std::smatch match = [&] {
        std::smatch m;
        std::regex_search(arguments, m, std::regex(R"(AS (\S+)$)"));
        return m;
      }();
      ASSERT_FALSE(match.empty()) << "every stage is named: FROM " << arguments;
      stage = match[1];
      stages.push_back(stage);
    }
    stage_instructions[stage].push_back(instruction + " " + arguments);
    if (instruction == "ENV" || instruction == "ARG") {
      EXPECT_FALSE(
          std::regex_search(arguments, std::regex("PASSWORD|SECRET|TOKEN|_KEY", std::regex::icase)))
          << "no secrets in the image: " << instruction << " " << arguments;
    }
    if (instruction == "COPY" && arguments.find("--from=") == std::string::npos) {
      std::istringstream words(arguments);
      std::string source;
      words >> source;
      EXPECT_TRUE(fs::exists(fs::path(CDC_SOURCE_DIR) / source)) << "COPY " << source;
    }
  }
  EXPECT_EQ(stages,
            (std::vector<std::string>{"build", "runtime", "oracle-client", "runtime-oracle"}));
  const std::regex base_image(R"(^ARG DEBIAN_IMAGE=(\S+))");
  bool pinned_base = false;
  for (const auto& [instruction, arguments] : instructions) {
    std::smatch match;
    const std::string line = instruction + " " + arguments;
    if (std::regex_search(line, match, base_image)) {
      pinned_base = IsPinned(match[1]) && match[1].str().rfind("debian:12", 0) == 0;
    }
  }
  EXPECT_TRUE(pinned_base) << "the base image is a pinned Debian 12 tag";
  for (const std::string final_stage : {"runtime", "runtime-oracle"}) {
    SCOPED_TRACE(final_stage);
    const std::vector<std::string>& lines = stage_instructions[final_stage];
    std::string last_user;
    for (const std::string& line : lines) {
      if (line.rfind("USER ", 0) == 0) last_user = line.substr(5);
      EXPECT_FALSE(std::regex_search(line, std::regex(R"(-dev\b|build-essential|cmake)")))
          << "only runtime libraries in a final stage: " << line;
    }
    EXPECT_FALSE(last_user.empty());
    EXPECT_NE(last_user.rfind("0", 0), 0U) << "USER " << last_user;
    EXPECT_NE(last_user.rfind("root", 0), 0U) << "USER " << last_user;
  }
  const std::vector<std::string>& runtime = stage_instructions["runtime"];
  auto has = [&](const std::string& prefix) {
    return std::any_of(runtime.begin(), runtime.end(),
                       [&](const std::string& line) { return line.rfind(prefix, 0) == 0; });
  };
  EXPECT_TRUE(has("HEALTHCHECK "));
  EXPECT_TRUE(has("ENTRYPOINT "));
  EXPECT_TRUE(has("CMD "));
  // The Oracle client delivers text in NLS_LANG's character set (US7ASCII without it: every
  // non-ASCII character a '?'); cdc-producer refuses a source that does not deliver UTF-8.
  const std::vector<std::string>& oracle = stage_instructions["runtime-oracle"];
  EXPECT_TRUE(std::any_of(oracle.begin(), oracle.end(), [](const std::string& line) {
    return std::regex_search(line, std::regex(R"(^ENV NLS_LANG=\w+_\w+\.AL32UTF8$)"));
  })) << "the runtime-oracle stage sets NLS_LANG to an AL32UTF8 character set";
}

// key=value lines of a systemd unit (the last value of a repeated key wins; all kept in order).
std::multimap<std::string, std::string> UnitSettings(const fs::path& path) {
  std::multimap<std::string, std::string> out;
  std::istringstream in(ReadText(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == '[') continue;
    const size_t equals = line.find('=');
    if (equals != std::string::npos) out.emplace(line.substr(0, equals), line.substr(equals + 1));
  }
  return out;
}

TEST(Systemd, UnitsRunTheBinariesWithRestartsAndHardening) {
  for (const std::string binary : {"cdc-producer", "cdc-consumer", "cdc-api"}) {
    SCOPED_TRACE(binary);
    const auto unit = UnitSettings(DeployDir() / "systemd" / (binary + ".service"));
    auto value = [&](const std::string& key) {
      auto [first, last] = unit.equal_range(key);
      return first == last ? std::string("<unset>") : std::prev(last)->second;
    };
    EXPECT_EQ(value("ExecStart"),
              "/usr/local/bin/" + binary + " run --config /etc/cdc/config.yaml");
    EXPECT_EQ(value("Restart"), "on-failure");
    EXPECT_EQ(value("RestartPreventExitStatus"), "2") << "a config error is not retried";
    EXPECT_EQ(value("User"), "cdc");
    EXPECT_EQ(value("NoNewPrivileges"), "yes");
    EXPECT_EQ(value("ProtectSystem"), "strict");
    EXPECT_EQ(value("ProtectHome"), "yes");
    EXPECT_EQ(value("PrivateTmp"), "yes");
    EXPECT_EQ(value("CapabilityBoundingSet"), "");
    EXPECT_EQ(value("EnvironmentFile"), "-/etc/cdc/secrets.env");
  }
}

// The metric names the binaries register (from their registries' rendering) plus cdc_ready.
std::set<std::string> ExportedMetrics() {
  metrics::Registry registry;
  producer::ProducerMetrics producer_metrics(registry);
  consumer::ConsumerMetrics consumer_metrics(registry);
  api::ApiMetrics api_metrics(registry);
  const std::string text = registry.Render() + metrics::RenderReadyGauge(true);
  std::set<std::string> names;
  const std::regex type_line(R"(# TYPE (\S+) (\S+))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), type_line);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    names.insert(name);
    if ((*it)[2] == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
    }
  }
  return names;
}

std::set<std::string> MetricNamesIn(const std::string& expression) {
  std::set<std::string> names;
  const std::regex metric(R"(\bcdc_[a-z0-9_]+)");
  for (auto it = std::sregex_iterator(expression.begin(), expression.end(), metric);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

TEST(Monitoring, AlertsAndDashboardUseOnlyMetricsTheBinariesExport) {
  const std::set<std::string> exported = ExportedMetrics();
  ASSERT_GT(exported.size(), 30U);
  std::set<std::string> used;
  std::set<std::string> alerts;
  const YAML::Node rules = YAML::LoadFile((DeployDir() / "prometheus" / "alerts.yml").string());
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      alerts.insert(rule["alert"].as<std::string>());
      EXPECT_TRUE(rule["annotations"]["summary"]) << rule["alert"];
      for (const std::string& name : MetricNamesIn(rule["expr"].as<std::string>())) {
        EXPECT_EQ(exported.count(name), 1U) << rule["alert"] << " uses unknown metric " << name;
        used.insert(name);
      }
    }
  }
  // The alerts the operations guide promises.
  for (const std::string alert : {"CdcConsumerLagGrowing", "CdcDeadLettersIncreasing",
                                  "CdcProducerGapsExpired", "CdcNotReady", "CdcApplyLatencyHigh"}) {
    EXPECT_EQ(alerts.count(alert), 1U) << alert;
  }
  const nlohmann::json dashboard =
      nlohmann::json::parse(ReadText(DeployDir() / "grafana" / "dashboard.json"));
  size_t targets = 0;
  for (const nlohmann::json& panel : dashboard["panels"]) {
    if (panel["type"] == "row") continue;
    ASSERT_FALSE(panel["targets"].empty()) << panel["title"];
    for (const nlohmann::json& target : panel["targets"]) {
      ++targets;
      for (const std::string& name : MetricNamesIn(target["expr"].get<std::string>())) {
        EXPECT_EQ(exported.count(name), 1U) << panel["title"] << " uses unknown metric " << name;
        used.insert(name);
      }
    }
  }
  EXPECT_GE(targets, 15U);
  // Throughput, latency, lag, dead letters, API rate and latency all appear.
  for (const std::string name :
       {"cdc_producer_events_published_total", "cdc_consumer_events_applied_total",
        "cdc_consumer_end_to_end_latency_seconds_bucket", "cdc_consumer_lag",
        "cdc_consumer_dead_letters_total", "cdc_api_requests_total",
        "cdc_api_request_duration_seconds_bucket", "cdc_ready"}) {
    EXPECT_EQ(used.count(name), 1U) << name;
  }
}

}  // namespace
}  // namespace cdc::deploy_test

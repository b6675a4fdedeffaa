// The deployment files in deploy/ checked as far as this machine allows (no Docker engine, no
// Kubernetes, no Oracle): every YAML/JSON file parses; the compose file has its services, pinned
// images, health checks and start-up conditions; the Kubernetes manifests are probed, hardened and
// carry a config that the binaries' own loader and settings accept with the environment each
// Deployment provides; the Dockerfile is multi-stage and non-root with no secrets; the systemd
// units run the binaries with restarts and hardening; the alerts and the dashboard only use
// metrics the binaries export. (tests/deploy/tools_test.sh runs the external validators.)
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "api/api_metrics.h"
#include "api/settings.h"
#include "common/config/config.h"
#include "common/metrics/registry.h"
#include "consumer/consumer_metrics.h"
#include "consumer/settings.h"
#include "producer/producer_metrics.h"
#include "producer/settings.h"

namespace cdc {
namespace {

namespace fs = std::filesystem;

fs::path DeployDir() { return fs::path(CDC_SOURCE_DIR) / "deploy"; }

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// yaml-cpp does not implement the `<<` merge key; compose files use it for shared settings.
YAML::Node Merged(const YAML::Node& node) {
  if (!node.IsMap() || !node["<<"]) return node;
  YAML::Node out = YAML::Clone(node["<<"]);
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    if (key != "<<") out[key] = entry.second;
  }
  return out;
}

// An image reference with a tag other than `latest`, or a digest.
bool IsPinned(const std::string& image) {
  if (image.find("@sha256:") != std::string::npos) return true;
  const size_t slash = image.rfind('/');
  const std::string last = slash == std::string::npos ? image : image.substr(slash + 1);
  const size_t colon = last.find(':');
  if (colon == std::string::npos) return false;
  const std::string tag = last.substr(colon + 1);
  return !tag.empty() && tag != "latest" && tag.find('$') == std::string::npos;
}

// Environment with a placeholder value for each name, as the container would have it.
config::EnvironmentMap Placeholders(const std::set<std::string>& names) {
  config::EnvironmentMap env;
  for (const std::string& name : names) env[name] = "placeholder-" + name;
  return env;
}

// A tokens file the API settings can read (the real one is a mounted secret).
std::string TokensFile() {
  const fs::path path = fs::temp_directory_path() / "cdc_manifests_test_tokens";
  std::ofstream(path) << "a-test-token-of-some-length\n";
  return path.string();
}

// Loads `yaml_text` through the project's loader and the settings of `binary`; returns the
// port the binary's status endpoint listens on. Fails the test on any configuration error.
uint16_t LoadAs(const std::string& binary, const std::string& yaml_text, config::EnvironmentMap env,
                const std::string& where) {
  SCOPED_TRACE(where + " as " + binary);
  env["CDC_API_TOKENS_FILE"] = TokensFile();
  try {
    const config::Config config =
        config::Config::Parse(yaml_text, config::ProjectSchema(), env, where);
    if (binary == "cdc-producer") {
      const producer::ProducerSettings settings = producer::ProducerSettings::FromConfig(config);
      EXPECT_FALSE(settings.tables.empty());
      return settings.metrics_listen.port;
    }
    if (binary == "cdc-consumer") {
      return consumer::ConsumerSettings::FromConfig(config).metrics_listen.port;
    }
    if (binary == "cdc-api") return api::ApiSettings::FromConfig(config).listen.port;
    ADD_FAILURE() << "unknown binary " << binary;
  } catch (const config::ConfigError& e) {
    std::string problems;
    for (const std::string& problem : e.problems()) problems += "\n  " + problem;
    ADD_FAILURE() << "configuration rejected:" << problems;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "configuration rejected: " << e.what();
  }
  return 0;
}

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

class Compose : public ::testing::Test {
 protected:
  void SetUp() override {
    compose_ = YAML::LoadFile((DeployDir() / "docker-compose.yml").string());
    ASSERT_TRUE(compose_["services"].IsMap());
  }
  YAML::Node Service(const std::string& name) { return Merged(compose_["services"][name]); }

  YAML::Node compose_;
};

TEST_F(Compose, HasTheStackWithPinnedImagesAndHealthChecks) {
  std::set<std::string> names;
  for (const auto& entry : compose_["services"]) names.insert(entry.first.as<std::string>());
  EXPECT_EQ(names,
            (std::set<std::string>{"oracle", "kafka", "postgres", "producer", "consumer", "api"}));
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const YAML::Node service = Service(name);
    ASSERT_TRUE(service["image"]) << "every service names its image";
    EXPECT_TRUE(IsPinned(service["image"].as<std::string>())) << service["image"];
  }
  EXPECT_EQ(Service("oracle")["image"].as<std::string>().rfind("gvenzl/oracle-xe:", 0), 0U);
  EXPECT_EQ(Service("postgres")["image"].as<std::string>().rfind("postgres:15.", 0), 0U);
  EXPECT_NE(
      Service("kafka")["environment"]["KAFKA_PROCESS_ROLES"].as<std::string>().find("controller"),
      std::string::npos)
      << "one Kafka node in KRaft mode (broker and controller), no ZooKeeper";
  for (const std::string name : {"oracle", "kafka", "postgres"}) {
    EXPECT_TRUE(Service(name)["healthcheck"]["test"]) << name;
  }
  // The databases and Kafka must be healthy before a pipeline service starts.
  const std::map<std::string, std::vector<std::string>> needs = {
      {"producer", {"oracle", "kafka"}},
      {"consumer", {"postgres", "kafka"}},
      {"api", {"postgres"}}};
  for (const auto& [service, dependencies] : needs) {
    for (const std::string& dependency : dependencies) {
      EXPECT_EQ(Service(service)["depends_on"][dependency]["condition"].as<std::string>(""),
                "service_healthy")
          << service << " -> " << dependency;
    }
  }
}

TEST_F(Compose, OracleInitScriptsAreMountedInOrder) {
  bool mounted = false;
  for (const auto& volume : Service("oracle")["volumes"]) {
    mounted |=
        volume.as<std::string>() == "./compose/oracle-init:/container-entrypoint-initdb.d:ro";
  }
  EXPECT_TRUE(mounted);
  std::vector<std::string> scripts;
  for (const auto& entry : fs::directory_iterator(DeployDir() / "compose" / "oracle-init")) {
    if (entry.path().extension() == ".sql") scripts.push_back(entry.path().filename().string());
  }
  std::sort(scripts.begin(), scripts.end());
  EXPECT_EQ(scripts, (std::vector<std::string>{"01_demo_schema.sql", "02_change_tables.sql",
                                               "03_demo_changes.sql"}));
}

TEST_F(Compose, EveryPipelineServiceLoadsTheConfigWithTheEnvironmentItIsGiven) {
  const std::string config_text = ReadText(DeployDir() / "compose" / "config.yaml");
  const std::map<std::string, std::string> binaries = {
      {"producer", "cdc-producer"}, {"consumer", "cdc-consumer"}, {"api", "cdc-api"}};
  for (const auto& [name, binary] : binaries) {
    SCOPED_TRACE(name);
    const YAML::Node service = Service(name);
    EXPECT_EQ(service["command"][0].as<std::string>(), binary);
    EXPECT_TRUE(service["read_only"].as<bool>(false));
    std::set<std::string> names;
    std::set<std::string> secrets;
    for (const auto& secret : service["secrets"]) secrets.insert(secret.as<std::string>());
    for (const auto& entry : service["environment"]) {
      std::string variable = entry.first.as<std::string>();
      const std::string value = entry.second.as<std::string>();
      // The image's entrypoint turns NAME_FILE into NAME; the file must be a granted secret.
      if (variable.size() > 5 && variable.ends_with("_FILE")) {
        EXPECT_EQ(value.rfind("/run/secrets/", 0), 0U) << variable;
        EXPECT_EQ(secrets.count(value.substr(13)), 1U) << variable << " needs secret " << value;
        variable.resize(variable.size() - 5);
      }
      names.insert(variable);
    }
    const uint16_t port = LoadAs(binary, config_text, Placeholders(names), "compose/config.yaml");
    EXPECT_EQ(std::to_string(port), service["environment"]["CDC_HEALTH_PORT"].as<std::string>())
        << "the image's HEALTHCHECK asks the port the binary listens on";
  }
}

// All documents of all files in deploy/k8s, by kind.
std::multimap<std::string, YAML::Node> KubernetesObjects() {
  std::multimap<std::string, YAML::Node> objects;
  for (const auto& entry : fs::directory_iterator(DeployDir() / "k8s")) {
    if (entry.path().extension() != ".yaml") continue;
    for (const YAML::Node& document : YAML::LoadAllFromFile(entry.path().string())) {
      objects.emplace(document["kind"].as<std::string>(), document);
    }
  }
  return objects;
}

TEST(Kubernetes, DeploymentsAreProbedLimitedAndHardened) {
  const auto objects = KubernetesObjects();
  std::set<std::string> binaries;
  for (auto [it, end] = objects.equal_range("Deployment"); it != end; ++it) {
    const YAML::Node& deployment = it->second;
    const std::string name = deployment["metadata"]["name"].as<std::string>();
    SCOPED_TRACE(name);
    const YAML::Node pod = deployment["spec"]["template"]["spec"];
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>(false));
    EXPECT_NE(pod["securityContext"]["runAsUser"].as<int>(0), 0);
    // The selector must select the pod template.
    for (const auto& label : deployment["spec"]["selector"]["matchLabels"]) {
      EXPECT_EQ(deployment["spec"]["template"]["metadata"]["labels"][label.first.as<std::string>()]
                    .as<std::string>(""),
                label.second.as<std::string>());
    }
    ASSERT_EQ(pod["containers"].size(), 1U);
    const YAML::Node container = pod["containers"][0];
    EXPECT_TRUE(IsPinned(container["image"].as<std::string>()));
    binaries.insert(container["args"][0].as<std::string>());
    EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/health");
    EXPECT_EQ(container["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/ready");
    for (const std::string kind : {"requests", "limits"}) {
      EXPECT_TRUE(container["resources"][kind]["cpu"]) << kind;
      EXPECT_TRUE(container["resources"][kind]["memory"]) << kind;
    }
    EXPECT_TRUE(container["securityContext"]["readOnlyRootFilesystem"].as<bool>(false));
    EXPECT_FALSE(container["securityContext"]["allowPrivilegeEscalation"].as<bool>(true));
    // Secrets come from the Secret, never as literal values.
    for (const auto& env : container["env"]) {
      const std::string variable = env["name"].as<std::string>();
      if (std::regex_search(variable, std::regex("PASSWORD|TOKEN|SECRET"))) {
        EXPECT_FALSE(env["value"]) << variable;
        EXPECT_TRUE(env["valueFrom"]["secretKeyRef"]["name"]) << variable;
      }
    }
  }
  EXPECT_EQ(binaries, (std::set<std::string>{"cdc-producer", "cdc-consumer", "cdc-api"}));
}

TEST(Kubernetes, ConfigMapLoadsThroughTheBinariesOwnLoaderForEveryDeployment) {
  const auto objects = KubernetesObjects();
  ASSERT_EQ(objects.count("ConfigMap"), 1U);
  const YAML::Node config_map = objects.find("ConfigMap")->second;
  const std::string config_text = config_map["data"]["config.yaml"].as<std::string>();
  size_t deployments = 0;
  for (auto [it, end] = objects.equal_range("Deployment"); it != end; ++it) {
    ++deployments;
    const YAML::Node pod = it->second["spec"]["template"]["spec"];
    const YAML::Node container = pod["containers"][0];
    const std::string binary = container["args"][0].as<std::string>();
    SCOPED_TRACE(binary);
    // --config names the file the ConfigMap is mounted as.
    const YAML::Node args = container["args"];
    ASSERT_EQ(args[2].as<std::string>(), "--config");
    bool config_mounted = false;
    for (const auto& mount : container["volumeMounts"]) {
      if (mount["mountPath"].as<std::string>() != args[3].as<std::string>()) continue;
      for (const auto& volume : pod["volumes"]) {
        if (volume["name"].as<std::string>() == mount["name"].as<std::string>()) {
          config_mounted = volume["configMap"]["name"].as<std::string>("") ==
                           config_map["metadata"]["name"].as<std::string>();
        }
      }
    }
    EXPECT_TRUE(config_mounted) << args[3];
    std::set<std::string> names;
    for (const auto& env : container["env"]) names.insert(env["name"].as<std::string>());
    const uint16_t port = LoadAs(binary, config_text, Placeholders(names), "k8s/configmap.yaml");
    // The probes ask the port the binary's status endpoint listens on.
    const std::string probe_port = container["readinessProbe"]["httpGet"]["port"].as<std::string>();
    bool port_matches = false;
    for (const auto& declared : container["ports"]) {
      if (declared["name"].as<std::string>() == probe_port) {
        port_matches = declared["containerPort"].as<int>() == port;
      }
    }
    EXPECT_TRUE(port_matches) << "probe port " << probe_port << " vs listen port " << port;
  }
  EXPECT_EQ(deployments, 3U);
}

TEST(Kubernetes, ProducerIsOneReplicaRecreatedAndTheApiHasAService) {
  const auto objects = KubernetesObjects();
  for (auto [it, end] = objects.equal_range("Deployment"); it != end; ++it) {
    const YAML::Node spec = it->second["spec"];
    if (spec["template"]["spec"]["containers"][0]["args"][0].as<std::string>() != "cdc-producer") {
      continue;
    }
    EXPECT_EQ(spec["replicas"].as<int>(), 1) << "a change table has exactly one reader";
    EXPECT_EQ(spec["strategy"]["type"].as<std::string>(), "Recreate")
        << "a rolling update would run two readers at once";
  }
  ASSERT_EQ(objects.count("Service"), 1U);
  EXPECT_EQ(objects.find("Service")
                ->second["spec"]["selector"]["app.kubernetes.io/name"]
                .as<std::string>(),
            "cdc-api");
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
}  // namespace cdc

// The compose file and the Kubernetes manifests in deploy/, checked as far as this machine allows
// (no Docker engine, no Kubernetes): the compose file has its services, pinned images, health
// checks and start-up conditions; the Kubernetes manifests are probed and hardened; both carry a
// config that the binaries' own loader and settings accept with the environment each service or
// Deployment provides. (image_and_monitoring_test.cc checks the rest of deploy/;
// tests/deploy/tools_test.sh runs the external validators.)
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "api/settings.h"
#include "common/config/config.h"
#include "consumer/settings.h"
#include "producer/settings.h"
#include "tests/unit/deploy/deploy_files.h"

namespace cdc::deploy_test {
namespace {

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

// The environment a container would have: each variable the service defines, with a value.
config::EnvironmentMap EnvironmentWith(const std::set<std::string>& names) {
  config::EnvironmentMap env;
  for (const std::string& name : names) env[name] = "value-of-" + name;
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
    const uint16_t port =
        LoadAs(binary, config_text, EnvironmentWith(names), "compose/config.yaml");
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
    const uint16_t port = LoadAs(binary, config_text, EnvironmentWith(names), "k8s/configmap.yaml");
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

}  // namespace
}  // namespace cdc::deploy_test

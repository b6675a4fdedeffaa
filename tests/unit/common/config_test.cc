#include "common/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/harness/process.h"

namespace cdc::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The project schema plus a test section that exercises every value type.
ConfigSchema TestSchema() {
  ConfigSchema schema = ProjectSchema();
  schema.sections.push_back(
      KeySpec::Section("demo", {
                                   KeySpec::Int("batch_size", 1, 100000).Default("5000"),
                                   KeySpec::Bool("purge").Default("false"),
                                   KeySpec::Double("ratio").Default("0.5"),
                                   KeySpec::StringList("topics").Default("[]"),
                                   KeySpec::String("password").Secret(),
                                   KeySpec::String("url"),
                                   KeySpec::List("tables",
                                                 {
                                                     KeySpec::String("name").Required(),
                                                     KeySpec::StringList("key"),
                                                     KeySpec::String("topic"),
                                                 }),
                               }));
  return schema;
}

constexpr const char* kMinimal = "pipeline:\n  name: shop\n";

std::vector<std::string> ProblemsOf(const std::string& yaml, const EnvironmentMap& env = {}) {
  try {
    Config::Parse(yaml, TestSchema(), env);
  } catch (const ConfigError& e) {
    return e.problems();
  }
  return {};
}

TEST(Config, DefaultsApplyWhenKeysAreAbsent) {
  const Config config = Config::Parse(kMinimal, TestSchema(), {});
  EXPECT_EQ(config.GetString("pipeline.name"), "shop");
  EXPECT_EQ(config.GetString("kafka.bootstrap_servers"), "127.0.0.1:9092");
  EXPECT_EQ(config.GetString("kafka.format"), "avro");
  EXPECT_EQ(config.GetString("log.level"), "info");
  EXPECT_EQ(config.GetInt("demo.batch_size"), 5000);
  EXPECT_FALSE(config.GetBool("demo.purge"));
  EXPECT_DOUBLE_EQ(config.GetDouble("demo.ratio"), 0.5);
  EXPECT_TRUE(config.GetStringList("demo.topics").empty());
  EXPECT_TRUE(config.GetStringMap("kafka.properties").empty());
  EXPECT_FALSE(config.FindString("demo.url").has_value());
  EXPECT_EQ(config.GetString("demo.url", "fallback"), "fallback");
  EXPECT_FALSE(config.IsSet("kafka.format"));
  EXPECT_TRUE(config.IsSet("pipeline.name"));
}

TEST(Config, ReadsTypedValuesAndListsOfMaps) {
  const Config config = Config::Parse(R"(
pipeline: {name: shop}
kafka:
  format: json
  properties:
    security.protocol: SASL_SSL
    sasl.mechanism: PLAIN
demo:
  batch_size: 250
  purge: true
  ratio: 1.25
  topics: [a, b]
  tables:
    - name: SHOP.ORDERS
      key: [ORDER_ID]
    - name: SHOP.LINES
      key: [ORDER_ID, LINE_NO]
      topic: cdc.lines
)",
                                      TestSchema(), {});
  EXPECT_EQ(config.GetString("kafka.format"), "json");
  EXPECT_EQ(config.GetStringMap("kafka.properties").at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(config.GetInt("demo.batch_size"), 250);
  EXPECT_TRUE(config.GetBool("demo.purge"));
  EXPECT_DOUBLE_EQ(config.GetDouble("demo.ratio"), 1.25);
  EXPECT_THAT(config.GetStringList("demo.topics"), ElementsAre("a", "b"));
  const std::vector<ConfigView> tables = config.GetList("demo.tables");
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].GetString("name"), "SHOP.ORDERS");
  EXPECT_FALSE(tables[0].FindString("topic").has_value());
  EXPECT_THAT(tables[1].GetStringList("key"), ElementsAre("ORDER_ID", "LINE_NO"));
  EXPECT_EQ(tables[1].GetString("topic"), "cdc.lines");
}

TEST(Config, MisspelledKeyNamesThePathAndSuggests) {
  const auto problems = ProblemsOf("pipeline: {name: x}\nkafka:\n  bootstrp_servers: h:1\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "kafka.bootstrp_servers: unknown key (did you mean bootstrap_servers?)");
}

TEST(Config, MisspelledSectionIsAnError) {
  const auto problems = ProblemsOf("pipeline: {name: x}\nkafak:\n  format: json\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "kafak: unknown key (did you mean kafka?)");
}

TEST(Config, UnknownKeyInsideAListItemNamesTheItem) {
  const auto problems =
      ProblemsOf("pipeline: {name: x}\ndemo:\n  tables:\n    - name: A\n      tpoic: t\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "demo.tables[0].tpoic: unknown key (did you mean topic?)");
}

TEST(Config, WrongEnumValueNamesKeyAndChoices) {
  const auto problems = ProblemsOf("pipeline: {name: x}\nkafka:\n  format: avor\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "kafka.format: expected one of avro|json, got \"avor\"");
}

TEST(Config, WrongTypesNameTheKey) {
  const auto problems = ProblemsOf(R"(
pipeline: {name: x}
demo:
  batch_size: lots
  purge: maybe
  ratio: [1]
  topics: notalist
kafka:
  properties: [a]
)");
  EXPECT_THAT(problems, ::testing::UnorderedElementsAre(
                            "demo.batch_size: expected an integer, got \"lots\"",
                            "demo.purge: expected a boolean (true|false), got \"maybe\"",
                            "demo.ratio: expected a number, got a list",
                            "demo.topics: expected a list of strings, got \"notalist\"",
                            "kafka.properties: expected a map of key: value, got a list"));
}

TEST(Config, IntegerOutOfRangeIsRejected) {
  const auto problems = ProblemsOf("pipeline: {name: x}\ndemo:\n  batch_size: 0\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "demo.batch_size: expected an integer >= 1 and <= 100000, got \"0\"");
}

TEST(Config, MissingRequiredKeysAreReported) {
  EXPECT_THAT(ProblemsOf("log: {level: info}\n"),
              ElementsAre("pipeline.name: required key is missing"));
  EXPECT_THAT(ProblemsOf("pipeline: {name: x}\ndemo:\n  tables:\n    - topic: t\n"),
              ElementsAre("demo.tables[0].name: required key is missing"));
  EXPECT_THAT(ProblemsOf(""), ElementsAre("pipeline.name: required key is missing"));
}

TEST(Config, ReportsEveryProblemAtOnce) {
  try {
    Config::Parse("kafka:\n  format: xml\n  nope: 1\n", TestSchema(), {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems().size(), 3u);
    EXPECT_EQ(e.retry_class(), RetryClass::kFatal);
    EXPECT_THAT(e.what(), HasSubstr("kafka.format"));
    EXPECT_THAT(e.what(), HasSubstr("kafka.nope"));
    EXPECT_THAT(e.what(), HasSubstr("pipeline.name"));
  }
}

TEST(Config, ExpandsEnvironmentVariables) {
  const EnvironmentMap env = {{"PGPASSWORD", "s3cret"}, {"HOST", "db.internal"}};
  const Config config = Config::Parse(R"(
pipeline: {name: "${PIPELINE:-default-pipeline}"}
demo:
  url: "postgresql://cdc:${PGPASSWORD}@${HOST}:5432/replica"
  password: "$${literal}"
)",
                                      TestSchema(), env);
  EXPECT_EQ(config.GetString("pipeline.name"), "default-pipeline");
  EXPECT_EQ(config.GetString("demo.url"), "postgresql://cdc:s3cret@db.internal:5432/replica");
  EXPECT_EQ(config.GetString("demo.password"), "${literal}");
}

TEST(Config, UnsetVariableWithoutDefaultNamesKeyAndVariable) {
  EXPECT_THAT(ProblemsOf("pipeline: {name: x}\ndemo:\n  url: \"${NOPE}\"\n"),
              ElementsAre("demo.url: environment variable NOPE is not set"));
  EXPECT_THAT(ProblemsOf("pipeline: {name: x}\ndemo:\n  url: \"${NOPE\"\n"),
              ElementsAre("demo.url: unterminated ${ in value"));
}

TEST(Config, EnvironmentOverridesWinOverTheFile) {
  const EnvironmentMap env = {{"CDC_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092"},
                              {"CDC_KAFKA_FORMAT", "json"},
                              {"CDC_DEMO_TOPICS", "a,b,c"},
                              {"CDC_DEMO_BATCH_SIZE", "42"},
                              {"CDC_PIPELINE_NAME", "from-env"},
                              {"UNRELATED", "x"}};
  const Config config =
      Config::Parse("pipeline: {name: x}\nkafka: {format: avro}\n", TestSchema(), env);
  EXPECT_EQ(config.GetString("kafka.bootstrap_servers"), "k1:9092,k2:9092");
  EXPECT_EQ(config.GetString("kafka.format"), "json");
  EXPECT_THAT(config.GetStringList("demo.topics"), ElementsAre("a", "b", "c"));
  EXPECT_EQ(config.GetInt("demo.batch_size"), 42);
  EXPECT_EQ(config.GetString("pipeline.name"), "from-env");
}

TEST(Config, BadOverrideNamesTheVariable) {
  EXPECT_THAT(ProblemsOf(kMinimal, {{"CDC_KAFKA_FORMAT", "xml"}}),
              ElementsAre("kafka.format (from CDC_KAFKA_FORMAT): expected one of avro|json, got "
                          "\"xml\""));
  EXPECT_THAT(
      ProblemsOf(kMinimal, {{"CDC_KAFKA_BOOTSTRP", "x"}}),
      ElementsAre("CDC_KAFKA_BOOTSTRP: environment override names no key of section kafka"));
}

TEST(Config, RedactedDumpHidesEverySecret) {
  const EnvironmentMap env = {{"PW", "hunter2"}};
  const Config config = Config::Parse(R"(
pipeline: {name: shop}
kafka:
  properties:
    sasl.username: cdc
    sasl.password: "${PW}"
    ssl.key.password: keypass
demo:
  password: topsecret
  url: "postgresql://cdc:${PW}@db/replica"
  tables:
    - name: "Driver=X;Uid=u;Pwd=${PW};"
)",
                                      TestSchema(), env);
  const std::string dump = config.RedactedDump();
  EXPECT_EQ(dump.find("hunter2"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("keypass"), std::string::npos) << dump;
  EXPECT_EQ(dump.find("topsecret"), std::string::npos) << dump;
  EXPECT_THAT(dump, HasSubstr("sasl.username: cdc"));
  EXPECT_THAT(dump, HasSubstr("sasl.password: \"***\""));
  EXPECT_THAT(dump, HasSubstr("postgresql://cdc:***@db/replica"));
  EXPECT_THAT(dump, HasSubstr("Pwd=***;"));
  EXPECT_THAT(dump, HasSubstr("format: avro"));  // defaults are part of the effective config
}

TEST(Config, LoadReadsAFileAndReportsAMissingOne) {
  cdc::testing::TempDir dir;
  const std::string path = dir.File("config.yaml");
  std::ofstream(path) << "pipeline:\n  name: from-file\n";
  EXPECT_EQ(Config::Load(path, TestSchema(), {}).GetString("pipeline.name"), "from-file");
  try {
    Config::Load(dir.File("missing.yaml"), TestSchema(), {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.problems()[0], HasSubstr("cannot read file"));
  }
}

TEST(Config, InvalidYamlIsAConfigError) {
  try {
    Config::Parse("pipeline: [unclosed\n", TestSchema(), {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.problems()[0], HasSubstr("not valid YAML"));
  }
}

TEST(Config, ReadingAnUndeclaredPathIsAProgrammerError) {
  const Config config = Config::Parse(kMinimal, TestSchema(), {});
  EXPECT_THROW(config.GetString("kafka.nope"), std::logic_error);
  EXPECT_THROW(config.GetInt("kafka.format"), std::logic_error);
}

TEST(Config, EveryProjectDefaultValidates) {
  // Each key's default must parse as its own type.
  const Config config = Config::Parse(kMinimal, ProjectSchema(), {});
  for (const KeySpec& section : ProjectSchema().sections) {
    for (const KeySpec& key : section.children) {
      const std::string path = section.name + "." + key.name;
      if (!key.default_value) continue;
      switch (key.type) {
        case ValueType::kInt:
          EXPECT_NO_THROW(config.GetInt(path)) << path;
          break;
        case ValueType::kBool:
          EXPECT_NO_THROW(config.GetBool(path)) << path;
          break;
        case ValueType::kStringList:
          EXPECT_NO_THROW(config.GetStringList(path)) << path;
          break;
        case ValueType::kStringMap:
          EXPECT_NO_THROW(config.GetStringMap(path)) << path;
          break;
        case ValueType::kList:
          EXPECT_NO_THROW(config.GetList(path)) << path;
          break;
        default:
          EXPECT_NO_THROW(config.GetString(path)) << path;
          break;
      }
    }
  }
}

TEST(ExpandVariables, HandlesDefaultsEmptyValuesAndEscapes) {
  std::string error;
  EXPECT_EQ(*ExpandVariables("${A:-x}", {{"A", ""}}, &error), "x");
  EXPECT_EQ(*ExpandVariables("${A}", {{"A", ""}}, &error), "");
  EXPECT_EQ(*ExpandVariables("a${A}b${B:-c}", {{"A", "1"}}, &error), "a1bc");
  EXPECT_EQ(*ExpandVariables("$5 and $${x}", {}, &error), "$5 and ${x}");
  EXPECT_FALSE(ExpandVariables("${}", {}, &error).has_value());
}

TEST(OverrideVariableName, UpperCasesAndJoins) {
  EXPECT_EQ(OverrideVariableName("postgres", "url"), "CDC_POSTGRES_URL");
  EXPECT_EQ(OverrideVariableName("kafka", "bootstrap_servers"), "CDC_KAFKA_BOOTSTRAP_SERVERS");
}

}  // namespace
}  // namespace cdc::config

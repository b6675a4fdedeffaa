// The Confluent registry client against FakeSchemaRegistry (a test double: no registry server can
// be installed here) over real HTTP.
#include "common/registry/confluent_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/avro/schema.h"
#include "common/error.h"
#include "tests/harness/fake_schema_registry.h"
#include "tests/harness/process.h"
#include "tests/unit/common/avro/test_tables.h"

namespace cdc::registry {
namespace {

using ::testing::HasSubstr;

Logging& QuietLogging() {
  static Logging logging(LogFormat::kText, LogLevel::kError);
  return logging;
}

ConfluentSettings SettingsFor(const cdc::testing::FakeSchemaRegistry& fake) {
  ConfluentSettings settings;
  settings.url = fake.url();
  settings.retry = {std::chrono::milliseconds(1), std::chrono::milliseconds(10), 2.0,
                    std::chrono::milliseconds(2000)};
  return settings;
}

TEST(ConfluentRegistry, RegistersUnderTopicNameSubjectsAndCachesBothWays) {
  cdc::testing::FakeSchemaRegistry fake;
  SystemClock clock;
  ConfluentRegistry registry(SettingsFor(fake), clock, QuietLogging().Get("registry"));
  const event::TableMeta table = cdc::testing::AllTypesTable();
  const std::string value = avro::ValueSchema("cdc", table);
  const std::string key = avro::KeySchema("cdc", table);
  const int32_t value_id = registry.Register(ValueSubject("cdc.SHOP.ORDERS"), value);
  const int32_t key_id = registry.Register(KeySubject("cdc.SHOP.ORDERS"), key);
  EXPECT_NE(value_id, key_id);
  EXPECT_EQ(fake.VersionCount("cdc.SHOP.ORDERS-value"), 1u);
  EXPECT_EQ(fake.VersionCount("cdc.SHOP.ORDERS-key"), 1u);
  const int requests = fake.requests();
  EXPECT_EQ(registry.Register(ValueSubject("cdc.SHOP.ORDERS"), value), value_id);  // cached
  EXPECT_EQ(registry.Lookup(value_id), value);                                     // cached
  EXPECT_EQ(fake.requests(), requests);

  // Another client (e.g. a consumer) looks up ids it has never seen.
  ConfluentRegistry reader(SettingsFor(fake), clock, QuietLogging().Get("registry"));
  EXPECT_EQ(reader.Lookup(key_id), key);
  EXPECT_EQ(reader.Lookup(value_id), value);
}

TEST(ConfluentRegistry, UnknownIdIsAPermanentError) {
  cdc::testing::FakeSchemaRegistry fake;
  SystemClock clock;
  ConfluentRegistry registry(SettingsFor(fake), clock, QuietLogging().Get("registry"));
  try {
    registry.Lookup(999);
    FAIL();
  } catch (const PermanentError& e) {
    EXPECT_EQ(e.code(), "SCHEMA_ID");
    EXPECT_THAT(e.what(), HasSubstr("999"));
  }
}

TEST(ConfluentRegistry, TransientFailuresAreRetried) {
  cdc::testing::FakeSchemaRegistry fake;
  fake.FailNextRequests(3);
  SystemClock clock;
  ConfluentRegistry registry(SettingsFor(fake), clock, QuietLogging().Get("registry"));
  EXPECT_GT(registry.Register("t-value", R"("string")"), 0);
  EXPECT_EQ(fake.requests(), 4);
}

TEST(ConfluentRegistry, UnreachableRegistryGivesUpAsTransientAfterTheDeadline) {
  ConfluentSettings settings;
  settings.url = "http://127.0.0.1:1";
  settings.timeout = std::chrono::milliseconds(200);
  settings.retry = {std::chrono::milliseconds(1), std::chrono::milliseconds(5), 2.0,
                    std::chrono::milliseconds(300)};
  SystemClock clock;
  ConfluentRegistry registry(settings, clock, QuietLogging().Get("registry"));
  EXPECT_THROW(registry.Register("t-value", R"("string")"), TransientError);
}

TEST(ConfluentRegistry, BasicAuthIsSentAndBadCredentialsAreFatal) {
  cdc::testing::FakeSchemaRegistry fake("cdc", "s3cret");
  SystemClock clock;
  ConfluentSettings good = SettingsFor(fake);
  good.user = "cdc";
  good.password = "s3cret";
  ConfluentRegistry registry(good, clock, QuietLogging().Get("registry"));
  EXPECT_GT(registry.Register("t-value", R"("long")"), 0);
  ConfluentSettings bad = good;
  bad.password = "wrong";
  ConfluentRegistry rejected(bad, clock, QuietLogging().Get("registry"));
  try {
    rejected.Register("t-value", R"("int")");
    FAIL();
  } catch (const FatalError& e) {
    EXPECT_EQ(e.code(), "REGISTRY_AUTH");
    EXPECT_EQ(std::string(e.what()).find("wrong"), std::string::npos);
  }
}

TEST(ConfluentRegistry, TlsWithTheConfiguredCaAndFatalWithoutIt) {
  cdc::testing::TempDir dir;
  const std::string cert = dir.File("cert.pem");
  const std::string key = dir.File("key.pem");
  std::string output;
  ASSERT_EQ(cdc::testing::RunShell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
                                   "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
                                       key + " -out " + cert,
                                   &output),
            0)
      << output;
  cdc::testing::FakeSchemaRegistry fake("", "", cert, key);
  ASSERT_EQ(fake.url().rfind("https://", 0), 0u);
  SystemClock clock;
  ConfluentSettings trusted = SettingsFor(fake);
  trusted.ca_location = cert;
  ConfluentRegistry registry(trusted, clock, QuietLogging().Get("registry"));
  const int32_t id = registry.Register("t-value", R"("string")");
  EXPECT_EQ(registry.Lookup(id), R"("string")");

  ConfluentRegistry untrusted(SettingsFor(fake), clock, QuietLogging().Get("registry"));
  try {
    untrusted.Register("t-value", R"("string")");
    FAIL() << "an unverifiable certificate was accepted";
  } catch (const FatalError& e) {
    EXPECT_EQ(e.code(), "REGISTRY_TLS");
  }
}

TEST(ConfluentRegistry, RejectedSchemaIsAPermanentError) {
  cdc::testing::FakeSchemaRegistry fake;
  SystemClock clock;
  ConfluentRegistry registry(SettingsFor(fake), clock, QuietLogging().Get("registry"));
  EXPECT_THROW(registry.Register("t-value", "{not json"), PermanentError);
}

TEST(ConfluentRegistry, BadUrlIsAConfigErrorNamingTheKey) {
  SystemClock clock;
  ConfluentSettings settings;
  settings.url = "ftp://registry:8081";
  try {
    ConfluentRegistry registry(settings, clock, QuietLogging().Get("registry"));
    FAIL();
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("kafka.schema_registry_url"));
  }
}

TEST(ConfluentRegistry, SettingsComeFromTheConfigAndThePasswordIsRedacted) {
  const config::Config config = config::Config::Parse(
      "pipeline: {name: t}\nkafka:\n  schema_registry_url: https://reg.example:8081/api\n"
      "  schema_registry_user: cdc\n  schema_registry_password: hunter2\n",
      config::ProjectSchema(), {});
  const ConfluentSettings settings = ConfluentSettings::FromConfig(config);
  EXPECT_EQ(settings.url, "https://reg.example:8081/api");
  EXPECT_EQ(settings.password, "hunter2");
  EXPECT_EQ(config.RedactedDump().find("hunter2"), std::string::npos);
}

}  // namespace
}  // namespace cdc::registry

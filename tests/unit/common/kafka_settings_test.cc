#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/kafka/settings.h"

namespace cdc::kafka {
namespace {

using ::testing::HasSubstr;

TEST(BuildConf, AppliesDefaultsPropertiesAndForcedSettings) {
  KafkaSettings settings{"127.0.0.1:9092", {{"linger.ms", "50"}, {"client.id", "cdc-test"}}};
  ConfPtr conf =
      BuildConf(settings, {{"linger.ms", "5"}, {"acks", "all"}}, {{"enable.idempotence", "true"}});
  const std::string dump = RedactedConfDump(conf.get());
  // librdkafka dumps aliases under their canonical names.
  EXPECT_THAT(dump, HasSubstr("metadata.broker.list=127.0.0.1:9092\n"));
  EXPECT_THAT(dump, HasSubstr("queue.buffering.max.ms=50\n"));  // linger.ms: the user's value wins
  EXPECT_THAT(dump, HasSubstr("client.id=cdc-test\n"));
  EXPECT_THAT(dump, HasSubstr("enable.idempotence=true\n"));
}

TEST(BuildConf, RejectedPropertyNamesTheConfigKey) {
  KafkaSettings settings{"h:1", {{"no.such.property", "1"}, {"linger.ms", "soon"}}};
  try {
    BuildConf(settings, {}, {});
    FAIL();
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 2u);
    EXPECT_THAT(e.problems()[0], HasSubstr("kafka.properties.linger.ms"));
    EXPECT_THAT(e.problems()[1], HasSubstr("kafka.properties.no.such.property"));
  }
}

TEST(BuildConf, ForcedSettingsCannotBeOverridden) {
  KafkaSettings settings{"h:1", {{"enable.auto.commit", "true"}}};
  try {
    BuildConf(settings, {}, {{"enable.auto.commit", "false"}});
    FAIL();
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("kafka.properties.enable.auto.commit: cannot be overridden"));
  }
}

TEST(BuildConf, SecretsNeverAppearInErrorsOrDumps) {
  KafkaSettings good{"h:1",
                     {{"security.protocol", "SASL_PLAINTEXT"},
                      {"sasl.mechanism", "PLAIN"},
                      {"sasl.username", "cdc"},
                      {"sasl.password", "hunter2"}}};
  ConfPtr conf = BuildConf(good, {}, {});
  const std::string dump = RedactedConfDump(conf.get());
  EXPECT_EQ(dump.find("hunter2"), std::string::npos);
  EXPECT_THAT(dump, HasSubstr("sasl.password=***"));
  EXPECT_THAT(dump, HasSubstr("sasl.username=cdc"));

  KafkaSettings bad{"h:1", {{"ssl.key.password", std::string("bad\0value", 9)}}};
  try {
    BuildConf(bad, {}, {});
  } catch (const config::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("bad"), std::string::npos);
  }
}

TEST(ClassifyKafkaError, SeparatesTransientPermanentAndFatal) {
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR__TRANSPORT), RetryClass::kTransient);
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN), RetryClass::kTransient);
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), RetryClass::kTransient);
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), RetryClass::kTransient);
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR__QUEUE_FULL), RetryClass::kTransient);
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), RetryClass::kPermanent);
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR_INVALID_RECORD), RetryClass::kPermanent);
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR__FATAL), RetryClass::kFatal);
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED), RetryClass::kFatal);
  EXPECT_EQ(ClassifyKafkaError(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED), RetryClass::kFatal);
}

}  // namespace
}  // namespace cdc::kafka

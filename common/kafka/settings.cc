#include "common/kafka/settings.h"

#include <cctype>

#include "common/redact.h"

namespace cdc::kafka {
namespace {

void Set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
         const std::string& origin, std::vector<std::string>& problems) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    problems.push_back(origin + ": " +
                       (IsSecretKey(key) ? std::string("rejected by librdkafka (value hidden)")
                                         : RedactSecrets(errstr)));
  }
}

}  // namespace

KafkaSettings KafkaSettings::FromConfig(const config::ConfigView& config) {
  KafkaSettings settings;
  settings.bootstrap_servers = config.GetString("kafka.bootstrap_servers");
  settings.properties = config.GetStringMap("kafka.properties");
  return settings;
}

ConfPtr BuildConf(const KafkaSettings& settings, const std::map<std::string, std::string>& defaults,
                  const std::map<std::string, std::string>& forced) {
  ConfPtr conf(rd_kafka_conf_new());
  std::vector<std::string> problems;
  for (const auto& [key, value] : defaults)
    Set(conf.get(), key, value, "kafka (default " + key + ")", problems);
  Set(conf.get(), "bootstrap.servers", settings.bootstrap_servers, "kafka.bootstrap_servers",
      problems);
  for (const auto& [key, value] : settings.properties) {
    if (forced.count(key) != 0) {
      problems.push_back("kafka.properties." + key + ": cannot be overridden (the pipeline's " +
                         "delivery guarantees depend on it)");
      continue;
    }
    Set(conf.get(), key, value, "kafka.properties." + key, problems);
  }
  for (const auto& [key, value] : forced)
    Set(conf.get(), key, value, "kafka (" + key + ")", problems);
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
  return conf;
}

std::string RedactedConfDump(const rd_kafka_conf_t* conf) {
  size_t count = 0;
  const char** pairs = rd_kafka_conf_dump(const_cast<rd_kafka_conf_t*>(conf), &count);
  std::string out;
  for (size_t i = 0; i + 1 < count; i += 2) {
    const std::string key = pairs[i];
    out += key + "=" + (IsSecretKey(key) ? std::string(kRedacted) : RedactSecrets(pairs[i + 1])) +
           "\n";
  }
  rd_kafka_conf_dump_free(pairs, count);
  return out;
}

MetadataPtr TopicMetadata(rd_kafka_t* rk, const std::string& topic,
                          std::chrono::milliseconds timeout, rd_kafka_resp_err_t* err) {
  const TopicPtr rkt(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  if (!rkt) {
    *err = rd_kafka_last_error();
    if (*err == RD_KAFKA_RESP_ERR_NO_ERROR) *err = RD_KAFKA_RESP_ERR__INVALID_ARG;
    return nullptr;
  }
  const rd_kafka_metadata_t* metadata = nullptr;
  *err = rd_kafka_metadata(rk, 0, rkt.get(), &metadata, static_cast<int>(timeout.count()));
  if (*err != RD_KAFKA_RESP_ERR_NO_ERROR) return nullptr;
  return MetadataPtr(metadata);
}

RetryClass ClassifyKafkaError(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return RetryClass::kFatal;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
      return RetryClass::kPermanent;
    default:
      return RetryClass::kTransient;
  }
}

void ThrowKafkaError(rd_kafka_resp_err_t err, const std::string& context) {
  ThrowError(ClassifyKafkaError(err), rd_kafka_err2name(err),
             context + ": " + rd_kafka_err2str(err));
}

bool IsValidTopicName(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace cdc::kafka

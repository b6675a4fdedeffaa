// cdc-devbroker: runs librdkafka's mock Kafka cluster on loopback until SIGINT/SIGTERM.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/error.h"
#include "common/host_port.h"
#include "common/log.h"
#include "common/shutdown.h"
#include "common/version.h"
#include "deploy/devbroker/control.h"
#include "deploy/devbroker/fixed_port.h"

namespace {

constexpr const char* kDescription = R"(cdc-devbroker: librdkafka's mock Kafka cluster on loopback.

Prints `bootstrap=HOST:PORT[,...]` and `control=HOST:PORT` on stdout once ready, then serves
until SIGINT/SIGTERM and exits 0. Any Kafka client (kcat, confluent-kafka, our binaries)
connects over TCP. The mock only listens on 127.0.0.1.

Topics: --topic NAME[:PARTITIONS] pre-creates a topic (PARTITIONS defaults to --partitions).
Topics that clients create implicitly (by producing or asking for metadata) get librdkafka
2.0.2's fixed default of 4 partitions: the mock has no setting for it, so pre-create topics that
need another count (or POST /topics on the control endpoint).

Fault-injection control (HTTP on --control):
  GET  /status
  POST /brokers/{id}/down        POST /brokers/{id}/up        POST /brokers/{id}/rtt?ms=N
  POST /errors?api=Produce&error=NOT_ENOUGH_REPLICAS&count=N   (next N requests fail)
  POST /topics?name=T&partitions=N
e.g. curl -X POST "http://$CONTROL/brokers/1/down"

Not supported by the 2.0.2 mock: CreateTopics admin API, offsets_for_times, DeleteRecords,
hiding aborted transactions from read_committed consumers.)";

struct TopicSpec {
  std::string name;
  int partitions = 0;  // 0 = --partitions
};

TopicSpec ParseTopic(const std::string& text) {
  TopicSpec spec;
  const size_t colon = text.rfind(':');
  spec.name = text.substr(0, colon);
  if (colon != std::string::npos) {
    try {
      size_t used = 0;
      spec.partitions = std::stoi(text.substr(colon + 1), &used);
      if (used != text.size() - colon - 1 || spec.partitions < 1) throw std::invalid_argument("");
    } catch (const std::exception&) {
      throw CLI::ValidationError("--topic", "expected NAME[:PARTITIONS], got \"" + text + "\"");
    }
  }
  if (spec.name.empty()) throw CLI::ValidationError("--topic", "empty topic name");
  return spec;
}

void WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << content;
    if (!out) throw cdc::FatalError("IO", "cannot write " + temp);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    throw cdc::FatalError("IO", "cannot rename " + temp + " to " + path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "cdc-devbroker");
  app.set_version_flag("--version", std::string("cdc-devbroker ") + cdc::kVersion);
  std::string listen_text = "127.0.0.1:9092";
  std::string control_text = "127.0.0.1:0";
  int brokers = 1;
  int partitions = 6;
  std::vector<std::string> topic_texts;
  std::string bootstrap_file;
  std::string log_level = "warn";
  app.add_option("--listen", listen_text, "HOST:PORT of the first broker (port 0 = any free port)")
      ->capture_default_str();
  app.add_option("--brokers", brokers, "number of brokers")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--partitions", partitions, "partitions of --topic entries without a count")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--topic", topic_texts, "pre-create NAME[:PARTITIONS] (repeatable)");
  app.add_option("--bootstrap-file", bootstrap_file, "also write bootstrap=... to this file");
  app.add_option("--control", control_text, "HOST:PORT of the fault-injection HTTP endpoint")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();

  cdc::HostPort listen;
  cdc::HostPort control;
  std::vector<TopicSpec> topics;
  try {
    app.parse(argc, argv);
    listen = cdc::ParseHostPort(listen_text);
    control = cdc::ParseHostPort(control_text);
    if (listen.host != "127.0.0.1" && listen.host != "localhost") {
      throw CLI::ValidationError(
          "--listen", "the mock cluster only listens on 127.0.0.1, got \"" + listen.host + "\"");
    }
    for (const std::string& text : topic_texts) topics.push_back(ParseTopic(text));
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : cdc::config::kConfigErrorExitCode;
  } catch (const cdc::Error& e) {
    std::cerr << "cdc-devbroker: " << e.what() << "\n";
    return cdc::config::kConfigErrorExitCode;
  }

  cdc::ShutdownSignals shutdown;  // before any thread starts
  cdc::Logging logging(cdc::LogFormat::kText, cdc::ParseLogLevel(log_level));
  const cdc::Logger logger = logging.Get("devbroker");

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    std::cerr << "cdc-devbroker: cannot create librdkafka handle: " << errstr << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = nullptr;
  {
    cdc::devbroker::FixedPortScope fixed_port(listen.port);
    if (!fixed_port.ok()) {
      std::cerr << "cdc-devbroker: cannot listen on " << listen.ToString() << ": "
                << std::strerror(fixed_port.bind_errno()) << "\n";
      rd_kafka_destroy(rk);
      return 1;
    }
    cluster = rd_kafka_mock_cluster_new(rk, brokers);
    if (cluster != nullptr && listen.port != 0 && !fixed_port.applied()) {
      std::cerr << "cdc-devbroker: the mock cluster did not use " << listen.ToString() << "\n";
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }
  if (cluster == nullptr) {
    std::cerr << "cdc-devbroker: cannot create the mock cluster\n";
    rd_kafka_destroy(rk);
    return 1;
  }

  int rc = 0;
  try {
    for (const TopicSpec& topic : topics) {
      const int count = topic.partitions > 0 ? topic.partitions : partitions;
      const rd_kafka_resp_err_t err =
          rd_kafka_mock_topic_create(cluster, topic.name.c_str(), count, 1);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw cdc::FatalError(rd_kafka_err2name(err),
                              "cannot create topic " + topic.name + ": " + rd_kafka_err2str(err));
      }
    }
    const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
    cdc::devbroker::ControlServer control_server(cluster, brokers, bootstrap);
    const uint16_t control_port = control_server.Start(control);
    if (!bootstrap_file.empty())
      WriteFileAtomically(bootstrap_file, "bootstrap=" + bootstrap + "\n");
    std::cout << "bootstrap=" << bootstrap << "\n"
              << "control=" << control.host << ":" << control_port << "\n"
              << std::flush;
    logger.Info("dev broker ready", {{"bootstrap", bootstrap}, {"brokers", brokers}});

    std::condition_variable_any wake;
    std::mutex mutex;
    std::unique_lock lock(mutex);
    wake.wait(lock, shutdown.token(), [] { return false; });
    logger.Info("dev broker stopping", {{"signal", shutdown.signal_received()}});
  } catch (const cdc::Error& e) {
    std::cerr << "cdc-devbroker: " << e.what() << "\n";
    rc = 1;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return rc;
}

#include "tests/harness/event_writer.h"

#include <stdexcept>

#include "common/avro/schema.h"
#include "common/registry/factory.h"

namespace cdc::testing {
namespace {

// What decides a table's schemas: its name and its columns' names, types and sizes.
std::string Shape(const event::TableMeta& table) {
  std::string shape = table.QualifiedName();
  for (const event::ColumnMeta& c : table.columns) {
    shape += "|" + c.name + ":" + std::string(event::ColumnTypeName(c.type)) + ":" +
             std::to_string(c.precision) + "," + std::to_string(c.scale) + "," +
             std::to_string(c.length) + (c.nullable ? "?" : "");
  }
  for (const size_t k : table.key) shape += "|k" + std::to_string(k);
  return shape;
}

}  // namespace

EventWriter::EventWriter(const std::string& bootstrap, event::Format format, int linger_ms,
                         const std::string& schemas_topic)
    : logging_(LogFormat::kText, LogLevel::kWarn),
      config_(config::Config::Parse(
          "pipeline: {name: test}\nkafka:\n  bootstrap_servers: " + bootstrap +
              "\n  properties: {linger.ms: '" + std::to_string(linger_ms) + "'}\n" +
              (schemas_topic.empty() ? "" : "  schemas_topic: " + schemas_topic + "\n"),
          config::ProjectSchema(), {})),
      kafka_(kafka::KafkaSettings::FromConfig(config_)),
      registry_(registry::MakeSchemaRegistry(config_, kafka_, clock_, logging_.Get("registry"))),
      producer_(std::make_unique<kafka::Producer>(kafka_, *this, logging_.Get("writer"))),
      format_(format) {}

EventWriter::~EventWriter() = default;

std::string EventWriter::Topic(const event::TableMeta& table) {
  return "cdc." + table.schema + "." + table.table;
}

int32_t EventWriter::Write(const event::TableMeta& table, const event::ChangeEvent& event) {
  const std::string topic = Topic(table);
  auto [it, inserted] = ids_.try_emplace(Shape(table));
  if (inserted) {
    it->second.key = registry_->Register(topic + "-key", avro::KeySchema("cdc", table));
    it->second.value = registry_->Register(topic + "-value", avro::ValueSchema("cdc", table));
  }
  for (const event::Message& m :
       event::BuildMessages(table, event, it->second, {format_, true, "test-writer"})) {
    WriteRaw(topic, m.key, m.value, m.headers);
  }
  return it->second.value;
}

void EventWriter::WriteRaw(const std::string& topic, const std::string& key,
                           const std::optional<std::string>& value,
                           const std::vector<kafka::Header>& headers) {
  kafka::OutgoingMessage out;
  out.topic = topic;
  out.key = key;
  if (value) out.value = *value;
  out.headers = headers;
  producer_->Produce(out);
}

void EventWriter::Flush() {
  if (!producer_->Flush(std::chrono::seconds(60))) {
    throw std::runtime_error("EventWriter: records still undelivered after 60 s");
  }
  if (failed_ > 0) {
    throw std::runtime_error("EventWriter: " + std::to_string(failed_) + " records not delivered");
  }
}

void EventWriter::OnDelivery(const kafka::DeliveryReport& report) {
  if (!report.ok()) ++failed_;
}

}  // namespace cdc::testing

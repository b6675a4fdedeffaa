// NOT NULL reaches the schemas: a column the table declares NOT NULL when it is first published
// is a non-null field (keys included); a change that holds NULL in such a field makes it nullable
// for good instead of poisoning the row; a column added later is nullable; a table published
// before this (its checkpoint has no not_null) keeps every field nullable, so its key bytes,
// partitions and schemas stay as they were.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/avro/codec.h"
#include "common/registry/topic_registry.h"
#include "tests/harness/event_writer.h"
#include "tests/harness/odbc_sources.h"
#include "tests/integration/producer/producer_fixture.h"

namespace cdc::testing {
namespace {

// The schema id a Confluent-framed message starts with.
int32_t SchemaIdOf(const std::string& bytes) {
  return (static_cast<int32_t>(static_cast<uint8_t>(bytes[1])) << 24) |
         (static_cast<int32_t>(static_cast<uint8_t>(bytes[2])) << 16) |
         (static_cast<int32_t>(static_cast<uint8_t>(bytes[3])) << 8) |
         static_cast<int32_t>(static_cast<uint8_t>(bytes[4]));
}

// "name:type" of each field of `record` (a union prints as null|T).
std::string Fields(const nlohmann::json& record) {
  std::string out;
  for (const nlohmann::json& field : record["fields"]) {
    std::string type;
    if (field["type"].is_array()) {
      for (const nlohmann::json& branch : field["type"]) {
        type +=
            (type.empty() ? "" : "|") +
            (branch.is_string() ? branch.get<std::string>() : branch["type"].get<std::string>());
      }
    } else {
      type = field["type"].is_string() ? field["type"].get<std::string>()
                                       : field["type"]["type"].get<std::string>();
    }
    out += (out.empty() ? "" : " ") + field["name"].get<std::string>() + ":" + type;
  }
  return out;
}

// The row record of a value schema (defined in the "before" field's non-null branch).
nlohmann::json RowRecord(const nlohmann::json& value_schema) {
  for (const nlohmann::json& field : value_schema["fields"]) {
    if (field["name"] == "before") return field["type"][1];
  }
  return nullptr;
}

TEST(Nullability, NotNullColumnsAreNonNullFieldsAndANullNeverPoisons) {
  DevBroker broker;
  SqliteSource lite;
  TempDir dir("cdc-nullability");
  odbc::Environment environment;
  odbc::Connection db(environment, lite.ConnectionString() + "Timeout=20000;");
  db.Execute("CREATE TABLE n (id INTEGER NOT NULL PRIMARY KEY, v TEXT NOT NULL, w TEXT)");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig(broker.bootstrap(), lite.ConnectionString(),
                                   "    - name: n\n      topic: n\n", "  snapshot: never\n"));
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  db.Execute("INSERT INTO n VALUES (1, 'x', NULL)");
  {
    ProducerProcess producer(config, dir.File("run1.log"));
    ASSERT_TRUE(WaitFor([&] { return ReadTopic(broker.bootstrap(), "n").size() == 1; },
                        std::chrono::seconds(30)))
        << Tail(dir.File("run1.log"));
    EXPECT_EQ(producer.Stop(SIGTERM), 0);
  }
  kafka::KafkaSettings kafka;
  kafka.bootstrap_servers = broker.bootstrap();
  registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
  const TopicMessage first = ReadTopic(broker.bootstrap(), "n").at(0);
  const nlohmann::json key = nlohmann::json::parse(schemas.Lookup(SchemaIdOf(first.key)));
  const nlohmann::json value = nlohmann::json::parse(schemas.Lookup(SchemaIdOf(*first.value)));
  EXPECT_EQ(Fields(key), "id:long");
  EXPECT_EQ(Fields(RowRecord(value)), "id:long v:string w:null|string");

  // A change that holds NULL in a field published non-null (recorded before the table declared
  // the column NOT NULL) is published, not poison: the field turns nullable, for good. A column
  // added later is nullable whatever the table declares (older data has no value for it).
  db.Execute("INSERT INTO n_CT (CDC_OP, id, v, w) VALUES ('I', 2, NULL, 'w')");
  db.Execute("ALTER TABLE n ADD COLUMN d TEXT NOT NULL DEFAULT 'q'");
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  const auto published = [&](int64_t id) {
    const auto events = ReadTopic(broker.bootstrap(), "n");
    return std::any_of(events.begin(), events.end(), [&](const TopicMessage& m) {
      return m.value && m.op() == "c" && m.key.size() > 5 && m.seq() >= id;
    });
  };
  {
    ProducerProcess producer(config, dir.File("run2.log"));
    ASSERT_TRUE(WaitFor([&] { return published(2); }, std::chrono::seconds(30)))
        << Tail(dir.File("run2.log"));
    EXPECT_EQ(producer.Stop(SIGTERM), 0);
  }
  EXPECT_NE(Tail(dir.File("run2.log"), 200).find("its schema field becomes nullable"),
            std::string::npos)
      << Tail(dir.File("run2.log"));
  EXPECT_TRUE(ReadTopic(broker.bootstrap(), "_cdc_producer_dlq").empty());  // nothing poisoned
  // After a restart the field stays nullable (the checkpoint remembers), also for new changes.
  db.Execute("INSERT INTO n (id, v, w) VALUES (3, 'z', NULL)");
  const size_t before = ReadTopic(broker.bootstrap(), "n").size();
  {
    ProducerProcess producer(config, dir.File("run3.log"));
    ASSERT_TRUE(WaitFor([&] { return ReadTopic(broker.bootstrap(), "n").size() > before; },
                        std::chrono::seconds(30)))
        << Tail(dir.File("run3.log"));
    EXPECT_EQ(producer.Stop(SIGTERM), 0);
  }
  int checked = 0;
  for (const TopicMessage& m : ReadTopic(broker.bootstrap(), "n")) {
    if (!m.value || m.seq() < 2) continue;
    const nlohmann::json relaxed = nlohmann::json::parse(schemas.Lookup(SchemaIdOf(*m.value)));
    EXPECT_EQ(Fields(RowRecord(relaxed)), "id:long v:null|string w:null|string d:null|string")
        << "seq " << m.seq() << " op " << m.op();
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(Nullability, ATablePublishedBeforeKeepsItsKeySchema) {
  DevBroker broker;
  SqliteSource lite;
  TempDir dir("cdc-nullable-keys");
  odbc::Environment environment;
  odbc::Connection db(environment, lite.ConnectionString() + "Timeout=20000;");
  db.Execute("CREATE TABLE k (id INTEGER NOT NULL PRIMARY KEY, v TEXT NOT NULL)");
  const std::string config = dir.File("config.yaml");
  WriteText(config, ProducerConfig(broker.bootstrap(), lite.ConnectionString(),
                                   "    - name: k\n      topic: k\n", "  snapshot: never\n"));
  ASSERT_EQ(RunCommand({"ddl", "--config", config, "--apply"}, dir.File("ddl.log")).first, 0);
  // The checkpoint an earlier version wrote (no nullable_keys): it published nullable keys.
  {
    EventWriter writer(broker.bootstrap(), event::Format::kAvro);
    writer.WriteRaw("_cdc_offsets", "test/k",
                    R"({"pipeline":"test","table":"k","watermark":0,"high":0,"gaps":[],)"
                    R"("snapshot":{"state":"none"},"updated_at":"2026-12-01T00:00:00Z"})",
                    {});
    writer.Flush();
  }
  db.Execute("INSERT INTO k VALUES (1, 'x')");
  ProducerProcess producer(config, dir.File("run.log"));
  ASSERT_TRUE(WaitFor([&] { return ReadTopic(broker.bootstrap(), "k").size() == 1; },
                      std::chrono::seconds(30)))
      << Tail(dir.File("run.log"));
  EXPECT_EQ(producer.Stop(SIGTERM), 0);
  kafka::KafkaSettings kafka;
  kafka.bootstrap_servers = broker.bootstrap();
  registry::TopicRegistry schemas(kafka, "_cdc_schemas", TestLogger());
  const TopicMessage message = ReadTopic(broker.bootstrap(), "k").at(0);
  // Every field stays nullable, as it was published before: key bytes, partitions and the value
  // schema are what they were (nothing for a registry's compatibility check to refuse).
  EXPECT_EQ(Fields(nlohmann::json::parse(schemas.Lookup(SchemaIdOf(message.key)))), "id:null|long");
  EXPECT_EQ(Fields(RowRecord(nlohmann::json::parse(schemas.Lookup(SchemaIdOf(*message.value))))),
            "id:null|long v:null|string");
}

}  // namespace
}  // namespace cdc::testing

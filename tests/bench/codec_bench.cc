// Encode/decode throughput of change events with a 10-column row, beside avro-c's raw encode of
// the same record (the baseline, measured in the same run). Target: each of ours >= 1M events/s.
// Also the producer's per-message fingerprint of what the broker confirmed (ContentHash over the
// encoded key and value), which runs for every delivery report: target <= 0.25x an Avro encode.
#include <avro.h>
#include <benchmark/benchmark.h>
#include <sql.h>
#include <sqlext.h>

#include <cstring>
#include <stdexcept>

#include "common/avro/codec.h"
#include "common/avro/schema.h"
#include "common/event/decimal.h"
#include "common/json/codec.h"
#include "producer/confirmed_check.h"

namespace {

using cdc::event::ChangeEvent;
using cdc::event::MapOdbcColumn;
using cdc::event::TableMeta;

TableMeta TenColumns() {
  TableMeta table;
  table.db = "shop";
  table.schema = "SHOP";
  table.table = "ORDERS";
  table.columns = {
      MapOdbcColumn("ORDER_ID", SQL_BIGINT, 19, 0, false),
      MapOdbcColumn("CUSTOMER_ID", SQL_INTEGER, 10, 0, false),
      MapOdbcColumn("AMOUNT", SQL_NUMERIC, 12, 2, false),
      MapOdbcColumn("STATUS", SQL_VARCHAR, 20, 0, false),
      MapOdbcColumn("CREATED_AT", SQL_TYPE_TIMESTAMP, 26, 6, false),
      MapOdbcColumn("UPDATED_AT", 2014, 35, 6, true),
      MapOdbcColumn("NOTE", SQL_LONGVARCHAR, 0, 0, true),
      MapOdbcColumn("QTY", SQL_INTEGER, 10, 0, false),
      MapOdbcColumn("UNIT_PRICE", SQL_DOUBLE, 15, 0, false),
      MapOdbcColumn("ACTIVE", SQL_BIT, 1, 0, false),
  };
  table.key = {0};
  return table;
}

ChangeEvent Insert(int64_t id) {
  ChangeEvent e;
  e.op = cdc::event::Op::kCreate;
  e.after = cdc::event::Row{id,
                            int64_t{4711},
                            std::string("1234.56"),
                            std::string("SHIPPED"),
                            int64_t{1795249601123456},
                            int64_t{1795249602000000},
                            std::string("leave at the back door"),
                            int64_t{3},
                            19.99,
                            true};
  e.key = {id};
  e.source = {"shop", "shop", "SHOP", "ORDERS", id, 1795249601123456, std::string("tx-1"), false};
  e.ts_ms = 1795249601999;
  return e;
}

void BM_AvroEncode(benchmark::State& state) {
  const TableMeta table = TenColumns();
  const ChangeEvent event = Insert(42);
  std::string buffer;
  for (auto _ : state) {
    buffer.clear();
    cdc::avro::AppendWireHeader(7, buffer);
    cdc::avro::AppendEnvelope(table, event, buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(buffer.size());
}
BENCHMARK(BM_AvroEncode);

void BM_AvroDecode(benchmark::State& state) {
  const TableMeta table = TenColumns();
  const std::string body = cdc::avro::EncodeEnvelope(table, Insert(42));
  for (auto _ : state) benchmark::DoNotOptimize(cdc::avro::DecodeEnvelope(table, body));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AvroDecode);

void BM_JsonEncode(benchmark::State& state) {
  const TableMeta table = TenColumns();
  const ChangeEvent event = Insert(42);
  std::string buffer;
  for (auto _ : state) {
    buffer.clear();
    cdc::json::AppendEnvelope(table, event, buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(buffer.size());
}
BENCHMARK(BM_JsonEncode);

void BM_JsonDecode(benchmark::State& state) {
  const TableMeta table = TenColumns();
  const std::string text = cdc::json::EncodeEnvelope(table, Insert(42));
  for (auto _ : state) benchmark::DoNotOptimize(cdc::json::DecodeEnvelope(table, text));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JsonDecode);

void BM_ConfirmedContentHash(benchmark::State& state) {
  const TableMeta table = TenColumns();
  const ChangeEvent event = Insert(42);
  std::string value;
  cdc::avro::AppendWireHeader(7, value);
  cdc::avro::AppendEnvelope(table, event, value);
  const std::string key = cdc::avro::EncodeKey(table, event.key);
  for (auto _ : state) {
    benchmark::DoNotOptimize(cdc::producer::ContentHash(key, value));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(key.size() + value.size());
}
BENCHMARK(BM_ConfirmedContentHash);

// Baseline: avro-c sets the same record through its generic value API and writes it to memory.
void BM_AvroCRawEncode(benchmark::State& state) {
  const TableMeta table = TenColumns();
  const std::string schema_text = cdc::avro::ValueSchema("cdc", table);
  avro_schema_t schema = nullptr;
  if (avro_schema_from_json_length(schema_text.data(), schema_text.size(), &schema) != 0) {
    throw std::runtime_error(avro_strerror());
  }
  avro_value_iface_t* iface = avro_generic_class_from_schema(schema);
  avro_value_t record;
  avro_generic_value_new(iface, &record);
  std::vector<char> buffer(4096);
  avro_writer_t writer = avro_writer_memory(buffer.data(), static_cast<int64_t>(buffer.size()));
  const std::string amount = cdc::event::DecimalToAvroBytes("1234.56", 12, 2);
  static const char kStatus[] = "SHIPPED";
  static const char kNote[] = "leave at the back door";
  int64_t written = 0;
  for (auto _ : state) {
    avro_value_t field, branch, column, source, value;
    avro_value_get_by_index(&record, 0, &field, nullptr);  // before: null
    avro_value_set_branch(&field, 0, &branch);
    avro_value_set_null(&branch);
    avro_value_get_by_index(&record, 1, &field, nullptr);  // after: the row
    avro_value_set_branch(&field, 1, &branch);
    avro_value_get_by_index(&branch, 0, &column, nullptr);
    avro_value_set_long(&column, 42);
    avro_value_get_by_index(&branch, 1, &column, nullptr);
    avro_value_set_int(&column, 4711);
    avro_value_get_by_index(&branch, 2, &column, nullptr);
    avro_value_set_bytes(&column, const_cast<char*>(amount.data()), amount.size());
    avro_value_get_by_index(&branch, 3, &column, nullptr);
    avro_value_set_string_len(&column, kStatus, sizeof(kStatus));
    avro_value_get_by_index(&branch, 4, &column, nullptr);
    avro_value_set_long(&column, 1795249601123456);
    avro_value_get_by_index(&branch, 5, &column, nullptr);
    avro_value_set_branch(&column, 1, &value);
    avro_value_set_long(&value, 1795249602000000);
    avro_value_get_by_index(&branch, 6, &column, nullptr);
    avro_value_set_branch(&column, 1, &value);
    avro_value_set_string_len(&value, kNote, sizeof(kNote));
    avro_value_get_by_index(&branch, 7, &column, nullptr);
    avro_value_set_int(&column, 3);
    avro_value_get_by_index(&branch, 8, &column, nullptr);
    avro_value_set_double(&column, 19.99);
    avro_value_get_by_index(&branch, 9, &column, nullptr);
    avro_value_set_boolean(&column, 1);
    avro_value_get_by_index(&record, 2, &source, nullptr);
    avro_value_get_by_index(&source, 0, &value, nullptr);
    avro_value_set_string_len(&value, "shop", 5);
    avro_value_get_by_index(&source, 1, &value, nullptr);
    avro_value_set_string_len(&value, "shop", 5);
    avro_value_get_by_index(&source, 2, &value, nullptr);
    avro_value_set_string_len(&value, "SHOP", 5);
    avro_value_get_by_index(&source, 3, &value, nullptr);
    avro_value_set_string_len(&value, "ORDERS", 7);
    avro_value_get_by_index(&source, 4, &value, nullptr);
    avro_value_set_long(&value, 42);
    avro_value_get_by_index(&source, 5, &value, nullptr);
    avro_value_set_long(&value, 1795249601123456);
    avro_value_get_by_index(&source, 6, &value, nullptr);
    avro_value_t txid;
    avro_value_set_branch(&value, 1, &txid);
    avro_value_set_string_len(&txid, "tx-1", 5);
    avro_value_get_by_index(&source, 7, &value, nullptr);
    avro_value_set_boolean(&value, 0);
    avro_value_get_by_index(&record, 3, &field, nullptr);
    avro_value_set_string_len(&field, "c", 2);
    avro_value_get_by_index(&record, 4, &field, nullptr);
    avro_value_set_long(&field, 1795249601999);
    avro_writer_reset(writer);
    if (avro_value_write(writer, &record) != 0) throw std::runtime_error(avro_strerror());
    written = avro_writer_tell(writer);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes"] = static_cast<double>(written);
  avro_writer_free(writer);
  avro_value_decref(&record);
  avro_value_iface_decref(iface);
  avro_schema_decref(schema);
}
BENCHMARK(BM_AvroCRawEncode);

}  // namespace

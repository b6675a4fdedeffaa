#include "common/avro/codec.h"

#include <cstring>

#include "common/error.h"
#include "common/event/decimal.h"
#include "common/utf8.h"

namespace cdc::avro {
namespace {

using event::ColumnMeta;
using event::ColumnType;
using event::Row;
using event::TableMeta;
using event::Value;

[[noreturn]] void Fail(const std::string& why) {
  throw PermanentError("AVRO", "malformed Avro: " + why);
}

// ---- writer ---------------------------------------------------------------------------------

void PutLong(int64_t value, std::string& out) {
  uint64_t zigzag = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  char buffer[10];
  size_t n = 0;
  while (zigzag >= 0x80) {
    buffer[n++] = static_cast<char>((zigzag & 0x7f) | 0x80);
    zigzag >>= 7;
  }
  buffer[n++] = static_cast<char>(zigzag);
  out.append(buffer, n);
}

void PutBytes(std::string_view bytes, std::string& out) {
  PutLong(static_cast<int64_t>(bytes.size()), out);
  out.append(bytes);
}

template <typename T>
void PutLittleEndian(T value, std::string& out) {
  char buffer[sizeof(T)];
  std::memcpy(buffer, &value, sizeof(T));  // x86-64 and aarch64 are little-endian
  out.append(buffer, sizeof(T));
}

[[noreturn]] void BadValue(const ColumnMeta& column, const std::string& why) {
  throw PermanentError("VALUE", "column " + column.name + " (" +
                                    std::string(event::ColumnTypeName(column.type)) + "): " + why);
}

void PutValue(const ColumnMeta& column, const Value& value, std::string& out) {
  if (event::IsNull(value)) {
    if (!column.nullable) BadValue(column, "null in a NOT NULL column");
    PutLong(0, out);  // union branch "null"
    return;
  }
  if (column.nullable) PutLong(1, out);
  switch (column.type) {
    case ColumnType::kInt32:
    case ColumnType::kDate: {
      const auto* number = std::get_if<int64_t>(&value);
      if (number == nullptr) BadValue(column, "expected an integer");
      if (*number < INT32_MIN || *number > INT32_MAX) BadValue(column, "out of 32-bit range");
      PutLong(*number, out);
      return;
    }
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
    case ColumnType::kTimestampTz: {
      const auto* number = std::get_if<int64_t>(&value);
      if (number == nullptr) BadValue(column, "expected an integer");
      PutLong(*number, out);
      return;
    }
    case ColumnType::kFloat32:
    case ColumnType::kFloat64: {
      const auto* real = std::get_if<double>(&value);
      if (real == nullptr) BadValue(column, "expected a floating-point number");
      if (column.type == ColumnType::kFloat32) {
        PutLittleEndian(static_cast<float>(*real), out);
      } else {
        PutLittleEndian(*real, out);
      }
      return;
    }
    case ColumnType::kBoolean: {
      const auto* flag = std::get_if<bool>(&value);
      if (flag == nullptr) BadValue(column, "expected a boolean");
      out.push_back(*flag ? 1 : 0);
      return;
    }
    case ColumnType::kDecimal: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr) BadValue(column, "expected decimal text");
      PutBytes(event::DecimalToAvroBytes(*text, column.precision, column.scale), out);
      return;
    }
    case ColumnType::kDecimalText:
    case ColumnType::kString:
    case ColumnType::kUuid:
    case ColumnType::kOther:
    case ColumnType::kBytes: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr) BadValue(column, "expected text or bytes");
      if (column.type == ColumnType::kDecimalText && !event::IsDecimalText(*text, true)) {
        BadValue(column, "\"" + text->substr(0, 64) + "\" is not a decimal number");
      }
      if (column.type != ColumnType::kBytes && !IsValidUtf8(*text))
        BadValue(column, "invalid UTF-8");
      PutBytes(*text, out);
      return;
    }
  }
}

void PutRow(const TableMeta& table, const Row& row, std::string& out) {
  event::CheckArity(table, row, table.columns.size(), "row");
  for (size_t i = 0; i < row.size(); ++i) PutValue(table.columns[i], row[i], out);
}

void PutOptionalRow(const TableMeta& table, const std::optional<Row>& row, std::string& out) {
  if (!row) {
    PutLong(0, out);
    return;
  }
  PutLong(1, out);
  PutRow(table, *row, out);
}

// ---- reader ---------------------------------------------------------------------------------

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  int64_t Long(const char* what) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size())
        Fail(std::string("truncated in ") + what + " at byte " + std::to_string(pos_));
      const auto byte = static_cast<unsigned char>(data_[pos_++]);
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        return static_cast<int64_t>(result >> 1) ^ -static_cast<int64_t>(result & 1);
      }
    }
    Fail(std::string("varint longer than 10 bytes in ") + what);
  }

  int32_t Int(const char* what) {
    const int64_t value = Long(what);
    if (value < INT32_MIN || value > INT32_MAX) Fail(std::string("int out of range in ") + what);
    return static_cast<int32_t>(value);
  }

  std::string_view Bytes(const char* what) {
    const int64_t length = Long(what);
    if (length < 0) Fail(std::string("negative length in ") + what);
    if (static_cast<uint64_t>(length) > data_.size() - pos_) {
      Fail(std::string("length ") + std::to_string(length) + " of " + what + " exceeds the " +
           std::to_string(data_.size() - pos_) + " bytes left");
    }
    const std::string_view out = data_.substr(pos_, static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return out;
  }

  std::string_view String(const char* what) {
    const std::string_view text = Bytes(what);
    if (!IsValidUtf8(text)) Fail(std::string("invalid UTF-8 in ") + what);
    return text;
  }

  template <typename T>
  T Fixed(const char* what) {
    if (data_.size() - pos_ < sizeof(T)) Fail(std::string("truncated in ") + what);
    T value;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  bool Boolean(const char* what) {
    if (pos_ >= data_.size()) Fail(std::string("truncated in ") + what);
    const auto byte = static_cast<unsigned char>(data_[pos_++]);
    if (byte > 1) Fail(std::string("boolean byte ") + std::to_string(byte) + " in " + what);
    return byte == 1;
  }

  bool OptionalBranch(const char* what) {
    const int64_t branch = Long(what);
    if (branch != 0 && branch != 1)
      Fail(std::string("union branch ") + std::to_string(branch) + " in " + what);
    return branch == 1;
  }

  void ExpectEnd() const {
    if (pos_ != data_.size()) {
      Fail(std::to_string(data_.size() - pos_) + " trailing bytes after the record");
    }
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

Value GetValue(const ColumnMeta& column, Reader& in) {
  const char* what = column.name.c_str();
  if (column.nullable && !in.OptionalBranch(what)) return std::monostate{};
  switch (column.type) {
    case ColumnType::kInt32:
    case ColumnType::kDate:
      return static_cast<int64_t>(in.Int(what));
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
    case ColumnType::kTimestampTz:
      return in.Long(what);
    case ColumnType::kFloat32:
      return static_cast<double>(in.Fixed<float>(what));
    case ColumnType::kFloat64:
      return in.Fixed<double>(what);
    case ColumnType::kBoolean:
      return in.Boolean(what);
    case ColumnType::kDecimal:
      return event::AvroBytesToDecimal(in.Bytes(what), column.precision, column.scale);
    case ColumnType::kBytes:
      return std::string(in.Bytes(what));
    case ColumnType::kDecimalText: {
      const std::string_view text = in.String(what);
      if (!event::IsDecimalText(text, true)) Fail(std::string("non-decimal text in ") + what);
      return std::string(text);
    }
    case ColumnType::kString:
    case ColumnType::kUuid:
    case ColumnType::kOther:
      return std::string(in.String(what));
  }
  Fail("unknown column type");
}

Row GetRow(const TableMeta& table, Reader& in) {
  Row row;
  row.reserve(table.columns.size());
  for (const ColumnMeta& column : table.columns) row.push_back(GetValue(column, in));
  return row;
}

}  // namespace

void AppendWireHeader(int32_t schema_id, std::string& out) {
  const auto id = static_cast<uint32_t>(schema_id);
  const char header[kWireHeaderSize] = {0, static_cast<char>(id >> 24), static_cast<char>(id >> 16),
                                        static_cast<char>(id >> 8), static_cast<char>(id)};
  out.append(header, kWireHeaderSize);
}

WirePayload ParseWireHeader(std::string_view message) {
  if (message.size() < kWireHeaderSize) {
    Fail("message of " + std::to_string(message.size()) +
         " bytes is shorter than the 5-byte header");
  }
  if (message[0] != 0) {
    Fail("magic byte is " + std::to_string(static_cast<unsigned char>(message[0])) +
         ", expected 0 (Confluent wire format)");
  }
  uint32_t id = 0;
  for (size_t i = 1; i < kWireHeaderSize; ++i)
    id = (id << 8) | static_cast<unsigned char>(message[i]);
  return {static_cast<int32_t>(id), message.substr(kWireHeaderSize)};
}

std::string EncodeKey(const TableMeta& table, const Row& key) {
  event::CheckArity(table, key, table.key.size(), "key");
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) PutValue(table.columns[table.key[i]], key[i], out);
  return out;
}

Row DecodeKey(const TableMeta& table, std::string_view body) {
  Reader in(body);
  Row key;
  for (size_t index : table.key) key.push_back(GetValue(table.columns[index], in));
  in.ExpectEnd();
  return key;
}

void AppendEnvelope(const TableMeta& table, const event::ChangeEvent& event, std::string& out) {
  PutOptionalRow(table, event.before, out);
  PutOptionalRow(table, event.after, out);
  const event::SourceInfo& source = event.source;
  PutBytes(source.name, out);
  PutBytes(source.db, out);
  PutBytes(source.schema, out);
  PutBytes(source.table, out);
  PutLong(source.seq, out);
  PutLong(source.change_ts_micros, out);
  if (source.txid) {
    PutLong(1, out);
    PutBytes(*source.txid, out);
  } else {
    PutLong(0, out);
  }
  out.push_back(source.snapshot ? 1 : 0);
  const char op = static_cast<char>(event.op);
  PutBytes(std::string_view(&op, 1), out);
  PutLong(event.ts_ms, out);
}

std::string EncodeEnvelope(const TableMeta& table, const event::ChangeEvent& event) {
  std::string out;
  out.reserve(64 + table.columns.size() * 24);
  AppendEnvelope(table, event, out);
  return out;
}

event::ChangeEvent DecodeEnvelope(const TableMeta& table, std::string_view body) {
  Reader in(body);
  event::ChangeEvent event;
  if (in.OptionalBranch("before")) event.before = GetRow(table, in);
  if (in.OptionalBranch("after")) event.after = GetRow(table, in);
  event.source.name = in.String("source.name");
  event.source.db = in.String("source.db");
  event.source.schema = in.String("source.schema");
  event.source.table = in.String("source.table");
  event.source.seq = in.Long("source.seq");
  event.source.change_ts_micros = in.Long("source.change_ts");
  if (in.OptionalBranch("source.txid")) event.source.txid = std::string(in.String("source.txid"));
  event.source.snapshot = in.Boolean("source.snapshot");
  const std::string_view op = in.String("op");
  if (op != "c" && op != "u" && op != "d" && op != "r")
    Fail("op \"" + std::string(op.substr(0, 8)) + "\"");
  event.op = static_cast<event::Op>(op[0]);
  event.ts_ms = in.Long("ts_ms");
  in.ExpectEnd();
  event.key = event::KeyFromImage(table, event);
  return event;
}

Row ProjectRow(const TableMeta& writer, const Row& row, const TableMeta& reader) {
  Row out;
  out.reserve(reader.columns.size());
  for (const ColumnMeta& column : reader.columns) {
    const std::optional<size_t> index = writer.Find(column.name);
    if (!index) {
      if (!column.nullable) {
        throw PermanentError("SCHEMA_EVOLUTION", "column " + column.name +
                                                     " is missing from the writer schema and is "
                                                     "NOT NULL in the reader schema");
      }
      out.emplace_back(std::monostate{});
      continue;
    }
    const ColumnMeta& written = writer.columns[*index];
    if (written.type != column.type || written.precision != column.precision ||
        written.scale != column.scale) {
      throw PermanentError("SCHEMA_EVOLUTION",
                           "column " + column.name + " changed type from " +
                               std::string(event::ColumnTypeName(written.type)) + " to " +
                               std::string(event::ColumnTypeName(column.type)));
    }
    out.push_back(row[*index]);
  }
  return out;
}

}  // namespace cdc::avro

#include "producer/change_source.h"

#include <algorithm>
#include <charconv>
#include <functional>

#include "common/error.h"
#include "common/event/temporal.h"
#include "producer/catalog.h"
#include "producer/drift.h"
#include "producer/value_text.h"

namespace cdc::producer {
namespace {

constexpr size_t kFetchRows = 1000;
constexpr size_t kMaxValueBytes = 16 << 20;
constexpr int kMaxSchemaRetries = 5;

int64_t ParseSeq(std::optional<std::string_view> text) {
  int64_t value = 0;
  if (text) {
    const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec == std::errc() && ptr == text->data() + text->size()) return value;
  }
  throw PermanentError("CHANGE_TABLE", "CDC_SEQ value \"" + std::string(text.value_or("NULL")) +
                                           "\" is not an integer");
}

// Throws PermanentError("CHARSET") unless the driver delivers TextProbeQuery's text as UTF-8.
void CheckTextProbe(odbc::Connection& connection, SqlDialect dialect) {
  constexpr std::string_view kFix =
      ". For Oracle set NLS_LANG to a .AL32UTF8 character set (e.g. AMERICAN_AMERICA.AL32UTF8) in"
      " cdc-producer's environment; for PostgreSQL use psqlODBC's Unicode driver";
  odbc::Statement statement(connection);
  odbc::RowBatch batch;
  std::string got = "no row";
  try {
    statement.ExecuteDirect(TextProbeQuery(dialect));
    if (statement.FetchBatch(batch, 1, 64)) got = std::string(batch.Get(0, 0).value_or("NULL"));
  } catch (const PermanentError& e) {
    // E.g. a client encoding without these characters refusing them.
    throw PermanentError("CHARSET", "the source's ODBC driver cannot deliver text as UTF-8 (" +
                                        std::string(e.what()) + ")" + std::string(kFix));
  }
  if (got == kTextProbe) return;
  std::string hex;
  for (const unsigned char c : got.substr(0, 32)) {
    static constexpr char kDigits[] = "0123456789abcdef";
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  throw PermanentError("CHARSET",
                       "the source's ODBC driver does not deliver text as UTF-8 (U+00E9 U+20AC"
                       " U+4E2D came back as bytes " +
                           hex + "): text outside ASCII would be garbled" + std::string(kFix));
}

// Fetch widths for a result. A column whose declared size is small gets exactly what it needs
// (the driver's size); one of unknown or large size (TEXT, CLOB, bytea) starts at 1 KB and grows
// when a value does not fit. Drivers fill the whole bound buffer (strncpy pads it), so binding
// SQLite's 64K-character TEXT at its declared size would cost 256 KB of copying per value.
std::vector<size_t> InitialWidths(const std::vector<odbc::ColumnInfo>& columns) {
  constexpr size_t kLargeColumnWidth = 1 << 10;
  constexpr SQLULEN kSmallColumnChars = 255;
  std::vector<size_t> widths(columns.size(), 0);
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].size == 0 || columns[c].size > kSmallColumnChars) {
      widths[c] = kLargeColumnWidth;
    }
  }
  return widths;
}

void BindKeyValue(odbc::Statement& statement, SQLUSMALLINT index, const event::ColumnMeta& column,
                  const std::optional<std::string>& text) {
  using event::ColumnType;
  if (text && (column.type == ColumnType::kInt32 || column.type == ColumnType::kInt64)) {
    statement.BindInt64(index, std::get<int64_t>(ValueFromText(column, *text)));
  } else if (text && (column.type == ColumnType::kFloat32 || column.type == ColumnType::kFloat64)) {
    statement.BindDouble(index, std::get<double>(ValueFromText(column, *text)));
  } else {
    statement.BindText(index, text);
  }
}

}  // namespace

std::string WithSourceDefaults(const std::string& connection_string) {
  std::string lower = connection_string;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("sqlite") == std::string::npos || lower.find("timeout=") != std::string::npos) {
    return connection_string;
  }
  std::string out = connection_string;
  if (!out.empty() && out.back() != ';') out += ';';
  return out + "Timeout=10000;";
}

OdbcChangeSource::OdbcChangeSource(const odbc::Environment& environment,
                                   std::string connection_string, std::optional<SqlDialect> dialect,
                                   SourceTableSpec spec, Logger logger)
    : environment_(environment),
      connection_string_(WithSourceDefaults(connection_string)),
      configured_dialect_(dialect),
      spec_(std::move(spec)),
      logger_(std::move(logger)) {}

OdbcChangeSource::~OdbcChangeSource() = default;

void OdbcChangeSource::Connect() {
  if (connection_) return;
  auto connection = std::make_unique<odbc::Connection>(environment_, connection_string_);
  if (!dialect_)
    dialect_ = configured_dialect_.value_or(DialectFromDbmsName(connection->DbmsName()));
  for (const std::string& statement : SessionSetup(*dialect_)) connection->Execute(statement);
  CheckTextProbe(*connection, *dialect_);
  connection_ = std::move(connection);
  if (metadata_version_ == 0) {
    LoadMetadata();
    LogDrift();
  }
}

void OdbcChangeSource::Disconnect() { connection_.reset(); }

SqlDialect OdbcChangeSource::dialect() {
  Connect();
  return *dialect_;
}

const event::TableMeta& OdbcChangeSource::table() {
  Connect();
  return table_;
}

std::optional<int64_t> OdbcChangeSource::SchemaCookie() {
  if (*dialect_ != SqlDialect::kSqlite) return std::nullopt;
  odbc::Statement statement(*connection_);
  statement.ExecuteDirect("PRAGMA schema_version");
  odbc::RowBatch batch;
  if (!statement.FetchBatch(batch, 1, 64) || !batch.Get(0, 0)) return std::nullopt;
  return ParseSeq(batch.Get(0, 0));
}

void OdbcChangeSource::LoadMetadata() {
  schema_cookie_ = SchemaCookie();  // before the catalog reads: a later change is noticed
  const event::TableMeta base =
      ReadTableMeta(*connection_, *dialect_, spec_.table, spec_.key, spec_.key_setting);
  std::vector<event::ColumnMeta> change_columns =
      ReadColumns(*connection_, *dialect_, spec_.change_table);
  if (change_columns.empty()) {
    throw PermanentError("CHANGE_TABLE", "change table " + spec_.change_table.ToString() + " of " +
                                             spec_.table.ToString() +
                                             " does not exist; create it with cdc-producer ddl "
                                             "--apply");
  }
  const std::string_view expected[] = {kSeqColumn, kOpColumn, kTsColumn, kTxidColumn};
  for (size_t i = 0; i < kMetadataColumns; ++i) {
    if (i >= change_columns.size() || !EqualsIgnoreCase(change_columns[i].name, expected[i])) {
      throw PermanentError("CHANGE_TABLE", "change table " + spec_.change_table.ToString() +
                                               ": column " + std::to_string(i + 1) + " must be " +
                                               std::string(expected[i]));
    }
  }
  // Columns the replica cannot name are refused here too (ddl refuses to create their change
  // table), never a stream of dead letters at apply.
  const std::vector<std::string> problems = event::ColumnNameProblems(base);
  if (!problems.empty()) throw PermanentError("NAME", problems.front());
  event::TableMeta table;
  table.db = base.db;
  table.schema = base.schema;
  table.table = base.table;
  event::TableMeta layout;
  layout.columns.assign(change_columns.begin() + kMetadataColumns, change_columns.end());
  std::vector<std::optional<size_t>> data_at;
  for (size_t i = 0; i < layout.columns.size(); ++i) {
    if (IsOldImageColumn(layout.columns[i].name)) continue;
    data_at.push_back(i);
    table.columns.push_back(layout.columns[i]);
    // Change-table columns are all nullable; the table's own column says whether a value may be
    // NULL (a column the table no longer has reads as null).
    const std::optional<size_t> in_base = base.Find(layout.columns[i].name);
    table.columns.back().nullable = !in_base || base.columns[*in_base].nullable;
  }
  std::vector<std::optional<size_t>> old_at;
  for (const event::ColumnMeta& column : table.columns) {
    old_at.push_back(layout.Find(OldImageColumn(*dialect_, column.name)));
  }
  for (size_t k : base.key) {
    const std::optional<size_t> index = table.Find(base.columns[k].name);
    if (!index) {
      throw PermanentError("CHANGE_TABLE", "change table " + spec_.change_table.ToString() +
                                               " has no key column " + base.columns[k].name);
    }
    table.key.push_back(*index);
  }
  for (const event::ColumnMeta& column : table.columns) {
    // PostgreSQL's other types (db_type known) travel as the server's exact text by design.
    if (column.type == event::ColumnType::kOther && !column.db_type) {
      logger_.Warn("column type has no exact mapping; its values travel as text",
                   {{"table", spec_.table.ToString()},
                    {"column", column.name},
                    {"sql_type", column.source_sql_type}});
    }
  }
  change_reads_ = ColumnReads(*dialect_, layout, {kSeqColumn, kOpColumn, kTsColumn, kTxidColumn},
                              ReadFrom::kChangeTable);
  layout_ = std::move(layout);
  data_at_ = std::move(data_at);
  old_at_ = std::move(old_at);
  // A snapshot reads the columns the table has now: one dropped or renamed since stays in the
  // change table (and the events) and reads as null.
  event::TableMeta snapshot_table;
  std::vector<std::optional<size_t>> snapshot_at;
  for (const event::ColumnMeta& column : table.columns) {
    const bool present = base.Find(column.name).has_value();
    snapshot_at.push_back(present ? std::optional<size_t>(snapshot_table.columns.size())
                                  : std::nullopt);
    if (present) snapshot_table.columns.push_back(column);
  }
  for (size_t k : table.key) snapshot_table.key.push_back(*snapshot_at[k]);
  table_reads_ = ColumnReads(*dialect_, snapshot_table, {}, ReadFrom::kTable);
  snapshot_table_ = std::move(snapshot_table);
  snapshot_at_ = std::move(snapshot_at);
  if (metadata_version_ != 0 && SameColumns(table, table_)) return;  // nothing changed
  const bool changed = metadata_version_ != 0;
  table_ = std::move(table);
  ++metadata_version_;
  widths_.clear();
  if (changed) {
    logger_.Info("change table columns changed; metadata reloaded",
                 {{"table", spec_.table.ToString()},
                  {"columns", static_cast<int64_t>(table_.columns.size())}});
  }
}

std::vector<std::string> OdbcChangeSource::Drift() {
  Connect();
  return ChangeTableDrift(*connection_, *dialect_, spec_.table, spec_.change_table, spec_.key,
                          spec_.key_setting, spec_.capture);
}

void OdbcChangeSource::LogDrift() {
  try {
    const std::vector<std::string> drift =
        ChangeTableDrift(*connection_, *dialect_, spec_.table, spec_.change_table, spec_.key,
                         spec_.key_setting, spec_.capture);
    if (drift.empty()) return;
    std::string what;
    for (const std::string& line : drift) what += (what.empty() ? "" : "; ") + line;
    logger_.Warn("the change table or its trigger is out of date with the table",
                 {{"table", spec_.table.ToString()}, {"differs", what}});
  } catch (const Error& e) {
    logger_.Debug("could not compare the change table with its table",
                  {{"table", spec_.table.ToString()}, {"error", e.what()}});
  }
}

bool OdbcChangeSource::SameColumns(const event::TableMeta& a, const event::TableMeta& b) {
  if (a.columns.size() != b.columns.size() || a.key != b.key) return false;
  for (size_t i = 0; i < a.columns.size(); ++i) {
    const event::ColumnMeta& x = a.columns[i];
    const event::ColumnMeta& y = b.columns[i];
    if (x.name != y.name || x.type != y.type || x.precision != y.precision || x.scale != y.scale ||
        x.length != y.length || x.nullable != y.nullable || x.db_type != y.db_type) {
      return false;
    }
  }
  return true;
}

bool OdbcChangeSource::ColumnsMatch(const std::vector<odbc::ColumnInfo>& columns) const {
  if (columns.size() != change_reads_.result_columns()) return false;
  for (size_t i = 0; i < layout_.columns.size(); ++i) {
    const std::string& name = layout_.columns[i].name;
    std::string_view described = name;
    // sqliteodbc describes a column named "a.b" as "b" (it takes the part after a dot for a
    // table prefix); the schema cookie notices SQLite's column changes anyway.
    if (*dialect_ == SqlDialect::kSqlite && name.find('.') != std::string::npos) {
      described = std::string_view(name).substr(name.rfind('.') + 1);
    }
    if (columns[kMetadataColumns + i].name != described) return false;
  }
  return true;
}

event::Row OdbcChangeSource::DecodeImage(size_t row,
                                         const std::vector<std::optional<size_t>>& at) const {
  event::Row image;
  image.reserve(table_.columns.size());
  for (size_t c = 0; c < table_.columns.size(); ++c) {
    const std::optional<std::string_view> text =
        at[c] ? change_reads_.Value(batch_, row, *at[c]) : std::nullopt;
    if (!text) {
      image.emplace_back(std::monostate{});
    } else {
      image.push_back(ValueFromText(table_.columns[c], *text));
    }
  }
  return image;
}

std::optional<event::Row> OdbcChangeSource::DecodeOldImage(size_t row, int64_t seq) const {
  // A row whose old-image columns are all null has none: the trigger that wrote it did not
  // record one (before_image was off) - a real old image has its key.
  const bool recorded = std::any_of(old_at_.begin(), old_at_.end(), [&](const auto& at) {
    return at && change_reads_.Value(batch_, row, *at).has_value();
  });
  if (!recorded) return std::nullopt;
  try {
    return DecodeImage(row, old_at_);
  } catch (const PermanentError& e) {
    // An old value the contract cannot carry (its own change was dead-lettered when it was
    // written): the update itself still goes out, without the old image.
    logger_.Warn("an update's old image cannot be carried; published without it",
                 {{"table", spec_.table.ToString()}, {"seq", seq}, {"error", e.what()}});
    return std::nullopt;
  }
}

bool OdbcChangeSource::SameDescriptions(const std::vector<odbc::ColumnInfo>& a,
                                        const std::vector<odbc::ColumnInfo>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].sql_type != b[i].sql_type || a[i].size != b[i].size ||
        a[i].decimal_digits != b[i].decimal_digits) {
      return false;
    }
  }
  return true;
}

ChangeBatch OdbcChangeSource::RunChangeQuery(const std::function<void(odbc::Statement&)>& execute) {
  for (int attempt = 0;; ++attempt) {
    odbc::Statement statement(*connection_);
    execute(statement);
    const std::vector<odbc::ColumnInfo> columns = statement.Columns();
    // A column retyped in place (ddl --apply widened it) keeps its name: the driver's
    // description of it (type, size, digits) changes, so the catalog is read again.
    if (!described_.empty() && attempt == 0 && !SameDescriptions(columns, described_)) {
      described_ = columns;
      const uint64_t version = metadata_version_;
      LoadMetadata();
      if (metadata_version_ != version) continue;
    }
    described_ = columns;
    if (!ColumnsMatch(columns)) {
      if (attempt > 0) {
        throw PermanentError("CHANGE_TABLE", "change table " + spec_.change_table.ToString() +
                                                 " columns do not match its catalog");
      }
      LoadMetadata();
      continue;
    }
    if (widths_.size() != columns.size()) widths_ = InitialWidths(columns);
    statement.SetFetchWidths(widths_);
    ChangeBatch out;
    try {
      while (statement.FetchBatch(batch_, kFetchRows, kMaxValueBytes)) {
        for (size_t r = 0; r < batch_.rows(); ++r) {
          ++out.rows;
          const int64_t seq = ParseSeq(batch_.Get(r, 0));
          try {
            ChangeRecord record;
            record.seq = seq;
            const std::string_view op = batch_.Get(r, 1).value_or("");
            if (op == "I") {
              record.op = event::Op::kCreate;
            } else if (op == "U") {
              record.op = event::Op::kUpdate;
            } else if (op == "D") {
              record.op = event::Op::kDelete;
            } else {
              throw PermanentError("VALUE", "CDC_OP \"" + std::string(op) + "\" is not I, U or D");
            }
            const std::optional<std::string_view> ts = batch_.Get(r, 2);
            record.change_ts_micros = ts ? event::ParseTimestamp(*ts) : 0;
            if (const auto txid = batch_.Get(r, 3)) record.txid = std::string(*txid);
            record.row = DecodeImage(r, data_at_);
            if (record.op == event::Op::kUpdate) record.before = DecodeOldImage(r, seq);
            out.records.push_back(std::move(record));
          } catch (const PermanentError& e) {
            PoisonRecord poison;
            poison.seq = seq;
            poison.error = e.what();
            for (size_t c = 0; c < columns.size(); ++c) {
              const auto text = batch_.Get(r, c);
              poison.columns.emplace_back(columns[c].name,
                                          text ? std::optional<std::string>(*text) : std::nullopt);
            }
            out.poison.push_back(std::move(poison));
          }
        }
      }
    } catch (const PermanentError& e) {
      const std::optional<size_t> column = statement.truncated_column();
      if (e.code() != "01004" || !column || batch_.width(*column) > kMaxValueBytes) throw;
      widths_[*column] = std::min(batch_.width(*column) * 4, kMaxValueBytes + 1);
      logger_.Debug("a value exceeded its fetch buffer; reading again with a wider one",
                    {{"table", spec_.table.ToString()},
                     {"column", columns[*column].name},
                     {"width", static_cast<int64_t>(widths_[*column])}});
      continue;
    }
    if (!out.poison.empty() && attempt == 0) {
      // A column retyped in place (ddl --apply widened it) keeps the names and the count the
      // result check compares: a value that does not decode may be the old metadata's fault.
      const uint64_t version = metadata_version_;
      LoadMetadata();
      if (metadata_version_ != version) continue;
    }
    if (schema_cookie_ && SchemaCookie() != schema_cookie_) {
      // The schema changed since the metadata was read: the rows may have the old column list.
      if (attempt > kMaxSchemaRetries) {
        throw TransientError("CHANGE_TABLE", "the schema of " + spec_.change_table.ToString() +
                                                 " keeps changing; reading again later");
      }
      LoadMetadata();
      continue;
    }
    return out;
  }
}

ChangeBatch OdbcChangeSource::ReadChanges(int64_t after_seq, const std::vector<SeqRange>& ranges,
                                          bool read_new, size_t limit) {
  if (ranges.size() > kMaxRangesPerRead) {
    throw PermanentError("CHANGE_TABLE",
                         "a read covers at most " + std::to_string(kMaxRangesPerRead) + " ranges");
  }
  if (ranges.empty() && !read_new) return {};
  Connect();
  return RunChangeQuery([&](odbc::Statement& statement) {
    // Built for each attempt: a reload of the metadata may have changed the select list.
    const SqlDialect d = *dialect_;
    const std::string& list = change_reads_.select_list();
    statement.Prepare(
        ranges.empty()
            ? NewChangesQuery(d, spec_.change_table, list, limit)
            : (read_new
                   ? NewAndGapChangesQuery(d, spec_.change_table, list, kMaxRangesPerRead, limit)
                   : GapChangesQuery(d, spec_.change_table, list, kMaxRangesPerRead, limit)));
    SQLUSMALLINT parameter = 1;
    if (read_new) statement.BindInt64(parameter++, after_seq);
    if (!ranges.empty()) {
      for (size_t i = 0; i < kMaxRangesPerRead; ++i) {
        const bool used = i < ranges.size();
        statement.BindInt64(parameter++, used ? ranges[i].first : 1);
        statement.BindInt64(parameter++, used ? ranges[i].last : 0);
      }
    }
    statement.Execute();
  });
}

std::optional<int64_t> OdbcChangeSource::QuerySeq(const std::string& sql) {
  odbc::Statement statement(*connection_);
  statement.ExecuteDirect(sql);
  odbc::RowBatch batch;
  std::optional<int64_t> seq;
  if (statement.FetchBatch(batch, 1, 64) && batch.Get(0, 0)) seq = ParseSeq(batch.Get(0, 0));
  return seq;
}

std::optional<int64_t> OdbcChangeSource::MaxSeq() {
  Connect();
  return QuerySeq(MaxSeqQuery(*dialect_, spec_.change_table));
}

std::optional<int64_t> OdbcChangeSource::MinSeq() {
  Connect();
  return QuerySeq(MinSeqQuery(*dialect_, spec_.change_table));
}

GapRule OdbcChangeSource::gap_rule() {
  Connect();
  return *dialect_ == SqlDialect::kSqlite ? GapRule::kSerialWriters : GapRule::kHorizon;
}

std::optional<TxHorizon> OdbcChangeSource::TransactionHorizon(bool with_mark) {
  Connect();
  const std::optional<std::string> sql = TransactionHorizonQuery(*dialect_, with_mark);
  if (!sql) throw PermanentError("HORIZON", "this source has no transaction horizon");
  std::vector<std::pair<std::string, int64_t>> rows;
  try {
    odbc::Statement statement(*connection_);
    statement.ExecuteDirect(*sql);
    odbc::RowBatch batch;
    while (statement.FetchBatch(batch, kFetchRows, 64)) {
      for (size_t r = 0; r < batch.rows(); ++r) {
        rows.emplace_back(std::string(batch.Get(r, 0).value_or("")), ParseSeq(batch.Get(r, 1)));
      }
    }
  } catch (const Error& e) {
    if (HorizonNotPermitted(*dialect_, e.code(), e.what())) return std::nullopt;
    throw;
  }
  TxHorizon horizon = ParseHorizon(*dialect_, rows);
  if (*dialect_ == SqlDialect::kPostgres && horizon.next) {
    // A fresh id is above every id assigned before it - but only if this statement ran in a
    // transaction of its own. The same id twice means the connection is not in autocommit mode.
    if (*horizon.next <= last_mark_) {
      throw PermanentError("HORIZON", "txid_current() returned " + std::to_string(*horizon.next) +
                                          " after " + std::to_string(last_mark_) +
                                          ": the source connection is inside one long "
                                          "transaction (autocommit is required)");
    }
    last_mark_ = *horizon.next;
  }
  return horizon;
}

SnapshotChunk OdbcChangeSource::ReadSnapshot(const std::optional<KeysetPosition>& after,
                                             size_t limit) {
  Connect();
  const event::TableMeta& read = snapshot_table_;
  std::vector<size_t> widths;
  bool reloaded = false;
  for (;;) {
    odbc::Statement statement(*connection_);
    try {
      statement.Prepare(SnapshotChunkQuery(*dialect_, spec_.table, read, table_reads_.select_list(),
                                           after.has_value(), limit));
      if (after) {
        const std::vector<size_t> order = KeysetParameterOrder(read.key.size());
        for (size_t i = 0; i < order.size(); ++i) {
          BindKeyValue(statement, static_cast<SQLUSMALLINT>(i + 1),
                       read.columns[read.key[order[i]]], after->at(order[i]));
        }
      }
      statement.Execute();
    } catch (const PermanentError&) {
      // A column dropped or renamed in the table since the metadata was read (the change
      // table keeps it, so nothing else noticed): read the catalog again, once.
      if (reloaded) throw;
      reloaded = true;
      LoadMetadata();
      continue;
    }
    if (widths.empty()) widths = InitialWidths(statement.Columns());
    statement.SetFetchWidths(widths);
    SnapshotChunk chunk;
    try {
      while (statement.FetchBatch(batch_, kFetchRows, kMaxValueBytes)) {
        for (size_t r = 0; r < batch_.rows(); ++r) {
          ++chunk.read;
          KeysetPosition key;
          for (size_t k : read.key) {
            const auto text = table_reads_.Value(batch_, r, k);
            key.push_back(text ? std::optional<std::string>(*text) : std::nullopt);
          }
          chunk.last_key = std::move(key);
          try {
            event::Row row;
            row.reserve(table_.columns.size());
            for (size_t c = 0; c < table_.columns.size(); ++c) {
              const auto text =
                  snapshot_at_[c] ? table_reads_.Value(batch_, r, *snapshot_at_[c]) : std::nullopt;
              if (!text) {
                row.emplace_back(std::monostate{});
              } else {
                row.push_back(ValueFromText(table_.columns[c], *text));
              }
            }
            chunk.rows.push_back(std::move(row));
          } catch (const PermanentError& e) {
            PoisonRecord poison;
            poison.error = e.what();
            for (size_t c = 0; c < read.columns.size(); ++c) {
              const auto text = table_reads_.Value(batch_, r, c);
              poison.columns.emplace_back(read.columns[c].name,
                                          text ? std::optional<std::string>(*text) : std::nullopt);
            }
            chunk.poison.push_back(std::move(poison));
          }
        }
      }
    } catch (const PermanentError& e) {
      const std::optional<size_t> column = statement.truncated_column();
      if (e.code() != "01004" || !column || batch_.width(*column) > kMaxValueBytes) throw;
      widths[*column] = std::min(batch_.width(*column) * 4, kMaxValueBytes + 1);
      continue;
    }
    return chunk;
  }
}

int64_t OdbcChangeSource::Purge(int64_t up_to_seq, int64_t above_seq) {
  Connect();
  odbc::Statement statement(*connection_);
  statement.Prepare(PurgeQuery(*dialect_, spec_.change_table));
  statement.BindInt64(1, up_to_seq);
  statement.BindInt64(2, above_seq);
  statement.Execute();
  return statement.RowCount();
}

}  // namespace cdc::producer

// Reading one table's change table (and, for snapshots, the table itself) over ODBC. The narrow
// interface the table worker polls through; OdbcChangeSource is the real implementation, tests
// may provide their own. A source is used by one thread.
//
// The change table is read with SELECT cdc_read.* (and an exact rendering of the columns whose
// driver text is not exact), so a column added to it (and to the table) is noticed at the next
// poll: the source re-reads the catalog and bumps metadata_version().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/event/change_event.h"
#include "common/event/types.h"
#include "common/log.h"
#include "common/odbc/odbc.h"
#include "producer/column_reads.h"
#include "producer/ddl.h"
#include "producer/dialect.h"
#include "producer/gap_tracker.h"

namespace cdc::producer {

// One change-table row, decoded.
struct ChangeRecord {
  int64_t seq = 0;
  event::Op op = event::Op::kCreate;  // I -> kCreate, U -> kUpdate, D -> kDelete
  int64_t change_ts_micros = 0;
  std::optional<std::string> txid;
  event::Row row;  // aligned with table().columns
  // An update's old image, aligned like `row`, when the change table records one (before_image)
  // and the row has it (a row the trigger wrote before before_image was on has not).
  std::optional<event::Row> before;
};

// A row that could not be decoded: published to the producer's dead-letter topic with this
// context instead of being lost or stalling the table.
struct PoisonRecord {
  int64_t seq = 0;
  std::string error;
  std::vector<std::pair<std::string, std::optional<std::string>>> columns;  // name -> driver text
  std::optional<int64_t> bytes;  // an event too large for Kafka: its size
  std::optional<int64_t> limit;  // and the limit it is over
};

struct ChangeBatch {
  std::vector<ChangeRecord> records;
  std::vector<PoisonRecord> poison;
  size_t rows = 0;  // rows read (records + poison)
};

// Raw key values (the driver's text) of the last row of a snapshot chunk: where the next starts.
using KeysetPosition = std::vector<std::optional<std::string>>;

struct SnapshotChunk {
  std::vector<event::Row> rows;
  std::vector<PoisonRecord> poison;
  std::optional<KeysetPosition> last_key;  // nullopt when the chunk was empty
  size_t read = 0;
};

class ChangeSource {
 public:
  virtual ~ChangeSource() = default;
  // Current metadata of the change stream: the change table's columns with the table's key; a
  // column is nullable unless the table declares it NOT NULL.
  virtual const event::TableMeta& table() = 0;
  virtual uint64_t metadata_version() const = 0;
  // One read of the change table in one statement (one snapshot): the changes inside `ranges`
  // (ascending, at most kMaxRangesPerRead) and, with `read_new`, those with CDC_SEQ > after_seq;
  // ascending, at most `limit` (a cut-short read is a prefix in CDC_SEQ order).
  virtual ChangeBatch ReadChanges(int64_t after_seq, const std::vector<SeqRange>& ranges,
                                  bool read_new, size_t limit) = 0;
  // The highest and lowest CDC_SEQ in the change table; nullopt when it is empty.
  virtual std::optional<int64_t> MaxSeq() = 0;
  virtual std::optional<int64_t> MinSeq() = 0;
  // The rule this source's gaps follow while its horizon can be read: kSerialWriters (SQLite) or
  // kHorizon (PostgreSQL, Oracle).
  virtual GapRule gap_rule() = 0;
  // The transaction horizon of a kHorizon source, `with_mark` or without; nullopt when the source
  // says the user may not read it (see HorizonNotPermitted). Any other failure throws.
  virtual std::optional<TxHorizon> TransactionHorizon(bool with_mark) = 0;
  // The next `limit` rows of the table in key order after `after` (from the start when nullopt).
  virtual SnapshotChunk ReadSnapshot(const std::optional<KeysetPosition>& after, size_t limit) = 0;
  // Deletes change rows with above_seq < CDC_SEQ <= up_to_seq; returns how many.
  virtual int64_t Purge(int64_t up_to_seq, int64_t above_seq) = 0;
  // Drops the connection (after a transient error); the next call reconnects.
  virtual void Disconnect() = 0;

  static constexpr size_t kMaxRangesPerRead = 16;
};

struct SourceTableSpec {
  TableName table;
  TableName change_table;
  std::vector<std::string> key;  // empty = primary key from the catalog
  std::string key_setting;       // config path for messages, e.g. producer.tables[0].key
  CaptureOptions capture;        // what the change table should record (ddl, check)
};

class OdbcChangeSource final : public ChangeSource {
 public:
  // `environment` must outlive the source. `dialect` nullopt = detect from the DBMS name.
  OdbcChangeSource(const odbc::Environment& environment, std::string connection_string,
                   std::optional<SqlDialect> dialect, SourceTableSpec spec, Logger logger);
  ~OdbcChangeSource() override;

  const event::TableMeta& table() override;
  uint64_t metadata_version() const override { return metadata_version_; }
  ChangeBatch ReadChanges(int64_t after_seq, const std::vector<SeqRange>& ranges, bool read_new,
                          size_t limit) override;
  std::optional<int64_t> MaxSeq() override;
  std::optional<int64_t> MinSeq() override;
  // What differs between the change table and trigger(s) and what `ddl` would make now (see
  // drift.h); empty when up to date.
  std::vector<std::string> Drift();
  GapRule gap_rule() override;
  std::optional<TxHorizon> TransactionHorizon(bool with_mark) override;
  SnapshotChunk ReadSnapshot(const std::optional<KeysetPosition>& after, size_t limit) override;
  int64_t Purge(int64_t up_to_seq, int64_t above_seq) override;
  void Disconnect() override;

  SqlDialect dialect();

 private:
  void Connect();
  void LoadMetadata();
  // The one number (or NULL) an aggregate query over the change table returns.
  std::optional<int64_t> QuerySeq(const std::string& sql);
  // Executes the prepared change query and decodes its rows; reloads the metadata and runs it
  // again when the change table's columns changed.
  ChangeBatch RunChangeQuery(const std::function<void(odbc::Statement&)>& execute);
  bool ColumnsMatch(const std::vector<odbc::ColumnInfo>& columns) const;
  static bool SameDescriptions(const std::vector<odbc::ColumnInfo>& a,
                               const std::vector<odbc::ColumnInfo>& b);
  // Row `row` of batch_ as table_'s columns, each read from the layout_ column `at` says (a
  // column without one is null); the old image of an update (nullopt when it has none).
  event::Row DecodeImage(size_t row, const std::vector<std::optional<size_t>>& at) const;
  std::optional<event::Row> DecodeOldImage(size_t row, int64_t seq) const;
  void LogDrift();
  static bool SameColumns(const event::TableMeta& a, const event::TableMeta& b);
  // SQLite's schema cookie (PRAGMA schema_version); nullopt for other dialects. sqliteodbc
  // describes a statement at prepare time, so a statement prepared just before a column was
  // added can return rows with the old column list: comparing the cookie after each read with
  // the one seen when the metadata was loaded catches that.
  std::optional<int64_t> SchemaCookie();

  const odbc::Environment& environment_;
  const std::string connection_string_;
  const std::optional<SqlDialect> configured_dialect_;
  const SourceTableSpec spec_;
  const Logger logger_;
  std::optional<SqlDialect> dialect_;
  std::unique_ptr<odbc::Connection> connection_;
  event::TableMeta table_;
  // The change table's columns after the metadata, as the catalog lists them (the table's
  // columns and any old-image columns), and where table_'s columns and their old images are.
  event::TableMeta layout_;
  std::vector<std::optional<size_t>> data_at_;  // always set
  std::vector<std::optional<size_t>> old_at_;
  // The columns of table_ the table itself still has (snapshots read those), and where each of
  // table_'s columns is among them.
  event::TableMeta snapshot_table_;
  std::vector<std::optional<size_t>> snapshot_at_;
  uint64_t metadata_version_ = 0;
  std::optional<int64_t> schema_cookie_;  // SchemaCookie() when the metadata was loaded
  int64_t last_mark_ = 0;                 // PostgreSQL: the last txid_current() mark
  std::vector<size_t> widths_;  // per change-table column fetch width (grown on truncation)
  std::vector<odbc::ColumnInfo> described_;  // the change query's result, as last described
  ColumnReads change_reads_;  // where the change queries' values are (column_reads.h)
  ColumnReads table_reads_;   // and the snapshot queries'

  odbc::RowBatch batch_;
};

// Adds sqliteodbc's busy timeout to SQLite connection strings that do not set one, so that
// polling while the application writes waits instead of failing with "database is locked".
std::string WithSourceDefaults(const std::string& connection_string);

}  // namespace cdc::producer

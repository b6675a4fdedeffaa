// Table metadata and events used by the Avro and JSON codec tests: one column of every type.
#pragma once

#include <sql.h>
#include <sqlext.h>

#include "common/event/change_event.h"
#include "common/event/types.h"

namespace cdc::testing {

inline event::TableMeta AllTypesTable() {
  using event::MapOdbcColumn;
  event::TableMeta table;
  table.db = "shop";
  table.schema = "SHOP";
  table.table = "ALL$TYPES";
  table.columns = {
      MapOdbcColumn("ID", SQL_BIGINT, 19, 0, false),
      MapOdbcColumn("SMALL", SQL_SMALLINT, 5, 0, true),
      MapOdbcColumn("PRICE", SQL_NUMERIC, 12, 2, true),
      MapOdbcColumn("BIG_DEC", SQL_NUMERIC, 38, 10, true),
      MapOdbcColumn("FREE_NUMBER", SQL_NUMERIC, 0, 0, true),
      MapOdbcColumn("RATIO", SQL_REAL, 7, 0, true),
      MapOdbcColumn("SCORE", SQL_DOUBLE, 15, 0, true),
      MapOdbcColumn("NAME", SQL_VARCHAR, 40, 0, true),
      MapOdbcColumn("NOTE#1", SQL_LONGVARCHAR, 0, 0, true),
      MapOdbcColumn("BLOB", SQL_LONGVARBINARY, 0, 0, true),
      MapOdbcColumn("BORN", SQL_TYPE_DATE, 10, 0, true),
      MapOdbcColumn("CREATED", SQL_TYPE_TIMESTAMP, 26, 6, true),
      MapOdbcColumn("UPDATED_TZ", 2014, 35, 6, true),
      MapOdbcColumn("ACTIVE", SQL_BIT, 1, 0, true),
      MapOdbcColumn("TOKEN", SQL_GUID, 36, 0, true),
      MapOdbcColumn("SPAN", SQL_INTERVAL_DAY_TO_SECOND, 20, 6, true),
  };
  table.key = {0};
  return table;
}

inline event::Row AllTypesRow(int64_t id) {
  using std::string;
  return {id,
          int64_t{-32768},
          string("-123.45"),
          string("1234567890123456789012345678.9012345678"),
          string("-0.000001"),
          0.5,
          -1.25e300,
          string("größe 日本 ✓"),
          string("line1\nline2 \"quoted\" \\ back"),
          string("\x00\x01\xff\xfe", 4),
          int64_t{20413},
          int64_t{1795249601123456},
          int64_t{-1},
          true,
          string("123e4567-e89b-12d3-a456-426614174000"),
          string("1 02:03:04.5")};
}

inline event::ChangeEvent UpdateEvent(const event::TableMeta& table, int64_t id) {
  event::ChangeEvent e;
  e.op = event::Op::kUpdate;
  e.before = AllTypesRow(id);
  (*e.before)[7] = std::string("old name");
  e.after = AllTypesRow(id);
  for (size_t index : table.key) e.key.push_back((*e.after)[index]);
  e.source = {"shop-pipeline", "shop", "SHOP", "ALL$TYPES", 42, 1795249601000000, "tx-7", false};
  e.ts_ms = 1795249601999;
  return e;
}

}  // namespace cdc::testing

// Avro schemas of a table's topic: a key schema (record of the key columns) and a value schema
// (the Debezium-shaped envelope: before/after row images, source record, op, ts_ms).
//
// Avro names must match [A-Za-z_][A-Za-z0-9_]*; source names may not (Oracle allows $, #, quoted
// names). SanitizeNames maps them deterministically and without collisions, and every field keeps
// its original name in the "cdc.column" property, so the mapping is reversible. Record-level
// properties carry the rest of the table metadata ("cdc.table", "cdc.key", per-field "cdc.length",
// "cdc.type"), so TableFromValueSchema rebuilds the TableMeta from a schema fetched by id.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/event/types.h"

namespace cdc::avro {

// Avro names for `names`, in order: invalid characters become '_', a leading digit gets a '_'
// prefix, and a name already taken gets "_2", "_3", ... (first come, first served).
std::vector<std::string> SanitizeNames(const std::vector<std::string>& names);
std::string SanitizeName(std::string_view name);

// Namespace for a table's records: "<prefix>.<schema>.<table>", each part sanitised.
std::string TableNamespace(std::string_view topic_prefix, const event::TableMeta& table);

// Schema JSON texts (stable: the same table always gives byte-identical text).
std::string KeySchema(std::string_view topic_prefix, const event::TableMeta& table);
std::string ValueSchema(std::string_view topic_prefix, const event::TableMeta& table);

// Rebuilds the table metadata from a value schema made by ValueSchema (columns, types,
// nullability, key order, source names). Throws PermanentError("SCHEMA") for other shapes.
event::TableMeta TableFromValueSchema(std::string_view value_schema_json);

}  // namespace cdc::avro

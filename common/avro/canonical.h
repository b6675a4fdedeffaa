// Avro schema identity: the Parsing Canonical Form (Avro spec, "Parsing Canonical Form for
// Schemas"), the normal form schema ids are derived from, and the CRC-64-AVRO (Rabin)
// fingerprint. avro-c has none of them. Ids are derived deterministically, so restarts and several
// producers agree on them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdc::avro {

// The Parsing Canonical Form of a schema given as JSON text. Throws PermanentError (code
// "SCHEMA") when the text is not JSON or not a schema shape this transform understands.
std::string ParsingCanonicalForm(std::string_view schema_json);

// CRC-64-AVRO of `bytes` (the spec's 64-bit Rabin fingerprint; "null" -> 0x63dd24e7cc258f8a).
uint64_t RabinFingerprint(std::string_view bytes);

// The schema's JSON in normal form: parsed and written again with sorted keys and no white
// space. Unlike the Parsing Canonical Form it keeps every attribute - logicalType, precision and
// scale (numeric(5,2) and numeric(10,4) have the same canonical form but are read differently),
// and the fields' source names (cdc.column). Throws PermanentError like ParsingCanonicalForm.
std::string SchemaNormalForm(std::string_view schema_json);

// Fingerprint of the schema's Parsing Canonical Form (the Avro spec's).
inline uint64_t SchemaFingerprint(std::string_view schema_json) {
  return RabinFingerprint(ParsingCanonicalForm(schema_json));
}

// A positive 31-bit schema id derived from a fingerprint (the low 31 bits; 0 maps to 1). Distinct
// schemas can collide; the schemas-topic registry treats a collision as a fatal error.
int32_t SchemaIdFromFingerprint(uint64_t fingerprint);

// The id the schemas-topic registry gives a schema: from the fingerprint of its normal form (a
// schema id stands for exactly one way to read the bytes).
inline int32_t SchemaIdFor(std::string_view schema_json) {
  return SchemaIdFromFingerprint(RabinFingerprint(SchemaNormalForm(schema_json)));
}

}  // namespace cdc::avro

// Avro schema identity: the Parsing Canonical Form (Avro spec, "Parsing Canonical Form for
// Schemas") and its CRC-64-AVRO (Rabin) fingerprint. avro-c has neither. Used to derive schema ids
// deterministically, so restarts and several producers agree on them.
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

// Fingerprint of the schema's canonical form.
inline uint64_t SchemaFingerprint(std::string_view schema_json) {
  return RabinFingerprint(ParsingCanonicalForm(schema_json));
}

// A positive 31-bit schema id derived from a fingerprint (the low 31 bits; 0 maps to 1). Distinct
// schemas can collide; the schemas-topic registry treats a collision as a fatal error.
int32_t SchemaIdFromFingerprint(uint64_t fingerprint);

}  // namespace cdc::avro

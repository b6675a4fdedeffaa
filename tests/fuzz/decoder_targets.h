// Fuzz targets for the change-event decoders. Each takes arbitrary bytes and must either decode
// them or throw cdc::PermanentError; anything else (another exception, a crash, an out-of-bounds
// read under ASan) is a bug. The same functions serve libFuzzer (LLVMFuzzerTestOneInput) and the
// deterministic mutation driver (decoder_fuzz.cc) that runs in tests/run.sh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cdc::fuzz {

// Avro: wire header + envelope body, and the key codec, with the all-types table.
void FuzzAvroMessage(const uint8_t* data, size_t size);
// JSON: envelope and key.
void FuzzJsonMessage(const uint8_t* data, size_t size);
// Schema JSON: canonical form and TableFromValueSchema.
void FuzzSchemaText(const uint8_t* data, size_t size);

// Valid inputs to start mutating from.
std::vector<std::string> AvroSeeds();
std::vector<std::string> JsonSeeds();
std::vector<std::string> SchemaSeeds();

}  // namespace cdc::fuzz

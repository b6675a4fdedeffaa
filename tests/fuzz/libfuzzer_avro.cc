// libFuzzer entry point for the Avro decoder, for machines with clang:
//   clang++ -std=c++20 -fsanitize=fuzzer,address -I. tests/fuzz/libfuzzer_avro.cc \
//     tests/fuzz/decoder_targets.cc <cdc_common sources or library> -o avro_fuzzer
// Not built by default (the project toolchain is GCC); decoder_fuzz.cc drives the same target.
#include "tests/fuzz/decoder_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cdc::fuzz::FuzzAvroMessage(data, size);
  cdc::fuzz::FuzzJsonMessage(data, size);
  return 0;
}

// Deterministic mutation fuzzing of the change-event decoders (no libFuzzer needed: clang is not
// part of the toolchain here). Mutates valid seeds with bit flips, boundary bytes, insertions,
// deletions, truncations and spliced ranges; each mutant goes through every fuzz target.
//
//   decoder_fuzz [--iterations N] [--seed S]
//
// Exits non-zero on a non-permanent exception; crashes and memory errors are caught by the
// sanitizer build that runs this in CI. Prints a progress line with counts and rate.
#include <chrono>
#include <cstring>
#include <exception>
#include <iostream>
#include <random>
#include <string>

#include "tests/fuzz/decoder_targets.h"

namespace {

std::string Mutate(const std::string& seed, const std::string& other, std::mt19937_64& rng) {
  std::string out = seed;
  const int rounds = 1 + static_cast<int>(rng() % 4);
  for (int r = 0; r < rounds; ++r) {
    const size_t pos = out.empty() ? 0 : rng() % out.size();
    switch (rng() % 7) {
      case 0:  // flip a bit
        if (!out.empty()) out[pos] = static_cast<char>(out[pos] ^ (1 << (rng() % 8)));
        break;
      case 1: {  // boundary byte
        static constexpr unsigned char kBytes[] = {0x00, 0x01, 0x7f, 0x80, 0xff,
                                                   0xfe, '"',  '{',  '\\'};
        if (!out.empty()) out[pos] = static_cast<char>(kBytes[rng() % sizeof(kBytes)]);
        break;
      }
      case 2:  // insert random bytes
        out.insert(pos, std::string(1 + rng() % 8, static_cast<char>(rng())));
        break;
      case 3:  // delete a range
        if (!out.empty()) out.erase(pos, 1 + rng() % 16);
        break;
      case 4:  // truncate
        out.resize(pos);
        break;
      case 5: {  // splice a range of another seed
        if (!other.empty()) {
          const size_t from = rng() % other.size();
          out.insert(pos, other.substr(from, 1 + rng() % 32));
        }
        break;
      }
      case 6: {  // varint-style long run of continuation bytes
        out.insert(pos, std::string(1 + rng() % 12, static_cast<char>(0x80 | (rng() & 0x7f))));
        break;
      }
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 20000;
  uint64_t seed = 20261121;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::stol(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = std::stoull(argv[i + 1]);
  }
  struct Target {
    const char* name;
    void (*fn)(const uint8_t*, size_t);
    std::vector<std::string> seeds;
  };
  std::vector<Target> targets = {{"avro", cdc::fuzz::FuzzAvroMessage, cdc::fuzz::AvroSeeds()},
                                 {"json", cdc::fuzz::FuzzJsonMessage, cdc::fuzz::JsonSeeds()},
                                 {"schema", cdc::fuzz::FuzzSchemaText, cdc::fuzz::SchemaSeeds()}};
  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  long runs = 0;
  try {
    for (Target& target : targets) {
      for (const std::string& s : target.seeds) {
        target.fn(reinterpret_cast<const uint8_t*>(s.data()), s.size());  // seeds must pass too
      }
      for (long i = 0; i < iterations; ++i) {
        const std::string& base = target.seeds[rng() % target.seeds.size()];
        const std::string& other = target.seeds[rng() % target.seeds.size()];
        const std::string input = Mutate(base, other, rng);
        target.fn(reinterpret_cast<const uint8_t*>(input.data()), input.size());
        ++runs;
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cout << "fuzz " << target.name << ": " << runs << " inputs, "
                << static_cast<long>(runs / (seconds > 0 ? seconds : 1)) << " inputs/s\n"
                << std::flush;
    }
  } catch (const std::exception& e) {
    std::cerr << "fuzz: unexpected exception (not a PermanentError): " << e.what() << "\n";
    return 1;
  }
  std::cout << "fuzz: " << runs << " inputs, no crash, only permanent errors\n";
  return 0;
}

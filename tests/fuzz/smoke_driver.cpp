// Runs a fuzz target without libFuzzer: each seed file as it is, then every
// truncation at a spread of lengths and a fixed pseudo-random set of byte
// flips. A crash or sanitizer report fails the ctest entry.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

constexpr int kTruncations = 64;
constexpr int kFlips = 256;

void run(const std::vector<std::uint8_t>& input) { LLVMFuzzerTestOneInput(input.data(), input.size()); }

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t state = 0x9E3779B97F4A7C15ull;  // fixed seed: the same mutations in every run
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int inputs = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot open seed\n", argv[i]);
      return 2;
    }
    const std::vector<std::uint8_t> seed{std::istreambuf_iterator<char>(in), {}};
    run(seed);
    for (int t = 0; t < kTruncations; ++t) {
      run(std::vector<std::uint8_t>(seed.begin(), seed.begin() + seed.size() * t / kTruncations));
    }
    for (int f = 0; f < kFlips && !seed.empty(); ++f) {
      std::vector<std::uint8_t> mutated = seed;
      mutated[next() % mutated.size()] ^= static_cast<std::uint8_t>(1u << (next() % 8));
      run(mutated);
    }
    inputs += 1 + kTruncations + kFlips;
  }
  std::printf("%d inputs, no crash\n", inputs);
  return 0;
}

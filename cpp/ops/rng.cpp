// Seeded, counter-based random fill: the demo model's weights, generated natively and fast, the
// same on every machine and for any thread count.
#include <thread>
#include <vector>

#include "ops.h"
#include "../platform/platform.h"

#if INT4_HAVE_TARGET_CLONES
// x86-64-v4 has AVX-512DQ's 64-bit multiply, which the hash needs to vectorize. Integer ops and
// two rounded float multiplies: every version gives the same values.
#define INT4_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define INT4_CLONES
#endif

namespace int4 {

namespace {

inline uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

INT4_CLONES
void fill_range(float* dst, int64_t i0, int64_t i1, uint64_t key, uint64_t offset, float scale) {
  // Irwin-Hall: four uniforms on [0, 65535] sum to mean 131070, variance 4 * (65536^2 - 1) / 12.
  const float inv_sd = 1.0f / 37837.2f;
  for (int64_t i = i0; i < i1; i++) {
    const uint64_t r = splitmix64(key ^ (offset + static_cast<uint64_t>(i)) * 0xD1B54A32D192ED03ull);
    const int32_t s = static_cast<int32_t>(r & 0xFFFF) + static_cast<int32_t>((r >> 16) & 0xFFFF) +
                      static_cast<int32_t>((r >> 32) & 0xFFFF) + static_cast<int32_t>(r >> 48) - 131070;
    dst[i] = scale * (static_cast<float>(s) * inv_sd);
  }
}

}  // namespace

void fill_normal_f32(float* dst, int64_t n, uint64_t seed, uint64_t offset, float scale, int threads) {
  const uint64_t key = splitmix64(seed);
  if (threads <= 1 || n < (1 << 20)) {
    fill_range(dst, 0, n, key, offset, scale);
    return;
  }
  std::vector<std::thread> pool;
  const int64_t per = (n + threads - 1) / threads;
  for (int t = 1; t < threads; t++) {
    const int64_t a = t * per, b = a + per < n ? a + per : n;
    if (a < b) pool.emplace_back(fill_range, dst, a, b, key, offset, scale);
  }
  fill_range(dst, 0, per < n ? per : n, key, offset, scale);
  for (auto& th : pool) th.join();
}

}  // namespace int4

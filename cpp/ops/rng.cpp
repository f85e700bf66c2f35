// Seeded, counter-based random fill: the demo model's weights, generated natively and fast, the
// same on every machine and for any thread count.
#include <thread>
#include <vector>

#include "ops.h"
#include "ops_table.h"

namespace int4 {

void fill_normal_f32(float* dst, int64_t n, uint64_t seed, uint64_t offset, float scale, int threads) {
  const auto fill = active_ops().fill_normal;  // the values do not depend on the ISA
  if (threads <= 1 || n < (1 << 20)) {
    fill(dst, 0, n, seed, offset, scale);
    return;
  }
  std::vector<std::thread> pool;
  const int64_t per = (n + threads - 1) / threads;
  for (int t = 1; t < threads; t++) {
    const int64_t a = t * per, b = a + per < n ? a + per : n;
    if (a < b) pool.emplace_back(fill, dst, a, b, seed, offset, scale);
  }
  fill(dst, 0, per < n ? per : n, seed, offset, scale);
  for (auto& th : pool) th.join();
}

}  // namespace int4

// Splits [0, n) into contiguous ranges run on std::threads (the calling
// thread takes the first), for the consumer-side CPU kernels; the group ops
// size their own pool with usable_threads. torch's thread pool is not
// reachable through the stable ABI, and OpenMP would clash with torch's own.
#pragma once

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

namespace groupquant {
namespace cpu_backend {

// CPUs this process may run on (affinity and cgroup cpusets included, which
// hardware_concurrency ignores); GROUPQUANT_CPU_THREADS overrides.
inline int64_t usable_threads() {
  static const int64_t n = [] {
    const char* env = std::getenv("GROUPQUANT_CPU_THREADS");
    if (env != nullptr) {
      const long v = std::strtol(env, nullptr, 10);
      if (v > 0) return static_cast<int64_t>(v);
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
      return static_cast<int64_t>(CPU_COUNT(&set));
    }
    const unsigned h = std::thread::hardware_concurrency();
    return static_cast<int64_t>(h > 0 ? h : 1);
  }();
  return n;
}

// fn(begin, end) over [0, n); `elems_per_item` sizes the split so that no
// thread gets less than ~64K elements (below that a thread costs more than
// it saves).
template <typename Fn>
void parallel_ranges(int64_t n, int64_t elems_per_item, const Fn& fn) {
  if (n <= 0) return;
  constexpr int64_t kMinElems = int64_t{1} << 16;
  const int64_t per = std::max<int64_t>(1, elems_per_item);
  int64_t threads = std::min(usable_threads(), n);
  const int64_t by_work = n > INT64_MAX / per ? threads : n * per / kMinElems;
  threads = std::min(threads, std::max<int64_t>(1, by_work));
  if (threads <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads - 1));
  const int64_t base = n / threads, extra = n % threads;
  const int64_t first_end = base + (extra > 0 ? 1 : 0);
  int64_t begin = first_end;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t end = begin + base + (t < extra ? 1 : 0);
    try {
      pool.emplace_back([&fn, begin, end] { fn(begin, end); });
    } catch (...) {
      fn(begin, end);  // no thread to be had: run it here
    }
    begin = end;
  }
  fn(int64_t{0}, first_end);
  for (std::thread& th : pool) th.join();
}

}  // namespace cpu_backend
}  // namespace groupquant

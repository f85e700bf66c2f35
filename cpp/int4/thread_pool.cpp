// The thread pool behind parallel_for: workers are started on first need and live for the
// process; each job publishes (fn, arg, ntasks) under a mutex, bumps a generation counter and
// wakes the workers it needs; everyone takes tasks from one atomic counter.
//
// Token generation runs ~150 small jobs per token, tens of microseconds apart. Waking a thread
// parked on a condition variable costs about as much as a job here, so workers (and the caller
// waiting for them) first spin for a short while (spin_time) and only then park.
#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "platform/platform.h"

namespace int4 {

int default_threads() {
  static const int n = platform::available_cores();
  return n;
}

namespace {

// How long to spin before parking: INT4_SPIN_US (microseconds; 0 parks at once), default 200.
std::chrono::microseconds spin_time() {
  static const std::chrono::microseconds t = [] {
    const char* e = std::getenv("INT4_SPIN_US");
    const long v = e && *e ? std::strtol(e, nullptr, 10) : 200;
    return std::chrono::microseconds(v < 0 ? 0 : v > 100000 ? 100000 : v);
  }();
  return t;
}

// A yield (sched_yield on Linux, SwitchToThread on Windows), not a pause instruction: on a machine
// with more runnable threads than cores a spinning worker must hand its core to the thread whose
// work it is waiting for.
inline void cpu_relax() { std::this_thread::yield(); }

// Spins until done() or kSpin passed; returns done().
template <class F>
bool spin_until(F done) {
  const auto limit = spin_time();
  if (limit.count() == 0) return done();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 1;; i++) {
    if (done()) return true;
    cpu_relax();
    if (i % 16 == 0 && std::chrono::steady_clock::now() - t0 > limit) return done();
  }
}

class Pool {
 public:
  void run(int threads, int64_t ntasks, void (*fn)(void*, int64_t), void* arg) {
    if (threads <= 0) threads = default_threads();
    if (threads > ntasks) threads = static_cast<int>(ntasks);
    if (threads <= 1) {
      for (int64_t t = 0; t < ntasks; t++) fn(arg, t);
      return;
    }
    std::lock_guard<std::mutex> job_lock(job_mutex_);  // one job at a time
    {
      std::lock_guard<std::mutex> lk(m_);
      while (static_cast<int>(workers_.size()) < threads - 1) {
        const int id = static_cast<int>(workers_.size());
        workers_.emplace_back([this, id] { worker(id); });
      }
      fn_ = fn;
      arg_ = arg;
      ntasks_ = ntasks;
      next_.store(0);
      active_ = threads - 1;  // workers 0..threads-2 take part
      pending_.store(threads - 1);
      error_ = nullptr;
      generation_.store(generation_.load() + 1, std::memory_order_release);
    }
    cv_.notify_all();
    work();
    spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [this] { return pending_.load() == 0; });
    if (error_) std::rethrow_exception(error_);
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void work() {
    for (;;) {
      const int64_t t = next_.fetch_add(1);
      if (t >= ntasks_) return;
      try {
        fn_(arg_, t);
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
        next_.store(ntasks_);  // stop handing out tasks
      }
    }
  }

  void worker(int id) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(m_);
    for (;;) {
      if (generation_.load() == seen && !stop_) {
        lk.unlock();
        spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
        lk.lock();
      }
      cv_.wait(lk, [&] { return stop_ || generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
      if (id >= active_) continue;  // not needed for this job
      lk.unlock();
      work();
      lk.lock();
      if (pending_.fetch_sub(1) == 1) done_cv_.notify_one();
    }
  }

  std::mutex job_mutex_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> workers_;
  void (*fn_)(void*, int64_t) = nullptr;
  void* arg_ = nullptr;
  int64_t ntasks_ = 0;
  std::atomic<int64_t> next_{0};
  int active_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
  std::exception_ptr error_;
};

Pool& pool() {
  // Never destroyed: workers may be parked in a wait when the process exits, and joining them
  // from a static destructor (possibly after Node tore down) is not worth the risk.
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

void parallel_for(int threads, int64_t ntasks, void (*fn)(void*, int64_t), void* arg) {
  if (ntasks <= 0) return;
  pool().run(threads, ntasks, fn, arg);
}

}  // namespace int4

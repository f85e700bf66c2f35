// A persistent pool of worker threads for matmul and the model's operators (attention, f32 GEMM,
// the elementwise ones on big batches). One job runs at a time (jobs from several
// libuv threads queue on a mutex); the caller works too, so `threads` = workers used + 1.
#pragma once
#include <cstdint>

namespace int4 {

// Cores this process may run on (platform::available_cores), at least 1: the default thread count.
int default_threads();

// Runs fn(arg, task) for task in [0, ntasks) on up to `threads` threads (0: default_threads()).
// Tasks are handed out dynamically; fn must make each task's result independent of the thread
// that runs it. Returns when all tasks are done. An exception from fn is rethrown here.
void parallel_for(int threads, int64_t ntasks, void (*fn)(void* arg, int64_t task), void* arg);

}  // namespace int4

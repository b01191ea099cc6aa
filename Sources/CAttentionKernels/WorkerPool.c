// A few helper threads that stay awake between parallel calls: the engine's threads for work
// split across cores (the fused attention's work items, elementwise layers, decoding's
// matrix-vector products).
//
// Why not Dispatch: much of this work lasts 20–1,000 µs per call, back to back. Waking a worker
// of Dispatch's pool (`concurrentPerform`) took ~50 µs on the 2-vCPU machines measured: two 50 µs
// shares took 100 µs (the caller ran both before the worker woke), two 300 µs shares 358 µs. The
// helpers here spin on a generation counter for a short while after each call (yielding the core
// on every turn, so a thread of OpenBLAS's or Dispatch's that needs the core gets it), then sleep
// on a condition variable until the next call. OpenBLAS's, OpenMP's and ONNX Runtime's thread
// pools work the same way.
//
// One call runs on the pool at a time; a caller that finds it busy (another thread's call, or a
// call from inside a task) runs the task alone, as worker 0 of 1.

#if defined(__linux__)
#define _GNU_SOURCE  // sched_getcpu, CPU_SET
#endif

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "CAttentionKernels.h"

// How long an idle helper keeps spinning before it sleeps.
#define ATTN_POOL_SPIN_NANOSECONDS 200000

typedef struct attn_pool_call {
  attn_pool_task task;
  void *context;
  size_t workers;
  int caller_cpu;  // the CPU the caller ran on when it published the call, or -1
} attn_pool_call;

static pthread_mutex_t pool_busy = PTHREAD_MUTEX_INITIALIZER;  // held for a whole call
static pthread_mutex_t pool_sleep = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static attn_pool_call pool_call;             // written under pool_busy before `generation` moves
static atomic_uint_fast64_t generation = 0;  // one step per call
static atomic_size_t unfinished = 0;         // helpers yet to report the current call
static atomic_size_t sleepers = 0;
static size_t started = 0;  // helpers running; changed under pool_busy only
// Each helper's first generation, written before its thread is created.
static uint_fast64_t start_generation[ATTN_POOL_MAX_WORKERS];

static uint64_t now_nanoseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int current_cpu(void) {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

// Moves the calling helper off `cpu` when it woke up on the caller's CPU. After a helper has
// slept, the kernel sometimes wakes it on the CPU of the thread that woke it, and the two then
// share that CPU — the call runs at one thread's speed — until the load balancer separates them,
// which measured up to 10 ms on the 2-vCPU machines (1×12×128×64 attention: 0.56 ms per call
// instead of 0.30 for whole bursts of calls after a pause). Excluding the CPU from the helper's
// affinity moves it at once; the allowed set is then restored, so the helper stays free to run
// anywhere the process may.
static void move_off(int cpu) {
#if defined(__linux__)
  if (cpu < 0 || cpu >= CPU_SETSIZE) return;
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  if (!CPU_ISSET(cpu, &allowed) || CPU_COUNT(&allowed) < 2) return;
  cpu_set_t others = allowed;
  CPU_CLR(cpu, &others);
  if (sched_setaffinity(0, sizeof others, &others) == 0) {
    sched_setaffinity(0, sizeof allowed, &allowed);
  }
#else
  (void)cpu;
#endif
}

static void *helper_main(void *argument) {
  const size_t index = (size_t)(uintptr_t)argument;  // 1, 2, …: worker 0 is the caller
  // The generation before the call that started this helper (not a fresh read: the caller may
  // have moved it on before this thread runs, and the helper must take part in that call).
  uint_fast64_t seen = start_generation[index];
  for (;;) {
    uint64_t idle_since = now_nanoseconds();
    uint_fast64_t current;
    while ((current = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
      if (now_nanoseconds() - idle_since < ATTN_POOL_SPIN_NANOSECONDS) {
        sched_yield();
        continue;
      }
      // Sleep. The caller moves `generation` before it reads `sleepers`, and this thread counts
      // itself a sleeper before it reads `generation` (both sequentially consistent), so either
      // the caller sees the sleeper and broadcasts under the mutex, or this thread sees the new
      // generation and does not wait.
      pthread_mutex_lock(&pool_sleep);
      atomic_fetch_add(&sleepers, 1);
      while (atomic_load(&generation) == seen) pthread_cond_wait(&pool_wake, &pool_sleep);
      atomic_fetch_sub(&sleepers, 1);
      pthread_mutex_unlock(&pool_sleep);
      idle_since = now_nanoseconds();
    }
    seen = current;
    // Every helper reports every call, also one it has no share of: the caller waits for all of
    // them, so no helper still reads `pool_call` when the next call overwrites it.
    if (index < pool_call.workers) {
      if (pool_call.caller_cpu >= 0 && current_cpu() == pool_call.caller_cpu) {
        move_off(pool_call.caller_cpu);
      }
      pool_call.task(pool_call.context, index, pool_call.workers);
    }
    atomic_fetch_sub_explicit(&unfinished, 1, memory_order_release);
  }
  return NULL;
}

// Starts helpers until `count` run; returns how many do (fewer if the system refuses threads).
static size_t start_helpers(size_t count) {
  while (started < count) {
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    start_generation[started + 1] = atomic_load(&generation);
    const int failed =
        pthread_create(&thread, &attributes, helper_main, (void *)(uintptr_t)(started + 1));
    pthread_attr_destroy(&attributes);
    if (failed) break;
    started += 1;
  }
  return started;
}

size_t attn_pool_run(size_t workers, attn_pool_task task, void *context) {
  size_t helpers = workers > 1 ? workers - 1 : 0;
  if (helpers > ATTN_POOL_MAX_WORKERS - 1) helpers = ATTN_POOL_MAX_WORKERS - 1;
  if (helpers == 0 || pthread_mutex_trylock(&pool_busy) != 0) {
    task(context, 0, 1);
    return 1;
  }
  const size_t running = start_helpers(helpers);
  const size_t count = (running < helpers ? running : helpers) + 1;
  pool_call = (attn_pool_call){task, context, count, current_cpu()};
  atomic_store_explicit(&unfinished, running, memory_order_relaxed);
  atomic_fetch_add(&generation, 1);  // publishes pool_call and unfinished
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&pool_sleep);
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_sleep);
  }
  task(context, 0, count);
  while (atomic_load_explicit(&unfinished, memory_order_acquire) > 0) sched_yield();
  pthread_mutex_unlock(&pool_busy);
  return count;
}

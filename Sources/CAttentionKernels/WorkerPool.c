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
//
// The shares of a call are claimed, not assigned: the caller and each helper that joins take
// the next unclaimed share until none is left, and the caller closes the call once it finds none
// left, so a helper that has not joined by then stays out. The caller then waits only for the
// helpers running a share. A helper that is not running — its core taken by another process's
// thread, as on a loaded machine — thus costs the call its parallelism, not a scheduler tick:
// when the caller waited for every helper, a 2-worker `Linear` map measured 4.0 ms instead of
// 0.1 while two other processes' threads kept both cores busy (AMD EPYC Zen 4, 2 vCPUs) (the helper ran only when the kernel's
// 4 ms tick preempted one of them).

#if defined(__linux__)
#define _GNU_SOURCE  // sched_getcpu, CPU_SET
#endif

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
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
static atomic_size_t next_share = 0;         // the current call's first unclaimed share
static atomic_size_t sleepers = 0;

// Who may still run a share of the current call, in one word so that joining and closing are
// one atomic step each: the call's generation (low 32 bits) in the high half, then a closed
// flag, then the number of helpers that joined and have not finished. A helper joins only while
// the word holds the generation it saw and the call is open, so it never reads `pool_call` of a
// call the caller has left.
static atomic_uint_fast64_t call_word = 0;
#define ATTN_CALL_CLOSED ((uint_fast64_t)1 << 31)
#define ATTN_CALL_ACTIVE_MASK (ATTN_CALL_CLOSED - 1)

static uint_fast64_t call_word_for(uint_fast64_t generation_value) {
  return (generation_value & 0xFFFFFFFFu) << 32;
}

// Runs unclaimed shares of the current call until none is left.
static void run_shares(size_t workers) {
  for (;;) {
    const size_t share = atomic_fetch_add_explicit(&next_share, 1, memory_order_relaxed);
    if (share >= workers) return;
    pool_call.task(pool_call.context, share, workers);
  }
}
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
    // Join the call while it is open and still the one seen; else it is closed (every share
    // claimed) or over, and this helper waits for the next.
    const uint_fast64_t open = call_word_for(current);
    uint_fast64_t word = atomic_load_explicit(&call_word, memory_order_acquire);
    bool joined = false;
    while ((word & ~ATTN_CALL_ACTIVE_MASK) == open) {
      if (atomic_compare_exchange_weak_explicit(&call_word, &word, word + 1, memory_order_acq_rel,
                                                memory_order_acquire)) {
        joined = true;
        break;
      }
    }
    if (!joined) continue;
    if (index < pool_call.workers) {
      if (pool_call.caller_cpu >= 0 && current_cpu() == pool_call.caller_cpu) {
        move_off(pool_call.caller_cpu);
      }
      run_shares(pool_call.workers);
    }
    atomic_fetch_sub_explicit(&call_word, 1, memory_order_release);
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
  atomic_store_explicit(&next_share, 0, memory_order_relaxed);
  const uint_fast64_t call = atomic_load_explicit(&generation, memory_order_relaxed) + 1;
  atomic_store_explicit(&call_word, call_word_for(call), memory_order_relaxed);
  atomic_fetch_add(&generation, 1);  // publishes pool_call, next_share and call_word
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&pool_sleep);
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_sleep);
  }
  run_shares(count);
  // Every share is claimed: close the call, then wait for the helpers still running one.
  atomic_fetch_or_explicit(&call_word, ATTN_CALL_CLOSED, memory_order_acq_rel);
  while ((atomic_load_explicit(&call_word, memory_order_acquire) & ATTN_CALL_ACTIVE_MASK) != 0) {
    sched_yield();
  }
  pthread_mutex_unlock(&pool_busy);
  return count;
}

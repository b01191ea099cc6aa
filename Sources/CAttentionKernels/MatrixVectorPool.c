// Matrix-vector products split across cores by a few helper threads that stay awake between
// calls: decoding's weight products.
//
// Why not Dispatch: a decoder step is ~120 products of 50–4,500 µs each, back to back. Each is
// bound by memory bandwidth, so both cores must stream from its first microsecond; a helper that
// has to be woken (Dispatch's pool, a condition variable: 10 µs median, 60 µs at worst on the
// 2-vCPU machines measured) loses a large share of the shorter ones, and measured end to end the
// decoder ran 30 % slower with Dispatch than with OpenBLAS's sgemv. The helpers here spin on a
// generation counter for a short while after each product (yielding the core on every turn, so a
// thread of OpenBLAS's or Dispatch's that needs the core gets it), then sleep on a condition
// variable until the next product. OpenBLAS's and OpenMP's thread pools work the same way.
//
// One product runs on the pool at a time; a caller that finds it busy (another thread's product,
// or a call from inside a helper) computes its product alone, which gives the same result: each
// element of y is one row's dot product, whichever thread computes it.

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "Variants.h"

// Helpers beyond this are never started: the product is bandwidth-bound well before.
#define ATTN_POOL_MAX_HELPERS 15
// How long an idle helper keeps spinning before it sleeps.
#define ATTN_POOL_SPIN_NANOSECONDS 200000

typedef struct attn_matvec_job {
  const attn_row_kernels *kernels;
  bool is_double;
  size_t workers, rows, columns, lda;
  double alpha;
  const void *a, *x;
  void *y;
  bool accumulate;
} attn_matvec_job;

static pthread_mutex_t pool_busy = PTHREAD_MUTEX_INITIALIZER;  // held for a whole product
static pthread_mutex_t pool_sleep = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static attn_matvec_job pool_job;              // written under pool_busy before `generation` moves
static atomic_uint_fast64_t generation = 0;  // one step per product
static atomic_size_t unfinished = 0;         // helpers yet to report the current product
static atomic_size_t sleepers = 0;
static size_t started = 0;  // helpers running; changed under pool_busy only
// Each helper's first generation, written before its thread is created.
static uint_fast64_t start_generation[ATTN_POOL_MAX_HELPERS + 1];

// Rows [begin, end) of the job: whole blocks of four rows per worker, so each runs the kernel's
// widest block, and the split depends only on the row count and the number of workers.
static void run_share(const attn_matvec_job *job, size_t worker) {
  const size_t blocks = (job->rows + 3) / 4;
  size_t begin = 4 * (blocks * worker / job->workers);
  size_t end = 4 * (blocks * (worker + 1) / job->workers);
  if (end > job->rows) end = job->rows;
  if (begin >= end) return;
  if (job->is_double) {
    const double *a = (const double *)job->a + begin * job->lda;
    job->kernels->matvec_f64(end - begin, job->columns, job->alpha, a, job->lda, job->x,
                             job->accumulate, (double *)job->y + begin);
  } else {
    const float *a = (const float *)job->a + begin * job->lda;
    job->kernels->matvec_f32(end - begin, job->columns, (float)job->alpha, a, job->lda, job->x,
                             job->accumulate, (float *)job->y + begin);
  }
}

static uint64_t now_nanoseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *helper_main(void *argument) {
  const size_t index = (size_t)(uintptr_t)argument;  // 1, 2, …: worker 0 is the caller
  // The generation before the product that started this helper (not a fresh read: the caller
  // may have moved it on before this thread runs, and the helper must take part in that product).
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
    // Every helper reports every product, also one it has no share of: the caller waits for all
    // of them, so no helper still reads `pool_job` when the next product overwrites it.
    if (index < pool_job.workers) run_share(&pool_job, index);
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

static void matvec_pool(attn_matvec_job job) {
  size_t helpers = job.workers > 1 ? job.workers - 1 : 0;
  if (helpers > ATTN_POOL_MAX_HELPERS) helpers = ATTN_POOL_MAX_HELPERS;
  if (helpers == 0 || pthread_mutex_trylock(&pool_busy) != 0) {
    job.workers = 1;
    run_share(&job, 0);
    return;
  }
  const size_t running = start_helpers(helpers);
  job.workers = (running < helpers ? running : helpers) + 1;
  pool_job = job;
  atomic_store_explicit(&unfinished, running, memory_order_relaxed);
  atomic_fetch_add(&generation, 1);  // publishes pool_job and unfinished
  if (atomic_load(&sleepers) > 0) {
    pthread_mutex_lock(&pool_sleep);
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_sleep);
  }
  run_share(&job, 0);
  while (atomic_load_explicit(&unfinished, memory_order_acquire) > 0) sched_yield();
  pthread_mutex_unlock(&pool_busy);
}

void attn_parallel_matvec_f32(const attn_row_kernels *kernels, size_t workers, size_t rows,
                              size_t columns, float alpha, const float *a, size_t lda,
                              const float *x, bool accumulate, float *y) {
  matvec_pool((attn_matvec_job){kernels, false, workers, rows, columns, lda, alpha, a, x, y,
                                accumulate});
}

void attn_parallel_matvec_f64(const attn_row_kernels *kernels, size_t workers, size_t rows,
                              size_t columns, double alpha, const double *a, size_t lda,
                              const double *x, bool accumulate, double *y) {
  matvec_pool((attn_matvec_job){kernels, true, workers, rows, columns, lda, alpha, a, x, y,
                                accumulate});
}

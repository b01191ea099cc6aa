// Matrix-vector products split across cores on the worker pool (WorkerPool.c): decoding's weight
// products, each bound by memory bandwidth, so both cores must stream from its first microsecond.
// Each element of y is one row's dot product, whichever thread computes it, so the result does
// not depend on the number of workers.

#include "CAttentionKernels.h"

typedef struct attn_matvec_job {
  const attn_row_kernels *kernels;
  bool is_double;
  size_t rows, columns, lda;
  double alpha;
  const void *a, *x;
  void *y;
  bool accumulate;
} attn_matvec_job;

// Worker `worker` of `workers`: whole blocks of four rows each, so each runs the kernel's widest
// block, and the split depends only on the row count and the number of workers.
static void run_share(void *context, size_t worker, size_t workers) {
  const attn_matvec_job *job = context;
  const size_t blocks = (job->rows + 3) / 4;
  size_t begin = 4 * (blocks * worker / workers);
  size_t end = 4 * (blocks * (worker + 1) / workers);
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

void attn_parallel_matvec_f32(const attn_row_kernels *kernels, size_t workers, size_t rows,
                              size_t columns, float alpha, const float *a, size_t lda,
                              const float *x, bool accumulate, float *y) {
  attn_matvec_job job = {kernels, false, rows, columns, lda, alpha, a, x, y, accumulate};
  attn_pool_run(workers, run_share, &job);
}

void attn_parallel_matvec_f64(const attn_row_kernels *kernels, size_t workers, size_t rows,
                              size_t columns, double alpha, const double *a, size_t lda,
                              const double *x, bool accumulate, double *y) {
  attn_matvec_job job = {kernels, true, rows, columns, lda, alpha, a, x, y, accumulate};
  attn_pool_run(workers, run_share, &job);
}

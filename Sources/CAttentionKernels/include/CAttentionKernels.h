// The hot row loops of the attention kernels (exp with the running sum, row maximum, scaling, the
// non-finite scan), the small tiles' matrix product, decoding's matrix-vector product and the
// activations of transformer MLPs, compiled once per x86 instruction set and chosen at run time;
// and the worker pool whose helper threads run the engine's parallel work (WorkerPool.c).
//
// An implementation detail of the `Attention` module, with no stable API: only
// `Sources/Attention/Kernels/VectorKernels.swift` imports it. Swift has no per-function target
// attribute, so a plain `swift build` compiles Swift SIMD code for the x86-64 baseline (SSE2, no
// FMA); C does have one. Each variant below is compiled with `__attribute__((target(...)))` for
// its instruction set, and `attn_active_kernels` picks the widest one the CPU supports, once per
// process (as PyTorch's CPU capability dispatch, ggml and simdjson do).
//
// Every exported symbol starts with `attn_`.

#ifndef C_ATTENTION_KERNELS_H
#define C_ATTENTION_KERNELS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction sets a variant of the kernels is compiled for. The values are ordered: a
/// larger one runs everything a smaller one can.
typedef enum attn_isa {
  /// Plain C, one element at a time: the variant of non-x86 processors (also built on x86-64,
  /// where the tests compare it with the vector variants and `ATTENTION_ISA=portable` picks it).
  ATTN_ISA_PORTABLE = 0,
  /// SSE2 with 128-bit registers: the x86-64 baseline, no fused multiply-add.
  ATTN_ISA_SSE2 = 1,
  /// AVX2 and FMA with 256-bit registers (Haswell and later, AMD Zen).
  ATTN_ISA_AVX2 = 2,
  /// AVX-512F with 512-bit registers and mask registers for the row tails.
  ATTN_ISA_AVX512 = 3,
} attn_isa;

/// One variant's loops. All variants compute the same thing with the same polynomial and range
/// reduction; their results agree within rounding (the lane count changes the order of the sums,
/// and FMA the rounding of the polynomial), not bit for bit.
///
/// exp contract, every variant: for Float the relative error against the exact exp is below 1e-7
/// and for Double below 4e-16 wherever the result is a normal number; the result is exactly 0
/// where exp(x) is below the smallest normal number (x < -87.3365 for Float, x < -708.3964 for
/// Double, and -infinity), +infinity on overflow and for +infinity, NaN for NaN.
typedef struct attn_row_kernels {
  /// The instruction set this table's loops were compiled for.
  attn_isa isa;

  /// The largest of `count` values, -infinity if `count` is 0. NaNs are skipped (a value is
  /// taken only when it compares greater than the maximum so far), so a row of NaNs and
  /// -infinities gives -infinity: callers that care look for a NaN themselves.
  float (*_Nonnull max_f32)(const float *_Nonnull row, size_t count);
  /// Replaces each of `count` values x with exp(x - shift) and returns their sum. `shift` must
  /// not be -infinity (the caller's fully masked row): the padding of a vector tail is
  /// -infinity, whose exp must be 0.
  float (*_Nonnull exp_sum_f32)(float *_Nonnull row, size_t count, float shift);
  /// Multiplies `count` values by `factor`.
  void (*_Nonnull scale_f32)(float *_Nonnull row, size_t count, float factor);
  /// Whether any of `count` values is NaN or infinite.
  bool (*_Nonnull has_nonfinite_f32)(const float *_Nonnull values, size_t count);
  /// C = alpha·A·B (+ bias) (+ C when `accumulate`), for row-major A (m × k, row stride `lda`),
  /// B (k × n, `ldb`) and C (m × n, `ldc`), read in place (no packing): the tile products of
  /// short sequences, where BLAS's copies and per-call set-up cost more than the arithmetic, and
  /// `Linear` maps (B a packed panel of Wᵀ, `bias` the map's n values, or NULL). Without
  /// `accumulate`, C is only written. Each element of C sums its k products in order (one fused
  /// multiply-add each where the instruction set has FMA), is scaled by alpha, then gets the
  /// bias and C added in that order. With `row_scales` (else NULL), row i is then multiplied by
  /// `row_scales[i]` (the fused kernel's final 1/l, without a pass over the output). With
  /// `maxima` (else NULL), `maxima[i]` is also set to the largest value written to row i of C, as
  /// `max_f32` of that row gives it (NaNs skipped, -infinity for none): the score tile's row
  /// maxima without a pass over the tile.
  void (*_Nonnull product_f32)(
      size_t m, size_t n, size_t k, float alpha, const float *_Nonnull a, size_t lda,
      const float *_Nonnull b, size_t ldb, const float *_Nullable bias, bool accumulate,
      float *_Nonnull c, size_t ldc, const float *_Nullable row_scales,
      float *_Nullable maxima);
  /// Writes the transpose of the row-major `rows × columns` matrix at `source` (row stride
  /// `lds`) into `destination` (`columns × rows`, row stride `ldd`): the key tile as the small
  /// product's right-hand side (Kᵀ).
  void (*_Nonnull transpose_f32)(
      size_t rows, size_t columns, const float *_Nonnull source, size_t lds,
      float *_Nonnull destination, size_t ldd);
  /// y = alpha·A·x, or y += alpha·A·x when `accumulate`, for row-major A (`rows × columns`, row
  /// stride `lda`), read in place: decoding's one-row products with a weight matrix (`Linear`)
  /// or a key tile. Each element of y sums its products in an order fixed by the variant alone
  /// (lane by lane, then across lanes), so a row's result does not depend on how a caller splits
  /// the rows across threads. Without `accumulate`, y is only written.
  void (*_Nonnull matvec_f32)(
      size_t rows, size_t columns, float alpha, const float *_Nonnull a, size_t lda,
      const float *_Nonnull x, bool accumulate, float *_Nonnull y);
  /// `max_f32`, `exp_sum_f32` and `scale_f32` on `row_count` rows of `count` values, `stride`
  /// apart, in one call: row `r`'s maximum into `maxima[r]`; row `r` exponentiated with
  /// `shifts[r]` and its sum into `sums[r]`; row `r` multiplied by `factors[r]`. Each row gets
  /// exactly the single-row loop's result.
  void (*_Nonnull max_rows_f32)(const float *_Nonnull rows, size_t count, size_t row_count,
                                size_t stride, float *_Nonnull maxima);
  void (*_Nonnull exp_sum_rows_f32)(float *_Nonnull rows, size_t count, size_t row_count,
                                    size_t stride, const float *_Nonnull shifts,
                                    float *_Nonnull sums);
  void (*_Nonnull scale_rows_f32)(float *_Nonnull rows, size_t count, size_t row_count,
                                  size_t stride, const float *_Nonnull factors);

  /// The same loops for Double.
  double (*_Nonnull max_f64)(const double *_Nonnull row, size_t count);
  double (*_Nonnull exp_sum_f64)(double *_Nonnull row, size_t count, double shift);
  void (*_Nonnull scale_f64)(double *_Nonnull row, size_t count, double factor);
  bool (*_Nonnull has_nonfinite_f64)(const double *_Nonnull values, size_t count);
  void (*_Nonnull product_f64)(
      size_t m, size_t n, size_t k, double alpha, const double *_Nonnull a, size_t lda,
      const double *_Nonnull b, size_t ldb, const double *_Nullable bias, bool accumulate,
      double *_Nonnull c, size_t ldc, const double *_Nullable row_scales,
      double *_Nullable maxima);
  void (*_Nonnull transpose_f64)(
      size_t rows, size_t columns, const double *_Nonnull source, size_t lds,
      double *_Nonnull destination, size_t ldd);
  void (*_Nonnull matvec_f64)(
      size_t rows, size_t columns, double alpha, const double *_Nonnull a, size_t lda,
      const double *_Nonnull x, bool accumulate, double *_Nonnull y);
  void (*_Nonnull max_rows_f64)(const double *_Nonnull rows, size_t count, size_t row_count,
                                size_t stride, double *_Nonnull maxima);
  void (*_Nonnull exp_sum_rows_f64)(double *_Nonnull rows, size_t count, size_t row_count,
                                    size_t stride, const double *_Nonnull shifts,
                                    double *_Nonnull sums);
  void (*_Nonnull scale_rows_f64)(double *_Nonnull rows, size_t count, size_t row_count,
                                  size_t stride, const double *_Nonnull factors);

  /// The gated activation of a transformer's MLP, `count` elements:
  /// `out[i] = gate[i]·up[i] / (1 + exp(−z))` with `z = linear·(gate[i] + cubic·gate[i]³)`, i.e.
  /// `g·σ(z)·u`. SiLU (SwiGLU) is `linear` 1, `cubic` 0; the tanh-approximated GELU (GeGLU) is
  /// `linear` 2·√(2/π), `cubic` 0.044715, since `0.5·(1 + tanh(y)) = σ(2y)`. `out` may be `gate`
  /// or `up`. Far outside the sigmoid's transition the result is the limit: `g·u` where
  /// `exp(−z)` is below the smallest normal Float, ±0 where it overflows.
  void (*_Nonnull gated_sigmoid_f32)(const float *_Nonnull gate, const float *_Nonnull up,
                                     float *_Nonnull out, size_t count, float linear, float cubic);
  /// The exact (erf) GELU of BERT, in place: `x·(1 + erf(x/√2))/2` for `count` values, with erf
  /// a rational approximation evaluated in Float (within 2.5e-7·max(1, |x|) of the Double
  /// formula), exactly ±1 beyond |x/√2| = 4. +infinity stays +infinity, NaN stays NaN.
  void (*_Nonnull gelu_erf_f32)(float *_Nonnull values, size_t count);
} attn_row_kernels;

/// The table this process uses, chosen on the first call and the same for every later call and
/// thread: the widest variant the CPU supports (`__builtin_cpu_supports`, which also checks that
/// the operating system saves the wider registers), or a lower one when the environment variable
/// `ATTENTION_ISA` is `avx512`, `avx2`, `sse2` or `portable` (a level the CPU lacks gives the
/// widest it has below that; other values are ignored).
const attn_row_kernels *_Nonnull attn_active_kernels(void);

/// The table of one instruction set, or NULL when the CPU cannot run it or this build lacks it
/// (every variant but the portable one is x86-64 only). For tests and measurements; the engine
/// uses `attn_active_kernels`.
const attn_row_kernels *_Nullable attn_kernels_for(attn_isa isa);

/// The widest instruction set of a compiled variant that this CPU supports, whatever
/// `ATTENTION_ISA` says.
attn_isa attn_best_isa(void);

/// The most workers one call of `attn_pool_run` uses (the caller and 63 helper threads).
#define ATTN_POOL_MAX_WORKERS 64

/// One worker's share of a parallel call: `worker` in `0..<workers`.
typedef void (*attn_pool_task)(void *_Nullable context, size_t worker, size_t workers);

/// Calls `task(context, w, n)` once for every share `w` in `0..<n` and returns `n` once all
/// have returned. The calling thread and helper threads (started by the first call, kept for the
/// process, spinning briefly between calls — yielding the core each turn — and sleeping after
/// 200 µs idle) claim the shares one at a time, so they run concurrently when the helpers are
/// awake and one after another on the caller when a helper has no core to run on. `n` is
/// `workers`, at most `ATTN_POOL_MAX_WORKERS`, fewer if the system refuses threads. One call uses
/// the helpers at a time: a concurrent call from another thread, or a call from inside a task,
/// runs `task(context, 0, 1)` alone on the calling thread — so a task must split its work by the
/// `n` it is given and never wait for another share.
size_t attn_pool_run(size_t workers, attn_pool_task _Nonnull task, void *_Nullable context);

/// `kernels->matvec_f32` (y = alpha·A·x, or y += when `accumulate`) with the rows split across
/// `workers` threads of the worker pool (`attn_pool_run`). The rows go in whole blocks of four;
/// each element of y is computed by one thread with the same loop as `kernels->matvec_f32`, so
/// the result does not depend on `workers` (nor on the pool being busy, when the caller computes
/// the product alone).
void attn_parallel_matvec_f32(const attn_row_kernels *_Nonnull kernels, size_t workers,
                              size_t rows, size_t columns, float alpha, const float *_Nonnull a,
                              size_t lda, const float *_Nonnull x, bool accumulate,
                              float *_Nonnull y);
/// The same for Double (`kernels->matvec_f64`).
void attn_parallel_matvec_f64(const attn_row_kernels *_Nonnull kernels, size_t workers,
                              size_t rows, size_t columns, double alpha,
                              const double *_Nonnull a, size_t lda, const double *_Nonnull x,
                              bool accumulate, double *_Nonnull y);

#ifdef __cplusplus
}
#endif

#endif  // C_ATTENTION_KERNELS_H

// The row kernels and the small matrix product, written once over a small set of vector
// operations and compiled once per instruction set: each variant file (SSE2Kernels.c,
// AVX2Kernels.c, AVX512Kernels.c, PortableKernels.c) defines the operations for its registers,
// then includes this file. One body means one polynomial, one range reduction and one handling of
// the special values for every variant; only the registers' width and the rounding of fused
// multiply-adds differ.
//
// The including file defines:
// - `ATTN_INLINE` (helpers) and `ATTN_KERNEL` (the table's functions), both carrying the
//   variant's `__attribute__((target(...)))`, and `ATTN_ISA` and `ATTN_TABLE` (the table's enum
//   value and name);
// - for `f32` (Float) and `f64` (Double): a vector type `f32v`, its lane count `F32_LANES`, and
//     load, store           unaligned loads and stores of a whole vector
//     load_tail, store_tail the first n < lanes elements; `load_tail` fills the other lanes
//     splat                 every lane set to one value
//     add, sub, mul         lane-wise arithmetic (and div, Float only)
//     clamp(x, lo, hi)      x limited to [lo, hi], NaN kept (Float only)
//     fmadd(a, b, c)        a·b + c (fused when the instruction set has FMA)
//     fnmadd(a, b, c)       c − a·b (fused when the instruction set has FMA)
//     max_skip_nan(x, m)    x > m ? x : m, per lane: a NaN x leaves m
//     add_exponent(m, s)    adds the low bits of `s`'s bit pattern to the exponent field of m
//     exp_special(r, x, u, l) r, with +infinity or NaN (x + infinity) where !(x <= u), 0 where x < l
//     or(a, b), any_bits(v) bitwise or; whether any bit of any lane is set
//     sum, max_lanes        the sum and the maximum of the lanes, in a fixed order
//   and optionally `F32_TRANSPOSE_TILE` (a size t) with `f32_transpose_tile(source, lds,
//   destination, ldd)`, a t × t transpose in registers (likewise for f64); and optionally
//   `F32_EXP_SCALEF` with
//     exp_bound(x)          x limited above to a value whose exp overflows, NaN kept
//     exp_scalef(m, k, x, l) m·2^k (k a whole number; overflow gives +infinity) where x ≥ l or
//                           x is NaN, 0 where x < l
//   for an instruction that scales by 2^k in one step (AVX-512's vscalefps), which replaces
//   add_exponent and exp_special in exp (likewise for f64).

#include <math.h>
#include <stddef.h>

// MARK: - exp

// e^x for one vector of Float (Cody & Waite range reduction, a degree-6 polynomial):
// 1. k = round(x / ln 2), by adding and subtracting 1.5·2^23: the rounding instruction is SSE4.1,
//    and the low mantissa bits of the sum already hold k in two's complement for step 4.
// 2. r = x − k·ln2_hi − k·ln2_lo, with ln2_hi = 0.693359375 (9 significant bits) so that k·ln2_hi
//    is exact for |k| ≤ 2^14: r keeps full precision even without FMA.
// 3. e^r = 1 + r + r²·P(r) on |r| ≤ ln 2 / 2, P a degree-4 fit minimising the relative error
//    (3e-9 before rounding; the Float rounding of the steps dominates the error).
// 4. 2^k·e^r by adding k to the exponent field of e^r (only bit operations).
// The lanes outside [lower, upper], and NaN, compute garbage in steps 1–4 that `exp_special`
// replaces: no clamping is needed beforehand.
// With a scaling instruction (`F32_EXP_SCALEF`), step 4 and the special values are one masked
// `exp_scalef`: overflow then gives +infinity by itself (x is first bounded, so that +infinity
// does not make r NaN), and lanes below `lower` are zeroed by the mask. Within [lower, upper] the
// scaling is exact, as the exponent addition is, so both give the same bits (12–17 % faster on
// Zen 4 in the softmax's exp-and-sum loop).
ATTN_INLINE f32v exp_f32(f32v x_in) {
  // Largest x with a finite result: 88.72283 (0x42B17217); ln(FLT_MAX) = 88.7228391 lies between
  // it and the next Float, whose exp rounds to +infinity.
  const f32v upper = f32_splat(88.72283172607422f);
  // Smallest x with exp(x) ≥ FLT_MIN (the smallest normal Float): the Float just above −126·ln 2.
  // Results that would be subnormal become 0; in a softmax they weigh below 1e-38 of the
  // maximum's weight.
  const f32v lower = f32_splat(-87.33654f);
  const f32v magic = f32_splat(12582912.0f);  // 1.5·2^23
#ifdef F32_EXP_SCALEF
  const f32v x = f32_exp_bound(x_in);
#else
  const f32v x = x_in;
#endif
  const f32v shifted = f32_fmadd(x, f32_splat(1.44269504f), magic);
  const f32v k = f32_sub(shifted, magic);
  f32v r = f32_fnmadd(k, f32_splat(0.693359375f), x);
  r = f32_fnmadd(k, f32_splat(-2.12194440e-4f), r);
  const f32v r2 = f32_mul(r, r);
  // (e^r − 1 − r) / r², Horner's scheme.
  f32v p = f32_splat(1.3814611593261361e-3f);
  p = f32_fmadd(p, r, f32_splat(8.368710055947304e-3f));
  p = f32_fmadd(p, r, f32_splat(4.166838899254799e-2f));
  p = f32_fmadd(p, r, f32_splat(1.666652113199234e-1f));
  p = f32_fmadd(p, r, f32_splat(4.999999403953552e-1f));
  const f32v mantissa = f32_add(f32_fmadd(p, r2, r), f32_splat(1.0f));
#ifdef F32_EXP_SCALEF
  (void)upper;
  return f32_exp_scalef(mantissa, k, x_in, lower);
#else
  return f32_exp_special(f32_add_exponent(mantissa, shifted), x, upper, lower);
#endif
}

// e^x for one vector of Double: the same steps with 1.5·2^52, fdlibm's split of ln 2 (ln2_hi has
// 32 trailing zero bits, so k·ln2_hi is exact for |k| < 2^20) and the Taylor series to degree 12
// (truncation error r^13/13! < 1.7e-16 on |r| ≤ ln 2 / 2).
ATTN_INLINE f64v exp_f64(f64v x_in) {
  // ln(DBL_MAX) = 709.782712893384 rounds down to this Double.
  const f64v upper = f64_splat(709.782712893383973096);
  // The Double just above −1022·ln 2 = ln(DBL_MIN).
  const f64v lower = f64_splat(-708.3964185322641);
  const f64v magic = f64_splat(6755399441055744.0);  // 1.5·2^52
#ifdef F64_EXP_SCALEF
  const f64v x = f64_exp_bound(x_in);
#else
  const f64v x = x_in;
#endif
  const f64v shifted = f64_fmadd(x, f64_splat(1.4426950408889634), magic);
  const f64v k = f64_sub(shifted, magic);
  f64v r = f64_fnmadd(k, f64_splat(6.93147180369123816490e-1), x);
  r = f64_fnmadd(k, f64_splat(1.90821492927058770002e-10), r);
  const f64v r2 = f64_mul(r, r);
  // 1/n! for n = 12 … 2.
  f64v p = f64_splat(2.08767569878681e-9);
  p = f64_fmadd(p, r, f64_splat(2.5052108385441718e-8));
  p = f64_fmadd(p, r, f64_splat(2.7557319223985891e-7));
  p = f64_fmadd(p, r, f64_splat(2.7557319223985891e-6));
  p = f64_fmadd(p, r, f64_splat(2.4801587301587302e-5));
  p = f64_fmadd(p, r, f64_splat(1.9841269841269841e-4));
  p = f64_fmadd(p, r, f64_splat(1.3888888888888889e-3));
  p = f64_fmadd(p, r, f64_splat(8.3333333333333333e-3));
  p = f64_fmadd(p, r, f64_splat(4.1666666666666666e-2));
  p = f64_fmadd(p, r, f64_splat(1.6666666666666666e-1));
  p = f64_fmadd(p, r, f64_splat(0.5));
  const f64v mantissa = f64_add(f64_fmadd(p, r2, r), f64_splat(1.0));
#ifdef F64_EXP_SCALEF
  (void)upper;
  return f64_exp_scalef(mantissa, k, x_in, lower);
#else
  return f64_exp_special(f64_add_exponent(mantissa, shifted), x, upper, lower);
#endif
}

// MARK: - The loops, once per precision

#define ATTN_SCALAR float
#define ATTN_VECTOR f32v
#define ATTN_LANES F32_LANES
#define ATTN_OP(name) f32_##name
#define ATTN_NAME(name) name##_f32
#include "RowLoops.h"

#define ATTN_SCALAR double
#define ATTN_VECTOR f64v
#define ATTN_LANES F64_LANES
#define ATTN_OP(name) f64_##name
#define ATTN_NAME(name) name##_f64
#include "RowLoops.h"

// MARK: - The small matrix product, once per precision

#include <stdbool.h>

#define ATTN_SCALAR float
#define ATTN_VECTOR f32v
#define ATTN_LANES F32_LANES
#define ATTN_OP(name) f32_##name
#define ATTN_NAME(name) name##_f32
#ifdef F32_TRANSPOSE_TILE
#define ATTN_TRANSPOSE_TILE F32_TRANSPOSE_TILE
#endif
#include "ProductLoops.h"

#define ATTN_SCALAR double
#define ATTN_VECTOR f64v
#define ATTN_LANES F64_LANES
#define ATTN_OP(name) f64_##name
#define ATTN_NAME(name) name##_f64
#ifdef F64_TRANSPOSE_TILE
#define ATTN_TRANSPOSE_TILE F64_TRANSPOSE_TILE
#endif
#include "ProductLoops.h"

// MARK: - The activations of a transformer's MLP (Float only)

#include "ActivationLoops.h"

// MARK: - The table

const attn_row_kernels ATTN_TABLE = {
    .isa = ATTN_ISA,
    .max_f32 = max_f32,
    .exp_sum_f32 = exp_sum_f32,
    .scale_f32 = scale_f32,
    .has_nonfinite_f32 = has_nonfinite_f32,
    .product_f32 = product_f32,
    .transpose_f32 = transpose_f32,
    .matvec_f32 = matvec_f32,
    .max_rows_f32 = max_rows_f32,
    .exp_sum_rows_f32 = exp_sum_rows_f32,
    .scale_rows_f32 = scale_rows_f32,
    .max_f64 = max_f64,
    .exp_sum_f64 = exp_sum_f64,
    .scale_f64 = scale_f64,
    .has_nonfinite_f64 = has_nonfinite_f64,
    .product_f64 = product_f64,
    .transpose_f64 = transpose_f64,
    .matvec_f64 = matvec_f64,
    .max_rows_f64 = max_rows_f64,
    .exp_sum_rows_f64 = exp_sum_rows_f64,
    .scale_rows_f64 = scale_rows_f64,
    .gated_sigmoid_f32 = gated_sigmoid_f32,
    .gelu_erf_f32 = gelu_erf_f32,
};

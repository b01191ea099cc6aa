// The portable variant: plain C, one element at a time, built on every platform. It is what a
// non-x86 processor runs (the compiler may still vectorise it for the target's baseline, e.g.
// NEON on arm64), and on x86-64 the tests compare it with the vector variants. The "vectors" here
// have one lane, so the loops of RowLoops.h never need a tail.

#include <math.h>  // INFINITY
#include <stdint.h>
#include <string.h>

#include "Variants.h"

#define ATTN_INLINE static inline __attribute__((always_inline))
#define ATTN_KERNEL static
#define ATTN_ISA ATTN_ISA_PORTABLE
#define ATTN_TABLE attn_kernels_portable

// MARK: Float, 1 lane

typedef float f32v;
#define F32_LANES 1

ATTN_INLINE f32v f32_load(const float *p) { return *p; }
ATTN_INLINE void f32_store(float *p, f32v v) { *p = v; }
ATTN_INLINE f32v f32_load_tail(const float *p, size_t n, float fill) { return n > 0 ? *p : fill; }
ATTN_INLINE void f32_store_tail(float *p, size_t n, f32v v) {
  if (n > 0) *p = v;
}
ATTN_INLINE f32v f32_splat(float x) { return x; }
ATTN_INLINE f32v f32_add(f32v a, f32v b) { return a + b; }
ATTN_INLINE f32v f32_sub(f32v a, f32v b) { return a - b; }
ATTN_INLINE f32v f32_mul(f32v a, f32v b) { return a * b; }
ATTN_INLINE f32v f32_div(f32v a, f32v b) { return a / b; }
// A NaN x fails both comparisons and stays NaN.
ATTN_INLINE f32v f32_clamp(f32v x, f32v lower, f32v upper) { return x > upper ? upper : (x < lower ? lower : x); }
// One expression: the compiler contracts it to a fused multiply-add where the target has one.
ATTN_INLINE f32v f32_fmadd(f32v a, f32v b, f32v c) { return a * b + c; }
ATTN_INLINE f32v f32_fnmadd(f32v a, f32v b, f32v c) { return c - a * b; }
ATTN_INLINE f32v f32_max_skip_nan(f32v x, f32v m) { return x > m ? x : m; }
ATTN_INLINE uint32_t f32_bits(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  return bits;
}
ATTN_INLINE float f32_from_bits(uint32_t bits) {
  float x;
  memcpy(&x, &bits, sizeof x);
  return x;
}
ATTN_INLINE f32v f32_add_exponent(f32v m, f32v shifted) {
  return f32_from_bits(f32_bits(m) + (f32_bits(shifted) << 23));
}
ATTN_INLINE f32v f32_exp_special(f32v r, f32v x, f32v upper, f32v lower) {
  if (!(x <= upper)) r = x + INFINITY;  // overflow, +infinity and NaN
  if (x < lower) r = 0;
  return r;
}
ATTN_INLINE f32v f32_or(f32v a, f32v b) { return f32_from_bits(f32_bits(a) | f32_bits(b)); }
ATTN_INLINE bool f32_any_bits(f32v v) { return f32_bits(v) != 0; }
ATTN_INLINE float f32_sum(f32v v) { return v; }
ATTN_INLINE float f32_max_lanes(f32v v) { return v; }

// MARK: Double, 1 lane

typedef double f64v;
#define F64_LANES 1

ATTN_INLINE f64v f64_load(const double *p) { return *p; }
ATTN_INLINE void f64_store(double *p, f64v v) { *p = v; }
ATTN_INLINE f64v f64_load_tail(const double *p, size_t n, double fill) { return n > 0 ? *p : fill; }
ATTN_INLINE void f64_store_tail(double *p, size_t n, f64v v) {
  if (n > 0) *p = v;
}
ATTN_INLINE f64v f64_splat(double x) { return x; }
ATTN_INLINE f64v f64_add(f64v a, f64v b) { return a + b; }
ATTN_INLINE f64v f64_sub(f64v a, f64v b) { return a - b; }
ATTN_INLINE f64v f64_mul(f64v a, f64v b) { return a * b; }
ATTN_INLINE f64v f64_fmadd(f64v a, f64v b, f64v c) { return a * b + c; }
ATTN_INLINE f64v f64_fnmadd(f64v a, f64v b, f64v c) { return c - a * b; }
ATTN_INLINE f64v f64_max_skip_nan(f64v x, f64v m) { return x > m ? x : m; }
ATTN_INLINE uint64_t f64_bits(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  return bits;
}
ATTN_INLINE double f64_from_bits(uint64_t bits) {
  double x;
  memcpy(&x, &bits, sizeof x);
  return x;
}
ATTN_INLINE f64v f64_add_exponent(f64v m, f64v shifted) {
  return f64_from_bits(f64_bits(m) + (f64_bits(shifted) << 52));
}
ATTN_INLINE f64v f64_exp_special(f64v r, f64v x, f64v upper, f64v lower) {
  if (!(x <= upper)) r = x + INFINITY;
  if (x < lower) r = 0;
  return r;
}
ATTN_INLINE f64v f64_or(f64v a, f64v b) { return f64_from_bits(f64_bits(a) | f64_bits(b)); }
ATTN_INLINE bool f64_any_bits(f64v v) { return f64_bits(v) != 0; }
ATTN_INLINE double f64_sum(f64v v) { return v; }
ATTN_INLINE double f64_max_lanes(f64v v) { return v; }

#include "RowKernels.h"

// The SSE2 variant: 128-bit registers, 4 Float or 2 Double lanes, no fused multiply-add. SSE2 is
// part of x86-64, so this file needs no target attribute and runs on every x86-64 CPU. Without
// SSE4.1 there is no blendv: selections are and/andnot/or of comparison masks.

#if defined(__x86_64__)

#include "Variants.h"

#define ATTN_INLINE static inline __attribute__((always_inline))
#define ATTN_KERNEL static
#define ATTN_ISA ATTN_ISA_SSE2
#define ATTN_TABLE attn_kernels_sse2

#include "X86Lanes.h"

// MARK: Float, 4 lanes

typedef __m128 f32v;
#define F32_LANES 4

ATTN_INLINE f32v f32_load(const float *p) { return _mm_loadu_ps(p); }
ATTN_INLINE void f32_store(float *p, f32v v) { _mm_storeu_ps(p, v); }
ATTN_DEFINE_BUFFERED_TAIL(f32, float, f32v, F32_LANES, _mm_loadu_ps, _mm_storeu_ps)
ATTN_INLINE f32v f32_splat(float x) { return _mm_set1_ps(x); }
ATTN_INLINE f32v f32_add(f32v a, f32v b) { return _mm_add_ps(a, b); }
ATTN_INLINE f32v f32_sub(f32v a, f32v b) { return _mm_sub_ps(a, b); }
ATTN_INLINE f32v f32_mul(f32v a, f32v b) { return _mm_mul_ps(a, b); }
ATTN_INLINE f32v f32_div(f32v a, f32v b) { return _mm_div_ps(a, b); }
// min/max return their second operand when one is NaN: a NaN x stays NaN.
ATTN_INLINE f32v f32_clamp(f32v x, f32v lower, f32v upper) { return _mm_max_ps(lower, _mm_min_ps(upper, x)); }
ATTN_INLINE f32v f32_fmadd(f32v a, f32v b, f32v c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
ATTN_INLINE f32v f32_fnmadd(f32v a, f32v b, f32v c) { return _mm_sub_ps(c, _mm_mul_ps(a, b)); }
// maxps returns its second operand when either is NaN: x > m ? x : m.
ATTN_INLINE f32v f32_max_skip_nan(f32v x, f32v m) { return _mm_max_ps(x, m); }
ATTN_INLINE f32v f32_add_exponent(f32v m, f32v shifted) {
  const __m128i k = _mm_slli_epi32(_mm_castps_si128(shifted), 23);
  return _mm_castsi128_ps(_mm_add_epi32(_mm_castps_si128(m), k));
}
ATTN_INLINE f32v f32_exp_special(f32v r, f32v x, f32v upper, f32v lower) {
  const f32v over = _mm_cmpnle_ps(x, upper);  // overflow, +infinity and NaN
  r = _mm_or_ps(_mm_andnot_ps(over, r), _mm_and_ps(over, _mm_add_ps(x, _mm_set1_ps(INFINITY))));
  return _mm_andnot_ps(_mm_cmplt_ps(x, lower), r);
}
ATTN_INLINE f32v f32_or(f32v a, f32v b) { return _mm_or_ps(a, b); }
ATTN_INLINE bool f32_any_bits(f32v v) {
  const __m128i zero = _mm_cmpeq_epi32(_mm_castps_si128(v), _mm_setzero_si128());
  return _mm_movemask_epi8(zero) != 0xFFFF;
}
ATTN_INLINE float f32_sum(f32v v) { return attn_sum_m128(v); }
ATTN_INLINE float f32_max_lanes(f32v v) { return attn_max_m128(v); }

#define F32_TRANSPOSE_TILE 4
ATTN_INLINE void f32_transpose_tile(const float *s, size_t lds, float *d, size_t ldd) {
  __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + lds);
  __m128 r2 = _mm_loadu_ps(s + 2 * lds), r3 = _mm_loadu_ps(s + 3 * lds);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(d, r0);
  _mm_storeu_ps(d + ldd, r1);
  _mm_storeu_ps(d + 2 * ldd, r2);
  _mm_storeu_ps(d + 3 * ldd, r3);
}

// MARK: Double, 2 lanes

typedef __m128d f64v;
#define F64_LANES 2

ATTN_INLINE f64v f64_load(const double *p) { return _mm_loadu_pd(p); }
ATTN_INLINE void f64_store(double *p, f64v v) { _mm_storeu_pd(p, v); }
ATTN_DEFINE_BUFFERED_TAIL(f64, double, f64v, F64_LANES, _mm_loadu_pd, _mm_storeu_pd)
ATTN_INLINE f64v f64_splat(double x) { return _mm_set1_pd(x); }
ATTN_INLINE f64v f64_add(f64v a, f64v b) { return _mm_add_pd(a, b); }
ATTN_INLINE f64v f64_sub(f64v a, f64v b) { return _mm_sub_pd(a, b); }
ATTN_INLINE f64v f64_mul(f64v a, f64v b) { return _mm_mul_pd(a, b); }
ATTN_INLINE f64v f64_fmadd(f64v a, f64v b, f64v c) { return _mm_add_pd(_mm_mul_pd(a, b), c); }
ATTN_INLINE f64v f64_fnmadd(f64v a, f64v b, f64v c) { return _mm_sub_pd(c, _mm_mul_pd(a, b)); }
ATTN_INLINE f64v f64_max_skip_nan(f64v x, f64v m) { return _mm_max_pd(x, m); }
ATTN_INLINE f64v f64_add_exponent(f64v m, f64v shifted) {
  const __m128i k = _mm_slli_epi64(_mm_castpd_si128(shifted), 52);
  return _mm_castsi128_pd(_mm_add_epi64(_mm_castpd_si128(m), k));
}
ATTN_INLINE f64v f64_exp_special(f64v r, f64v x, f64v upper, f64v lower) {
  const f64v over = _mm_cmpnle_pd(x, upper);
  r = _mm_or_pd(_mm_andnot_pd(over, r), _mm_and_pd(over, _mm_add_pd(x, _mm_set1_pd(INFINITY))));
  return _mm_andnot_pd(_mm_cmplt_pd(x, lower), r);
}
ATTN_INLINE f64v f64_or(f64v a, f64v b) { return _mm_or_pd(a, b); }
ATTN_INLINE bool f64_any_bits(f64v v) {
  const __m128i zero = _mm_cmpeq_epi32(_mm_castpd_si128(v), _mm_setzero_si128());
  return _mm_movemask_epi8(zero) != 0xFFFF;
}
ATTN_INLINE double f64_sum(f64v v) { return attn_sum_m128d(v); }
ATTN_INLINE double f64_max_lanes(f64v v) { return attn_max_m128d(v); }

#include "RowKernels.h"

#endif  // __x86_64__

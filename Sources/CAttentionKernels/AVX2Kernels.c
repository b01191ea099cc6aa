// The AVX2+FMA variant: 256-bit registers, 8 Float or 4 Double lanes, fused multiply-add in the
// range reduction and the polynomial. Compiled for AVX2 and FMA by the target attribute on every
// function of this file, whatever the build's flags; Dispatch.c calls it only on CPUs that
// report both features.

#if defined(__x86_64__)

#include "Variants.h"

#define ATTN_TARGET __attribute__((target("avx2,fma")))
#define ATTN_INLINE static inline __attribute__((always_inline)) ATTN_TARGET
#define ATTN_KERNEL static ATTN_TARGET
#define ATTN_ISA ATTN_ISA_AVX2
#define ATTN_TABLE attn_kernels_avx2

#define ATTN_WITH_TRANSPOSE_8X8
#include "X86Lanes.h"

// MARK: Float, 8 lanes

typedef __m256 f32v;
#define F32_LANES 8

ATTN_INLINE f32v f32_load(const float *p) { return _mm256_loadu_ps(p); }
ATTN_INLINE void f32_store(float *p, f32v v) { _mm256_storeu_ps(p, v); }
// A buffer rather than vmaskmovps: its masked store is slow on AMD processors, and its masked
// load fills with zeros where the maximum and the exponentials need -infinity.
ATTN_DEFINE_BUFFERED_TAIL(f32, float, f32v, F32_LANES, _mm256_loadu_ps, _mm256_storeu_ps)
ATTN_INLINE f32v f32_splat(float x) { return _mm256_set1_ps(x); }
ATTN_INLINE f32v f32_add(f32v a, f32v b) { return _mm256_add_ps(a, b); }
ATTN_INLINE f32v f32_sub(f32v a, f32v b) { return _mm256_sub_ps(a, b); }
ATTN_INLINE f32v f32_mul(f32v a, f32v b) { return _mm256_mul_ps(a, b); }
ATTN_INLINE f32v f32_div(f32v a, f32v b) { return _mm256_div_ps(a, b); }
// min/max return their second operand when one is NaN: a NaN x stays NaN.
ATTN_INLINE f32v f32_clamp(f32v x, f32v lower, f32v upper) { return _mm256_max_ps(lower, _mm256_min_ps(upper, x)); }
ATTN_INLINE f32v f32_fmadd(f32v a, f32v b, f32v c) { return _mm256_fmadd_ps(a, b, c); }
ATTN_INLINE f32v f32_fnmadd(f32v a, f32v b, f32v c) { return _mm256_fnmadd_ps(a, b, c); }
ATTN_INLINE f32v f32_max_skip_nan(f32v x, f32v m) { return _mm256_max_ps(x, m); }
ATTN_INLINE f32v f32_add_exponent(f32v m, f32v shifted) {
  const __m256i k = _mm256_slli_epi32(_mm256_castps_si256(shifted), 23);
  return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(m), k));
}
ATTN_INLINE f32v f32_exp_special(f32v r, f32v x, f32v upper, f32v lower) {
  const f32v over = _mm256_cmp_ps(x, upper, _CMP_NLE_UQ);  // overflow, +infinity and NaN
  r = _mm256_blendv_ps(r, _mm256_add_ps(x, _mm256_set1_ps(INFINITY)), over);
  return _mm256_andnot_ps(_mm256_cmp_ps(x, lower, _CMP_LT_OQ), r);
}
ATTN_INLINE f32v f32_or(f32v a, f32v b) { return _mm256_or_ps(a, b); }
ATTN_INLINE bool f32_any_bits(f32v v) {
  const __m256i bits = _mm256_castps_si256(v);
  return !_mm256_testz_si256(bits, bits);
}
ATTN_INLINE float f32_sum(f32v v) {
  return attn_sum_m128(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}
ATTN_INLINE float f32_max_lanes(f32v v) {
  return attn_max_m128(_mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

#define F32_TRANSPOSE_TILE 8
ATTN_INLINE void f32_transpose_tile(const float *s, size_t lds, float *d, size_t ldd) {
  attn_transpose_8x8(s, lds, d, ldd);
}

// MARK: Double, 4 lanes

typedef __m256d f64v;
#define F64_LANES 4

ATTN_INLINE f64v f64_load(const double *p) { return _mm256_loadu_pd(p); }
ATTN_INLINE void f64_store(double *p, f64v v) { _mm256_storeu_pd(p, v); }
ATTN_DEFINE_BUFFERED_TAIL(f64, double, f64v, F64_LANES, _mm256_loadu_pd, _mm256_storeu_pd)
ATTN_INLINE f64v f64_splat(double x) { return _mm256_set1_pd(x); }
ATTN_INLINE f64v f64_add(f64v a, f64v b) { return _mm256_add_pd(a, b); }
ATTN_INLINE f64v f64_sub(f64v a, f64v b) { return _mm256_sub_pd(a, b); }
ATTN_INLINE f64v f64_mul(f64v a, f64v b) { return _mm256_mul_pd(a, b); }
ATTN_INLINE f64v f64_fmadd(f64v a, f64v b, f64v c) { return _mm256_fmadd_pd(a, b, c); }
ATTN_INLINE f64v f64_fnmadd(f64v a, f64v b, f64v c) { return _mm256_fnmadd_pd(a, b, c); }
ATTN_INLINE f64v f64_max_skip_nan(f64v x, f64v m) { return _mm256_max_pd(x, m); }
ATTN_INLINE f64v f64_add_exponent(f64v m, f64v shifted) {
  const __m256i k = _mm256_slli_epi64(_mm256_castpd_si256(shifted), 52);
  return _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(m), k));
}
ATTN_INLINE f64v f64_exp_special(f64v r, f64v x, f64v upper, f64v lower) {
  const f64v over = _mm256_cmp_pd(x, upper, _CMP_NLE_UQ);
  r = _mm256_blendv_pd(r, _mm256_add_pd(x, _mm256_set1_pd(INFINITY)), over);
  return _mm256_andnot_pd(_mm256_cmp_pd(x, lower, _CMP_LT_OQ), r);
}
ATTN_INLINE f64v f64_or(f64v a, f64v b) { return _mm256_or_pd(a, b); }
ATTN_INLINE bool f64_any_bits(f64v v) {
  const __m256i bits = _mm256_castpd_si256(v);
  return !_mm256_testz_si256(bits, bits);
}
ATTN_INLINE double f64_sum(f64v v) {
  return attn_sum_m128d(_mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1)));
}
ATTN_INLINE double f64_max_lanes(f64v v) {
  return attn_max_m128d(_mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1)));
}

#include "RowKernels.h"

#endif  // __x86_64__

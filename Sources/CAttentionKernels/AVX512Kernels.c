// The AVX-512 variant: 512-bit registers, 16 Float or 8 Double lanes, fused multiply-add, and
// mask registers, which give the row tails masked loads and stores (a masked-off lane is never
// read or written, so no fault past the row's end). Uses AVX-512F only — every AVX-512 CPU has
// it (the or and the 256-bit extract below are the F forms, not DQ's) — so Dispatch.c needs to
// check `avx512f` alone. Compiled by the target attribute whatever the build's flags.

#if defined(__x86_64__)

#include "Variants.h"

#define ATTN_TARGET __attribute__((target("avx512f")))
#define ATTN_INLINE static inline __attribute__((always_inline)) ATTN_TARGET
#define ATTN_KERNEL static ATTN_TARGET
#define ATTN_ISA ATTN_ISA_AVX512
#define ATTN_TABLE attn_kernels_avx512

#define ATTN_WITH_TRANSPOSE_8X8
#include "X86Lanes.h"

// MARK: Float, 16 lanes

typedef __m512 f32v;
#define F32_LANES 16

ATTN_INLINE __mmask16 f32_first(size_t n) { return (__mmask16)((1u << n) - 1); }
ATTN_INLINE f32v f32_load(const float *p) { return _mm512_loadu_ps(p); }
ATTN_INLINE void f32_store(float *p, f32v v) { _mm512_storeu_ps(p, v); }
ATTN_INLINE f32v f32_load_tail(const float *p, size_t n, float fill) {
  return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), f32_first(n), p);
}
ATTN_INLINE void f32_store_tail(float *p, size_t n, f32v v) {
  _mm512_mask_storeu_ps(p, f32_first(n), v);
}
ATTN_INLINE f32v f32_splat(float x) { return _mm512_set1_ps(x); }
ATTN_INLINE f32v f32_add(f32v a, f32v b) { return _mm512_add_ps(a, b); }
ATTN_INLINE f32v f32_sub(f32v a, f32v b) { return _mm512_sub_ps(a, b); }
ATTN_INLINE f32v f32_mul(f32v a, f32v b) { return _mm512_mul_ps(a, b); }
ATTN_INLINE f32v f32_div(f32v a, f32v b) { return _mm512_div_ps(a, b); }
// min/max return their second operand when one is NaN: a NaN x stays NaN.
ATTN_INLINE f32v f32_clamp(f32v x, f32v lower, f32v upper) { return _mm512_max_ps(lower, _mm512_min_ps(upper, x)); }
ATTN_INLINE f32v f32_fmadd(f32v a, f32v b, f32v c) { return _mm512_fmadd_ps(a, b, c); }
ATTN_INLINE f32v f32_fnmadd(f32v a, f32v b, f32v c) { return _mm512_fnmadd_ps(a, b, c); }
ATTN_INLINE f32v f32_max_skip_nan(f32v x, f32v m) { return _mm512_max_ps(x, m); }
ATTN_INLINE f32v f32_add_exponent(f32v m, f32v shifted) {
  const __m512i k = _mm512_slli_epi32(_mm512_castps_si512(shifted), 23);
  return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(m), k));
}
ATTN_INLINE f32v f32_exp_special(f32v r, f32v x, f32v upper, f32v lower) {
  const __mmask16 over = _mm512_cmp_ps_mask(x, upper, _CMP_NLE_UQ);  // overflow, +inf, NaN
  r = _mm512_mask_add_ps(r, over, x, _mm512_set1_ps(INFINITY));
  return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, lower, _CMP_LT_OQ), _mm512_setzero_ps());
}
// exp's last step in one instruction: vscalefps makes m·2^k exactly (+infinity on overflow), and
// its zero-masking clears the lanes below the lower limit (-infinity included); a NaN x keeps
// its lane, whose m and k are NaN. The bound keeps +infinity from making r NaN: at 100, k = 144
// and m > 1, so the result overflows as exp(x) does for every x above 88.72.
#define F32_EXP_SCALEF
ATTN_INLINE f32v f32_exp_bound(f32v x) { return _mm512_min_ps(_mm512_set1_ps(100.0f), x); }
ATTN_INLINE f32v f32_exp_scalef(f32v m, f32v k, f32v x, f32v lower) {
  return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, lower, _CMP_NLT_UQ), m, k);
}
ATTN_INLINE f32v f32_or(f32v a, f32v b) {
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}
ATTN_INLINE bool f32_any_bits(f32v v) {
  const __m512i bits = _mm512_castps_si512(v);
  return _mm512_test_epi32_mask(bits, bits) != 0;
}
// The upper 256 bits through the F-only 64-bit extract (the 32-bit one is AVX-512DQ).
ATTN_INLINE __m256 f32_upper_half(f32v v) {
  return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}
ATTN_INLINE float f32_sum(f32v v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), f32_upper_half(v));
  return attn_sum_m128(_mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}
ATTN_INLINE float f32_max_lanes(f32v v) {
  const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), f32_upper_half(v));
  return attn_max_m128(_mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

#define F32_TRANSPOSE_TILE 8
ATTN_INLINE void f32_transpose_tile(const float *s, size_t lds, float *d, size_t ldd) {
  attn_transpose_8x8(s, lds, d, ldd);
}

// MARK: Double, 8 lanes

typedef __m512d f64v;
#define F64_LANES 8

ATTN_INLINE __mmask8 f64_first(size_t n) { return (__mmask8)((1u << n) - 1); }
ATTN_INLINE f64v f64_load(const double *p) { return _mm512_loadu_pd(p); }
ATTN_INLINE void f64_store(double *p, f64v v) { _mm512_storeu_pd(p, v); }
ATTN_INLINE f64v f64_load_tail(const double *p, size_t n, double fill) {
  return _mm512_mask_loadu_pd(_mm512_set1_pd(fill), f64_first(n), p);
}
ATTN_INLINE void f64_store_tail(double *p, size_t n, f64v v) {
  _mm512_mask_storeu_pd(p, f64_first(n), v);
}
ATTN_INLINE f64v f64_splat(double x) { return _mm512_set1_pd(x); }
ATTN_INLINE f64v f64_add(f64v a, f64v b) { return _mm512_add_pd(a, b); }
ATTN_INLINE f64v f64_sub(f64v a, f64v b) { return _mm512_sub_pd(a, b); }
ATTN_INLINE f64v f64_mul(f64v a, f64v b) { return _mm512_mul_pd(a, b); }
ATTN_INLINE f64v f64_fmadd(f64v a, f64v b, f64v c) { return _mm512_fmadd_pd(a, b, c); }
ATTN_INLINE f64v f64_fnmadd(f64v a, f64v b, f64v c) { return _mm512_fnmadd_pd(a, b, c); }
ATTN_INLINE f64v f64_max_skip_nan(f64v x, f64v m) { return _mm512_max_pd(x, m); }
ATTN_INLINE f64v f64_add_exponent(f64v m, f64v shifted) {
  const __m512i k = _mm512_slli_epi64(_mm512_castpd_si512(shifted), 52);
  return _mm512_castsi512_pd(_mm512_add_epi64(_mm512_castpd_si512(m), k));
}
ATTN_INLINE f64v f64_exp_special(f64v r, f64v x, f64v upper, f64v lower) {
  const __mmask8 over = _mm512_cmp_pd_mask(x, upper, _CMP_NLE_UQ);
  r = _mm512_mask_add_pd(r, over, x, _mm512_set1_pd(INFINITY));
  return _mm512_mask_mov_pd(r, _mm512_cmp_pd_mask(x, lower, _CMP_LT_OQ), _mm512_setzero_pd());
}
// The same for Double: at 1000, k = 1443 and the result overflows.
#define F64_EXP_SCALEF
ATTN_INLINE f64v f64_exp_bound(f64v x) { return _mm512_min_pd(_mm512_set1_pd(1000.0), x); }
ATTN_INLINE f64v f64_exp_scalef(f64v m, f64v k, f64v x, f64v lower) {
  return _mm512_maskz_scalef_pd(_mm512_cmp_pd_mask(x, lower, _CMP_NLT_UQ), m, k);
}
ATTN_INLINE f64v f64_or(f64v a, f64v b) {
  return _mm512_castsi512_pd(_mm512_or_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b)));
}
ATTN_INLINE bool f64_any_bits(f64v v) {
  const __m512i bits = _mm512_castpd_si512(v);
  return _mm512_test_epi64_mask(bits, bits) != 0;
}
ATTN_INLINE double f64_sum(f64v v) {
  const __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  return attn_sum_m128d(_mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1)));
}
ATTN_INLINE double f64_max_lanes(f64v v) {
  const __m256d h = _mm256_max_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
  return attn_max_m128d(_mm_max_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1)));
}

#include "RowKernels.h"

#endif  // __x86_64__

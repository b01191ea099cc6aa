// Operations on 128-bit registers that every x86 variant uses: tails through a small buffer, and
// the horizontal sum and maximum of a register's lanes, in a fixed order. Included by
// SSE2Kernels.c, AVX2Kernels.c and AVX512Kernels.c after they define ATTN_INLINE (whose target
// attribute the helpers take on: a helper inlined into an AVX2 function must be compiled for AVX2).

#include <immintrin.h>
#include <math.h>  // INFINITY
#include <stddef.h>

// The first n elements of p, the other lanes `fill`, through a stack buffer (the loads and
// stores never touch memory past the row). Rows end in a tail at most once per call.
#define ATTN_DEFINE_BUFFERED_TAIL(prefix, type, vector, lanes, loadu, storeu)                 \
  ATTN_INLINE vector prefix##_load_tail(const type *p, size_t n, type fill) {                 \
    type buffer[lanes];                                                                        \
    for (size_t i = 0; i < (lanes); ++i) buffer[i] = i < n ? p[i] : fill;                      \
    return loadu(buffer);                                                                      \
  }                                                                                            \
  ATTN_INLINE void prefix##_store_tail(type *p, size_t n, vector v) {                          \
    type buffer[lanes];                                                                        \
    storeu(buffer, v);                                                                         \
    for (size_t i = 0; i < n; ++i) p[i] = buffer[i];                                           \
  }

ATTN_INLINE float attn_sum_m128(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));                 // lanes 0+2, 1+3
  v = _mm_add_ss(v, _mm_shuffle_ps(v, v, 1));             // (0+2) + (1+3)
  return _mm_cvtss_f32(v);
}

ATTN_INLINE float attn_max_m128(__m128 v) {
  v = _mm_max_ps(v, _mm_movehl_ps(v, v));
  v = _mm_max_ss(v, _mm_shuffle_ps(v, v, 1));
  return _mm_cvtss_f32(v);
}

ATTN_INLINE double attn_sum_m128d(__m128d v) {
  return _mm_cvtsd_f64(_mm_add_sd(v, _mm_unpackhi_pd(v, v)));
}

ATTN_INLINE double attn_max_m128d(__m128d v) {
  return _mm_cvtsd_f64(_mm_max_sd(v, _mm_unpackhi_pd(v, v)));
}

// Transposes an 8 × 8 block of Floats in eight 256-bit registers (unpack, shuffle, then swap the
// 128-bit halves): for the AVX2 and AVX-512 variants, whose targets both include AVX2. Defined
// only where the including file asks for it, since SSE2 cannot compile it.
#ifdef ATTN_WITH_TRANSPOSE_8X8
ATTN_INLINE void attn_transpose_8x8(const float *s, size_t lds, float *d, size_t ldd) {
  const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lds);
  const __m256 r2 = _mm256_loadu_ps(s + 2 * lds), r3 = _mm256_loadu_ps(s + 3 * lds);
  const __m256 r4 = _mm256_loadu_ps(s + 4 * lds), r5 = _mm256_loadu_ps(s + 5 * lds);
  const __m256 r6 = _mm256_loadu_ps(s + 6 * lds), r7 = _mm256_loadu_ps(s + 7 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(d + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(d + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(d + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(d + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(d + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(d + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(d + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

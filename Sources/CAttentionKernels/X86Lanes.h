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

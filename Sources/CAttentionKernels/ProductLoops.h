// The small matrix product for one precision; RowKernels.h includes this file once for Float
// and once for Double, with the same macros as RowLoops.h, which it undefines at the end.
//
// C = alpha·A·B (+ bias) (+ C), for row-major A (m × k), B (k × n) and C (m × n), read in place:
// no packing. For the attention tiles of short sequences (each dimension up to 128)
// OpenBLAS's sgemm spends a third of its time copying A and B into its panel layout and more in
// per-call set-up; here A and B stay where they are (a block of 6 rows of A is reused from L1 for
// every panel of B) and each 6 × 2-vector block of C is accumulated in 12 registers, then scaled,
// added and stored once. Also the transpose that gives the score product its Kᵀ.

#define T ATTN_SCALAR
#define V ATTN_VECTOR
#define L ATTN_LANES
#define OP ATTN_OP

// Rows of C per block: 6 × 2 accumulators, 2 loads of B and one broadcast of A fill 15 of the 16
// registers of SSE2 and AVX2 (12 FMAs per 8 loads; 4 rows measured 5 % slower on 128 × 128 × 64).
#define ATTN_PRODUCT_ROWS 6

// One block of `rows` (1…6) rows of C and `vectors` (1 or 2) whole vectors of columns, or, when
// `partial`, the last `tail` (< L) columns in one vector. Always inlined with constant `rows`,
// `vectors` and `partial`, so the accumulator arrays live in registers and the branches on them
// vanish. With `row_scale` (else NULL), row r is finally multiplied by `row_scale[r]`; with
// `row_max` (else NULL), each row's written values are folded into its vector of maxima, the way
// `max_one` folds a row (`max_skip_nan`, the tail's unwritten lanes as -infinity).
ATTN_INLINE void ATTN_NAME(product_block)(
    const size_t rows, const size_t vectors, const bool partial, size_t tail, size_t k, T alpha,
    const T *a, size_t lda, const T *b, size_t ldb, const T *bias, bool accumulate, T *c,
    size_t ldc, const T *row_scale, V *row_max) {
  V sums[ATTN_PRODUCT_ROWS][2];
  for (size_t r = 0; r < rows; ++r) {
    for (size_t v = 0; v < vectors; ++v) sums[r][v] = OP(splat)(0);
  }
  for (size_t p = 0; p < k; ++p) {
    V bp[2];
    if (partial) {
      bp[0] = OP(load_tail)(b + p * ldb, tail, 0);
    } else {
      for (size_t v = 0; v < vectors; ++v) bp[v] = OP(load)(b + p * ldb + v * L);
    }
    for (size_t r = 0; r < rows; ++r) {
      const V ap = OP(splat)(a[r * lda + p]);
      for (size_t v = 0; v < vectors; ++v) sums[r][v] = OP(fmadd)(ap, bp[v], sums[r][v]);
    }
  }
  // alpha·(A·B) (+ bias) (+ C): with `accumulate` the order BLAS uses, so a NaN or infinity in C
  // or the product propagates the same way; without it C is overwritten, never read. The bias
  // (a `Linear` map's, one value per column) is added here rather than copied into C first: the
  // copy was 3 % of `attention embed`.
  const V scale = OP(splat)(alpha);
  V shift[2];
  if (bias) {
    for (size_t v = 0; v < vectors; ++v) {
      shift[v] = partial ? OP(load_tail)(bias, tail, 0) : OP(load)(bias + v * L);
    }
  }
  for (size_t r = 0; r < rows; ++r) {
    T *out = c + r * ldc;
    for (size_t v = 0; v < vectors; ++v) {
      V x = OP(mul)(sums[r][v], scale);
      if (bias) x = OP(add)(x, shift[v]);
      if (partial) {
        if (accumulate) x = OP(add)(x, OP(load_tail)(out, tail, 0));
        if (row_scale) x = OP(mul)(x, OP(splat)(row_scale[r]));
        OP(store_tail)(out, tail, x);
        // The lanes past the tail hold products of the zero padding: read back as -infinity.
        if (row_max) row_max[r] = OP(max_skip_nan)(OP(load_tail)(out, tail, -INFINITY), row_max[r]);
      } else {
        if (accumulate) x = OP(add)(x, OP(load)(out + v * L));
        if (row_scale) x = OP(mul)(x, OP(splat)(row_scale[r]));
        OP(store)(out + v * L, x);
        if (row_max) row_max[r] = OP(max_skip_nan)(x, row_max[r]);
      }
    }
  }
}

// Every panel of columns for one block of `rows` rows (constant): the block's rows of A (6 × k)
// stay in L1 while B streams past once. Rows outermost measured 5–10 % faster than panels
// outermost on the fused path's tiles (128 × 128 × 64: Q and Kᵀ are 32 KiB each, so one of them
// is read from L2 either way, and B's 2 loads per step cost less than A's 4 broadcasts).
//
// `with_scales` and `with_maxima` are constants at each call (the kernel branches once, at the
// top), so the loops without them compile exactly as if they did not exist: a run-time test
// inside them made the compiler keep accumulators on the stack (7 % slower on (32, 12, 64, 32)).
ATTN_INLINE void ATTN_NAME(product_rows)(
    const size_t rows, size_t n, size_t k, T alpha, const T *a, size_t lda, const T *b,
    size_t ldb, const T *bias, bool accumulate, T *c, size_t ldc, const bool with_scales,
    const T *row_scales, const bool with_maxima, T *maxima) {
  V row_max[ATTN_PRODUCT_ROWS];
  for (size_t r = 0; r < rows; ++r) row_max[r] = OP(splat)(-INFINITY);
  V *const fold = with_maxima ? row_max : NULL;
  const T *const scales = with_scales ? row_scales : NULL;
#define ATTN_BLOCK(vectors, partial, tail)                                                      \
  ATTN_NAME(product_block)(rows, vectors, partial, tail, k, alpha, a, lda, b + j, ldb,           \
                           bias ? bias + j : NULL, accumulate, c + j, ldc, scales, fold)
  size_t j = 0;
  for (; j + 2 * L <= n; j += 2 * L) ATTN_BLOCK(2, false, 0);
  if (j + L <= n) {
    ATTN_BLOCK(1, false, 0);
    j += L;
  }
  if (j < n) ATTN_BLOCK(1, true, n - j);
#undef ATTN_BLOCK
  if (with_maxima) {
    for (size_t r = 0; r < rows; ++r) maxima[r] = OP(max_lanes)(row_max[r]);
  }
}

// The rows in blocks of 6, then the last 1–5 rows, each count its own inlined block.
ATTN_INLINE void ATTN_NAME(product_all_rows)(
    size_t m, size_t n, size_t k, T alpha, const T *a, size_t lda, const T *b, size_t ldb,
    const T *bias, bool accumulate, T *c, size_t ldc, const bool with_scales,
    const T *row_scales, const bool with_maxima, T *maxima) {
  size_t i = 0;
#define ATTN_ROWS(count)                                                                     \
  ATTN_NAME(product_rows)(count, n, k, alpha, a + i * lda, lda, b, ldb, bias, accumulate,    \
                          c + i * ldc, ldc, with_scales, with_scales ? row_scales + i : NULL, \
                          with_maxima, with_maxima ? maxima + i : NULL)
  for (; i + ATTN_PRODUCT_ROWS <= m; i += ATTN_PRODUCT_ROWS) ATTN_ROWS(ATTN_PRODUCT_ROWS);
  switch (m - i) {
    case 5:
      ATTN_ROWS(5);
      break;
    case 4:
      ATTN_ROWS(4);
      break;
    case 3:
      ATTN_ROWS(3);
      break;
    case 2:
      ATTN_ROWS(2);
      break;
    case 1:
      ATTN_ROWS(1);
      break;
    default:
      break;
  }
#undef ATTN_ROWS
}

ATTN_KERNEL void ATTN_NAME(product)(
    size_t m, size_t n, size_t k, T alpha, const T *a, size_t lda, const T *b, size_t ldb,
    const T *bias, bool accumulate, T *c, size_t ldc, const T *row_scales, T *maxima) {
#define ATTN_ALL_ROWS(scales, max)                                                             \
  ATTN_NAME(product_all_rows)(m, n, k, alpha, a, lda, b, ldb, bias, accumulate, c, ldc, scales, \
                              row_scales, max, maxima)
  if (row_scales && maxima) {
    ATTN_ALL_ROWS(true, true);
  } else if (row_scales) {
    ATTN_ALL_ROWS(true, false);
  } else if (maxima) {
    ATTN_ALL_ROWS(false, true);
  } else {
    ATTN_ALL_ROWS(false, false);
  }
#undef ATTN_ALL_ROWS
}

// y = alpha·A·x, or y += alpha·A·x, for row-major A (rows × columns, row stride `lda`): decoding's
// products of one token's row with a weight matrix or a key tile, whose rows are contiguous. A is
// streamed once, four rows at a time against the same loads of x (which stays in L1), each row
// in two accumulators (eight independent FMA chains hide the FMA latency when A is cached).
#define ATTN_MATVEC_ROWS 4

ATTN_INLINE void ATTN_NAME(matvec_block)(
    const size_t rows, size_t columns, T alpha, const T *a, size_t lda, const T *x,
    bool accumulate, T *y) {
  V sums[ATTN_MATVEC_ROWS][2];
  for (size_t r = 0; r < rows; ++r) sums[r][0] = sums[r][1] = OP(splat)(0);
  size_t c = 0;
  for (; c + 2 * L <= columns; c += 2 * L) {
    const V x0 = OP(load)(x + c), x1 = OP(load)(x + c + L);
    for (size_t r = 0; r < rows; ++r) {
      sums[r][0] = OP(fmadd)(OP(load)(a + r * lda + c), x0, sums[r][0]);
      sums[r][1] = OP(fmadd)(OP(load)(a + r * lda + c + L), x1, sums[r][1]);
    }
  }
  if (c + L <= columns) {
    const V x0 = OP(load)(x + c);
    for (size_t r = 0; r < rows; ++r) {
      sums[r][0] = OP(fmadd)(OP(load)(a + r * lda + c), x0, sums[r][0]);
    }
    c += L;
  }
  if (c < columns) {
    const V x1 = OP(load_tail)(x + c, columns - c, 0);
    for (size_t r = 0; r < rows; ++r) {
      sums[r][1] = OP(fmadd)(OP(load_tail)(a + r * lda + c, columns - c, 0), x1, sums[r][1]);
    }
  }
  for (size_t r = 0; r < rows; ++r) {
    const T product = alpha * OP(sum)(OP(add)(sums[r][0], sums[r][1]));
    y[r] = accumulate ? y[r] + product : product;
  }
}

ATTN_KERNEL void ATTN_NAME(matvec)(
    size_t rows, size_t columns, T alpha, const T *a, size_t lda, const T *x, bool accumulate,
    T *y) {
  size_t r = 0;
  for (; r + ATTN_MATVEC_ROWS <= rows; r += ATTN_MATVEC_ROWS) {
    ATTN_NAME(matvec_block)(ATTN_MATVEC_ROWS, columns, alpha, a + r * lda, lda, x, accumulate, y + r);
  }
  switch (rows - r) {
    case 3:
      ATTN_NAME(matvec_block)(3, columns, alpha, a + r * lda, lda, x, accumulate, y + r);
      break;
    case 2:
      ATTN_NAME(matvec_block)(2, columns, alpha, a + r * lda, lda, x, accumulate, y + r);
      break;
    case 1:
      ATTN_NAME(matvec_block)(1, columns, alpha, a + r * lda, lda, x, accumulate, y + r);
      break;
    default:
      break;
  }
}

#undef ATTN_MATVEC_ROWS

// Tiles of ATTN_TRANSPOSE_TILE × ATTN_TRANSPOSE_TILE through the variant's register transpose
// when it has one (8 × 8 Floats for AVX2 and AVX-512, 4 × 4 for SSE2: 0.1 ns per element
// instead of 0.6 for the scalar loop, whose stores go to 8 rows at a time); the edges, and
// variants without one, element by element.
ATTN_KERNEL void ATTN_NAME(transpose)(
    size_t rows, size_t columns, const T *source, size_t lds, T *destination, size_t ldd) {
  size_t i0 = 0;
#ifdef ATTN_TRANSPOSE_TILE
  const size_t tile = ATTN_TRANSPOSE_TILE;
  for (; i0 + tile <= rows; i0 += tile) {
    size_t j0 = 0;
    for (; j0 + tile <= columns; j0 += tile) {
      OP(transpose_tile)(source + i0 * lds + j0, lds, destination + j0 * ldd + i0, ldd);
    }
    for (size_t j = j0; j < columns; ++j) {
      for (size_t i = i0; i < i0 + tile; ++i) destination[j * ldd + i] = source[i * lds + j];
    }
  }
#endif
  for (size_t j = 0; j < columns; ++j) {
    for (size_t i = i0; i < rows; ++i) destination[j * ldd + i] = source[i * lds + j];
  }
}

#undef ATTN_PRODUCT_ROWS
#undef ATTN_TRANSPOSE_TILE
#undef T
#undef V
#undef L
#undef OP
#undef ATTN_SCALAR
#undef ATTN_VECTOR
#undef ATTN_LANES
#undef ATTN_OP
#undef ATTN_NAME

// The four row loops for one precision; RowKernels.h includes this file once for Float and once
// for Double, with ATTN_SCALAR, ATTN_VECTOR, ATTN_LANES, ATTN_OP(name) (the vector operation) and
// ATTN_NAME(name) (the function's name) defined. They are undefined again at the end.
//
// Tails shorter than a vector go through the same vector code, loaded with padding that cannot
// change the result (-infinity for the maximum and the exponentials, 0 for the scan).

#define T ATTN_SCALAR
#define V ATTN_VECTOR
#define L ATTN_LANES
#define OP ATTN_OP

ATTN_INLINE T ATTN_NAME(max_one)(const T *row, size_t count) {
  // Four accumulators: with one, every step would wait for the previous maximum (3–4 cycles).
  // An accumulator takes a value only when it compares greater, so none ever holds a NaN.
  V m0 = OP(splat)(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
  size_t j = 0;
  for (; j + 4 * L <= count; j += 4 * L) {
    m0 = OP(max_skip_nan)(OP(load)(row + j), m0);
    m1 = OP(max_skip_nan)(OP(load)(row + j + L), m1);
    m2 = OP(max_skip_nan)(OP(load)(row + j + 2 * L), m2);
    m3 = OP(max_skip_nan)(OP(load)(row + j + 3 * L), m3);
  }
  for (; j + L <= count; j += L) m0 = OP(max_skip_nan)(OP(load)(row + j), m0);
  if (j < count) m1 = OP(max_skip_nan)(OP(load_tail)(row + j, count - j, -INFINITY), m1);
  m0 = OP(max_skip_nan)(m0, m1);
  m2 = OP(max_skip_nan)(m2, m3);
  return OP(max_lanes)(OP(max_skip_nan)(m0, m2));
}

ATTN_INLINE T ATTN_NAME(exp_sum_one)(T *row, size_t count, T shift) {
  const V s = OP(splat)(shift);
  // Two vectors per step into two sums: the exps of a step overlap, and the sums' additions do
  // not wait on each other.
  V sum0 = OP(splat)(0), sum1 = sum0;
  size_t j = 0;
  for (; j + 2 * L <= count; j += 2 * L) {
    const V e0 = ATTN_NAME(exp)(OP(sub)(OP(load)(row + j), s));
    const V e1 = ATTN_NAME(exp)(OP(sub)(OP(load)(row + j + L), s));
    OP(store)(row + j, e0);
    OP(store)(row + j + L, e1);
    sum0 = OP(add)(sum0, e0);
    sum1 = OP(add)(sum1, e1);
  }
  if (j + L <= count) {
    const V e = ATTN_NAME(exp)(OP(sub)(OP(load)(row + j), s));
    OP(store)(row + j, e);
    sum0 = OP(add)(sum0, e);
    j += L;
  }
  if (j < count) {
    // The padding is -infinity, and -infinity − shift is -infinity for any shift but -infinity
    // (excluded by the contract), whose exp adds exactly 0.
    const V e = ATTN_NAME(exp)(OP(sub)(OP(load_tail)(row + j, count - j, -INFINITY), s));
    OP(store_tail)(row + j, count - j, e);
    sum1 = OP(add)(sum1, e);
  }
  return OP(sum)(OP(add)(sum0, sum1));
}

ATTN_INLINE void ATTN_NAME(scale_one)(T *row, size_t count, T factor) {
  const V f = OP(splat)(factor);
  size_t j = 0;
  for (; j + 2 * L <= count; j += 2 * L) {
    OP(store)(row + j, OP(mul)(OP(load)(row + j), f));
    OP(store)(row + j + L, OP(mul)(OP(load)(row + j + L), f));
  }
  if (j + L <= count) {
    OP(store)(row + j, OP(mul)(OP(load)(row + j), f));
    j += L;
  }
  if (j < count) OP(store_tail)(row + j, count - j, OP(mul)(OP(load_tail)(row + j, count - j, 0), f));
}

// The kernels of one row, and of `row_count` rows `stride` apart with one result (maximum, sum)
// or argument (shift, factor) per row: the fused kernel's tiles of short rows (64 keys) spend as
// long in the calls and loop set-up as in the arithmetic when called row by row, and in one loop
// the out-of-order core overlaps one row's exps with the next row's.

ATTN_KERNEL T ATTN_NAME(max)(const T *row, size_t count) { return ATTN_NAME(max_one)(row, count); }

ATTN_KERNEL T ATTN_NAME(exp_sum)(T *row, size_t count, T shift) {
  return ATTN_NAME(exp_sum_one)(row, count, shift);
}

ATTN_KERNEL void ATTN_NAME(scale)(T *row, size_t count, T factor) {
  ATTN_NAME(scale_one)(row, count, factor);
}

ATTN_KERNEL void ATTN_NAME(max_rows)(const T *rows, size_t count, size_t row_count, size_t stride,
                                     T *maxima) {
  for (size_t r = 0; r < row_count; ++r) maxima[r] = ATTN_NAME(max_one)(rows + r * stride, count);
}

ATTN_KERNEL void ATTN_NAME(exp_sum_rows)(T *rows, size_t count, size_t row_count, size_t stride,
                                         const T *shifts, T *sums) {
  for (size_t r = 0; r < row_count; ++r) {
    sums[r] = ATTN_NAME(exp_sum_one)(rows + r * stride, count, shifts[r]);
  }
}

ATTN_KERNEL void ATTN_NAME(scale_rows)(T *rows, size_t count, size_t row_count, size_t stride,
                                       const T *factors) {
  for (size_t r = 0; r < row_count; ++r) ATTN_NAME(scale_one)(rows + r * stride, count, factors[r]);
}

ATTN_KERNEL bool ATTN_NAME(has_nonfinite)(const T *values, size_t count) {
  // x − x is +0 for a finite x and NaN for NaN and ±infinity, so or-ing the bit patterns of the
  // differences leaves a bit set exactly when some value was not finite. Branch-free, and two
  // accumulators so the loop is limited by loads, not by the or's latency.
  V a0 = OP(splat)(0), a1 = a0;
  size_t j = 0;
  for (; j + 2 * L <= count; j += 2 * L) {
    const V x0 = OP(load)(values + j), x1 = OP(load)(values + j + L);
    a0 = OP(or)(a0, OP(sub)(x0, x0));
    a1 = OP(or)(a1, OP(sub)(x1, x1));
  }
  if (j + L <= count) {
    const V x = OP(load)(values + j);
    a0 = OP(or)(a0, OP(sub)(x, x));
    j += L;
  }
  if (j < count) {
    const V x = OP(load_tail)(values + j, count - j, 0);
    a1 = OP(or)(a1, OP(sub)(x, x));
  }
  return OP(any_bits)(OP(or)(a0, a1));
}

#undef T
#undef V
#undef L
#undef OP
#undef ATTN_SCALAR
#undef ATTN_VECTOR
#undef ATTN_LANES
#undef ATTN_OP
#undef ATTN_NAME

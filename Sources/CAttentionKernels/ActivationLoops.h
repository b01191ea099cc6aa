// The activations of a transformer's MLP for Float; RowKernels.h includes this file once per
// variant, after `exp_f32`:
// - the gated `out = g·σ(z)·u` with `z = linear·(g + cubic·g³)`: SwiGLU's SiLU and GeGLU's
//   tanh-approximated GELU in one loop (0.5·(1 + tanh(y)) = σ(2y)), with the exp of RowKernels.h;
// - BERT's exact GELU, `x·(1 + erf(x/√2))/2`.
//
// A tail shorter than a vector is loaded with 0 padding (finite results) and stored back
// partially.

ATTN_INLINE f32v gated_sigmoid_vector(f32v g, f32v u, f32v linear, f32v cubic) {
  // (cubic·g)·g·g + g: cubic·g first, so that SiLU's cubic 0 gives exactly g even where g²
  // overflows (0·infinity would be NaN).
  const f32v z = f32_mul(linear, f32_fmadd(f32_mul(f32_mul(cubic, g), g), g, g));
  // exp(−z) is +infinity below z = −88.7 (the quotient is then ±0, the limit) and exactly 0
  // above z = 87.3 (the quotient is g·u).
  const f32v denominator = f32_add(f32_splat(1.0f), exp_f32(f32_sub(f32_splat(0.0f), z)));
  return f32_div(f32_mul(g, u), denominator);
}

ATTN_KERNEL void gated_sigmoid_f32(const float *gate, const float *up, float *out, size_t count,
                                   float linear, float cubic) {
  const f32v a = f32_splat(linear), c = f32_splat(cubic);
  size_t j = 0;
  // Two vectors per step: the two exps' polynomials overlap.
  for (; j + 2 * F32_LANES <= count; j += 2 * F32_LANES) {
    const f32v r0 = gated_sigmoid_vector(f32_load(gate + j), f32_load(up + j), a, c);
    const f32v r1 = gated_sigmoid_vector(
        f32_load(gate + j + F32_LANES), f32_load(up + j + F32_LANES), a, c);
    f32_store(out + j, r0);
    f32_store(out + j + F32_LANES, r1);
  }
  for (; j + F32_LANES <= count; j += F32_LANES) {
    f32_store(out + j, gated_sigmoid_vector(f32_load(gate + j), f32_load(up + j), a, c));
  }
  if (j < count) {
    const size_t n = count - j;
    const f32v r = gated_sigmoid_vector(f32_load_tail(gate + j, n, 0), f32_load_tail(up + j, n, 0),
                                        a, c);
    f32_store_tail(out + j, n, r);
  }
}

// erf(a) for |a| ≤ 4 as a·P(a²)/Q(a²) (the rational fit of Eigen's float erf), and the GELU from
// it. Beyond |a| = 4, erf is 1 − 1.5e-8 or closer to ±1: exactly ±1 in Float, which the clamp
// gives (and which keeps P/Q, a ratio of growing polynomials, from overflowing).
ATTN_INLINE f32v gelu_erf_vector(f32v x) {
  const f32v a = f32_clamp(f32_mul(x, f32_splat(0.70710678118654752f)), f32_splat(-4.0f),
                           f32_splat(4.0f));
  const f32v t = f32_mul(a, a);
  f32v p = f32_splat(-1.2262406514377489e-08f);
  p = f32_fmadd(p, t, f32_splat(4.525829648634787e-06f));
  p = f32_fmadd(p, t, f32_splat(3.727272001994157e-04f));
  p = f32_fmadd(p, t, f32_splat(3.7825349830092336e-03f));
  p = f32_fmadd(p, t, f32_splat(5.40219196950757e-02f));
  p = f32_fmadd(p, t, f32_splat(1.8398438880241302e-01f));
  p = f32_fmadd(p, t, f32_splat(1.1283791819587745f));
  f32v q = f32_splat(6.161837392727214e-05f);
  q = f32_fmadd(q, t, f32_splat(1.284710728758545e-03f));
  q = f32_fmadd(q, t, f32_splat(1.5304037107732147e-02f));
  q = f32_fmadd(q, t, f32_splat(1.133365036550243e-01f));
  q = f32_fmadd(q, t, f32_splat(4.963854758411609e-01f));
  q = f32_fmadd(q, t, f32_splat(1.0f));
  const f32v erf = f32_div(f32_mul(a, p), q);
  return f32_mul(f32_mul(f32_splat(0.5f), x), f32_add(f32_splat(1.0f), erf));
}

ATTN_KERNEL void gelu_erf_f32(float *values, size_t count) {
  size_t j = 0;
  for (; j + 2 * F32_LANES <= count; j += 2 * F32_LANES) {
    const f32v r0 = gelu_erf_vector(f32_load(values + j));
    const f32v r1 = gelu_erf_vector(f32_load(values + j + F32_LANES));
    f32_store(values + j, r0);
    f32_store(values + j + F32_LANES, r1);
  }
  for (; j + F32_LANES <= count; j += F32_LANES) {
    f32_store(values + j, gelu_erf_vector(f32_load(values + j)));
  }
  if (j < count) {
    const size_t n = count - j;
    f32_store_tail(values + j, n, gelu_erf_vector(f32_load_tail(values + j, n, 0)));
  }
}

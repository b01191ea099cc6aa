/// The gated activation of a transformer's feed-forward block, `act(gate) ⊙ up`: SwiGLU's SiLU
/// (Llama, Qwen2, Mistral) or GeGLU's tanh-approximated GELU (Gemma).
///
/// Both are `g·σ(z)·u` for some `z(g)`, so one vector loop computes them, at the CPU's widest
/// instruction set (``VectorKernels``):
/// - SiLU: `g·σ(g)·u = g / (1 + e^(−g)) · u`;
/// - GELU (tanh): `0.5·g·(1 + tanh(y))·u = g·σ(2y)·u`, `y = √(2/π)·(g + 0.044715·g³)`.
///
/// Far outside the sigmoid's transition the result is its limit (`g·u`, or ±0), never NaN from
/// the arithmetic; a NaN or infinite input gives what IEEE arithmetic gives.
package enum GatedActivation: Sendable, Equatable {
  case silu
  case geluTanh

  /// Writes `act(gate[i])·up[i]` to `out[i]` for `count` elements; `out` may be `gate` or `up`.
  package func apply(
    gate: UnsafePointer<Float>, up: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
    count: Int
  ) {
    let (linear, cubic): (Float, Float) =
      switch self {
      case .silu: (1, 0)
      case .geluTanh: (2 * (2 / Float.pi).squareRoot(), 0.044715)
      }
    VectorKernels.active.gatedSigmoid(
      gate: gate, up: up, into: out, count: count, linear: linear, cubic: cubic)
  }
}

import Attention

/// The conversion contract on a decoded tensor (see ``FuzzTarget``): a floating-point tensor of
/// any width converts to `Float` and `Double` without trapping, and half-precision elements widen
/// exactly, so narrowing them back gives the same bits (a NaN stays a NaN of the same sign).
/// Non-floating-point tensors refuse the conversion with ``TensorFileError``.
func checkConversions(_ tensor: AnyTensor) {
  guard tensor.isFloatingPoint else {
    do {
      _ = try tensor.floatingPoint(as: Float.self)
      preconditionFailure("a \(tensor.dtypeName) tensor converted to Float")
    } catch {
      precondition(error is TensorFileError, "floatingPoint threw \(type(of: error))")
    }
    return
  }
  guard let singles = try? tensor.floatingPoint(as: Float.self),
    let doubles = try? tensor.floatingPoint(as: Double.self)
  else {
    preconditionFailure("a \(tensor.dtypeName) tensor did not convert")
  }
  precondition(singles.shape == tensor.shape && doubles.shape == tensor.shape, "shape changed")
  switch tensor {
  case .float16(let halves):
    for narrowed in [singles.converted(to: Float16.self), doubles.converted(to: Float16.self)] {
      for (back, original) in zip(narrowed.scalars, halves.scalars) {
        precondition(
          original.isNaN
            ? back.isNaN && back.sign == original.sign : back.bitPattern == original.bitPattern,
          "float16 \(original.bitPattern) did not survive widening")
      }
    }
  case .bfloat16(let halves):
    for narrowed in [singles.converted(to: BFloat16.self), doubles.converted(to: BFloat16.self)] {
      for (back, original) in zip(narrowed.scalars, halves.scalars) {
        let isNaN = original.floatValue.isNaN
        precondition(
          isNaN
            ? back.floatValue.isNaN && back.bitPattern >> 15 == original.bitPattern >> 15
            : back.bitPattern == original.bitPattern,
          "bfloat16 \(original.bitPattern) did not survive widening")
      }
    }
  default:
    break
  }
}

import Attention

/// The `.npy` reader's contract on one input (see ``FuzzTarget``): decodes or throws
/// ``TensorFileError``; a decoded array holds no more bytes than the input, converts as
/// ``checkConversions(_:)`` requires, and re-encodes to bytes that decode to the same shape and
/// re-encode identically.
func checkNPY(_ bytes: [UInt8]) {
  let tensor: AnyTensor
  do {
    tensor = try NPY.decode(bytes)
  } catch let error as TensorFileError {
    _ = error.description  // the message must be printable for any input
    return
  } catch {
    preconditionFailure("NPY.decode threw \(type(of: error)), not TensorFileError: \(error)")
  }
  precondition(tensor.count * byteWidth(tensor) <= bytes.count, "more elements than bytes")
  checkConversions(tensor)
  let encoded = NPY.encode(tensor)
  guard let again = try? NPY.decode(encoded) else {
    preconditionFailure("NPY.encode wrote bytes NPY.decode rejects, shape \(tensor.shape)")
  }
  precondition(again.shape == tensor.shape, "the round trip changed the shape")
  precondition(NPY.encode(again) == encoded, "the round trip changed the bytes")
}

/// Bytes per element as stored in files.
func byteWidth(_ tensor: AnyTensor) -> Int {
  switch tensor {
  case .bool: 1
  case .float16, .bfloat16: 2
  case .float32, .int32: 4
  case .float64, .int64: 8
  }
}

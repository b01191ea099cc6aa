import Attention

/// The `.safetensors` reader's contract on one input (see ``FuzzTarget``): decodes or throws
/// ``TensorFileError``; the decoded tensors hold no more bytes than the input and convert as
/// ``checkConversions(_:)`` requires; what decodes encodes without error, and the encoding
/// decodes to a file that encodes to the same bytes (the writer's layout is canonical) with the
/// same names, dtypes and shapes.
func checkSafetensors(_ bytes: [UInt8]) {
  let file: SafetensorsFile
  do {
    file = try SafetensorsFile.decode(bytes)
  } catch let error as TensorFileError {
    _ = error.description  // the message must be printable for any input
    return
  } catch {
    preconditionFailure("SafetensorsFile.decode threw \(type(of: error)): \(error)")
  }
  var decodedBytes = 0
  for name in file.names {
    if let tensor = file[name] {
      decodedBytes += tensor.count * byteWidth(tensor)
      checkConversions(tensor)
    }
  }
  precondition(decodedBytes <= bytes.count, "more tensor bytes than input bytes")
  let encoded: [UInt8]
  do {
    encoded = try file.encoded()
  } catch {
    preconditionFailure("a decoded file does not encode: \(error)")
  }
  guard let again = try? SafetensorsFile.decode(encoded) else {
    preconditionFailure("SafetensorsFile.encoded() wrote bytes decode rejects")
  }
  precondition(
    Set(again.entries) == Set(file.entries), "the round trip changed names, dtypes or shapes")
  precondition(again.metadata == file.metadata, "the round trip changed the metadata")
  precondition((try? again.encoded()) == encoded, "the round trip changed the bytes")
}

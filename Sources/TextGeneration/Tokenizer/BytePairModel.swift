import Foundation

/// The `BPE` model of a `tokenizer.json`: a vocabulary, ranked merges, and what to do with a
/// character the vocabulary lacks (`byte_fallback` to `<0xNN>` tokens, else `unk_token`).
///
/// Encoding a word follows tokenizers' `BPE::merge_word` and `Word::merge_all` step by step:
/// one symbol per character, then the lowest-ranked mergeable adjacent pair is merged until
/// none is left, ties going to the leftmost pair. That order, not just the set of merges, is
/// what makes the ids identical.
///
/// Tokens are keyed by their UTF-8 bytes, never by `String`: `String` equality is canonical
/// equivalence, under which a vocabulary's `"é"` and `"e\u{301}"` would be one key.
struct BytePairModel: Sendable {
  /// Token bytes → id.
  private let ids: [TokenBytes: Int]
  /// Id → token, for decoding; `nil` where no token has the id.
  private let tokens: [String?]
  /// (left id, right id) → (rank, id of the merged token), each packed in a `UInt64`.
  private let merges: [UInt64: UInt64]
  private let unknownID: Int?
  private let fusesUnknown: Bool
  /// The id of `<0xNN>` for each byte, when `byte_fallback` is on.
  private let byteFallbackIDs: [Int?]?
  private let ignoresMerges: Bool
  private let continuingSubwordPrefix: [UInt8]
  private let endOfWordSuffix: [UInt8]

  /// The number of ids the model can produce: its highest id plus one.
  var idCount: Int { tokens.count }

  /// Reads the `model` object.
  ///
  /// - Throws: ``TextGenerationError/Kind/unsupportedComponent`` when `type` is not `BPE` or
  ///   dropout is on; ``TextGenerationError/Kind/invalidTokenizer`` when the vocabulary or the
  ///   merges are malformed, a merge names a token the vocabulary lacks, or `unk_token` is not
  ///   in the vocabulary.
  init(_ field: JSONField) throws(TextGenerationError) {
    // tokenizers accepts a model without `type` when its fields say which it is.
    let type = try field.member("type")?.string() ?? (field.member("merges") != nil ? "BPE" : "")
    guard type == "BPE" else {
      throw field.unsupported("model", type: type, supported: ["BPE"])
    }
    if let dropout = field.member("dropout") {
      guard case .number(let text) = dropout.node, let value = Double(text) else {
        throw dropout.invalid("should be a number or null, found \(dropout.node.summary)")
      }
      if value > 0 {
        throw TextGenerationError(
          .unsupportedComponent, file: field.file, component: dropout.path,
          "\(field.file): \(dropout.path) is \(text); BPE dropout (random merges, for "
            + "training) is not supported")
      }
    }

    var ids: [TokenBytes: Int] = [:]
    var tokens: [String?] = []
    let vocabulary = try field.requiredMember("vocab").members()
    ids.reserveCapacity(vocabulary.count)
    for (token, value) in vocabulary {
      let id = try value.integer()
      guard id >= 0 && id < 1 << 31 else { throw value.invalid("is not a valid id: \(id)") }
      ids[TokenBytes(token)] = id
      if id >= tokens.count { tokens += Array(repeating: nil, count: id + 1 - tokens.count) }
      tokens[id] = token
    }

    let prefix = Array(try field.member("continuing_subword_prefix")?.string().utf8 ?? "".utf8)
    var merges: [UInt64: UInt64] = [:]
    let mergeFields = try field.requiredMember("merges").array()
    merges.reserveCapacity(mergeFields.count)
    for (rank, merge) in mergeFields.enumerated() {
      let (left, right) = try Self.pair(merge)
      guard let leftID = ids[TokenBytes(left)], let rightID = ids[TokenBytes(right)]
      else {
        let missing = ids[TokenBytes(left)] == nil ? left : right
        throw merge.invalid(
          "merges \"\(left)\" and \"\(right)\", but \"\(missing)\" is not in the vocabulary")
      }
      let rightBytes = Array(right.utf8)
      guard rightBytes.starts(with: prefix) || prefix.isEmpty else {
        throw merge.invalid("merges \"\(right)\", which lacks the continuing-subword prefix")
      }
      let merged = Array(left.utf8) + rightBytes.dropFirst(prefix.count)
      guard let mergedID = ids[TokenBytes(merged[...])] else {
        throw merge.invalid(
          "merges \"\(left)\" and \"\(right)\", but \"\(String(decoding: merged, as: UTF8.self))\" "
            + "is not in the vocabulary")
      }
      merges[Self.key(leftID, rightID)] = UInt64(rank) << 32 | UInt64(mergedID)
    }

    if let unknown = field.member("unk_token") {
      let token = try unknown.string()
      guard let id = ids[TokenBytes(token)] else {
        throw unknown.invalid("is \"\(token)\", which is not in the vocabulary")
      }
      unknownID = id
    } else {
      unknownID = nil
    }
    if try field.boolean("byte_fallback", default: false) {
      byteFallbackIDs = (0..<256).map { byte in ids[TokenBytes(Self.byteToken(UInt8(byte)))] }
    } else {
      byteFallbackIDs = nil
    }
    self.ids = ids
    self.tokens = tokens
    self.merges = merges
    self.fusesUnknown = try field.boolean("fuse_unk", default: false)
    self.ignoresMerges = try field.boolean("ignore_merges", default: false)
    self.continuingSubwordPrefix = prefix
    self.endOfWordSuffix = Array(try field.member("end_of_word_suffix")?.string().utf8 ?? "".utf8)
  }

  /// A merge as `"a b"` (the older form, GPT-2's) or `["a", "b"]` (what tokenizers writes now).
  private static func pair(_ merge: JSONField) throws(TextGenerationError) -> (String, String) {
    if case .string(let line) = merge.node {
      let parts = line.split(separator: " ", omittingEmptySubsequences: false)
      guard parts.count == 2 else {
        throw merge.invalid("should be two tokens separated by one space, found \"\(line)\"")
      }
      return (String(parts[0]), String(parts[1]))
    }
    let parts = try merge.array()
    guard parts.count == 2 else {
      throw merge.invalid("should be a pair of tokens, found \(merge.node.summary)")
    }
    return (try parts[0].string(), try parts[1].string())
  }

  private static func key(_ left: Int, _ right: Int) -> UInt64 {
    UInt64(left) << 32 | UInt64(right)
  }

  /// The byte-fallback token of a byte: `<0x0A>` for a newline.
  static func byteToken(_ byte: UInt8) -> String {
    let hex = String(byte, radix: 16, uppercase: true)
    return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
  }

  /// The id of a token, by exact scalars.
  func id(forToken token: String) -> Int? {
    ids[TokenBytes(token)]
  }

  /// The token of an id.
  func token(forID id: Int) -> String? {
    id >= 0 && id < tokens.count ? tokens[id] : nil
  }

  /// Appends the ids of one word (valid UTF-8, already pre-tokenized) to `output`.
  ///
  /// - Complexity: O(n log n) in the word's length.
  func encode(_ word: ArraySlice<UInt8>, into output: inout [Int]) {
    guard !word.isEmpty else { return }
    if ignoresMerges, let id = ids[TokenBytes(word)] {
      output.append(id)
      return
    }
    var symbols: [Symbol] = []
    symbols.reserveCapacity(word.count)
    func add(_ id: Int, _ length: Int) {
      let index = Int32(symbols.count)
      symbols.append(
        Symbol(id: Int32(id), previous: index - 1, next: index + 1, length: Int32(length)))
    }
    var pendingUnknown: (id: Int, length: Int)?
    var start = word.startIndex
    while start < word.endIndex {
      let end = min(start + Self.scalarLength(leadingByte: word[start]), word.endIndex)
      let length = end - start
      var piece = word[start..<end]
      if start != word.startIndex && !continuingSubwordPrefix.isEmpty {
        piece = (continuingSubwordPrefix + piece)[...]
      }
      if end == word.endIndex && !endOfWordSuffix.isEmpty {
        piece = (Array(piece) + endOfWordSuffix)[...]
      }
      start = end
      if let id = ids[TokenBytes(piece)] {
        if let unknown = pendingUnknown {
          add(unknown.id, unknown.length)
          pendingUnknown = nil
        }
        add(id, length)
        continue
      }
      // tokenizers adds the byte tokens without first flushing a pending unknown token; so
      // does this, to produce the same ids.
      if let byteFallbackIDs {
        let byteIDs = piece.map { byteFallbackIDs[Int($0)] }
        if byteIDs.allSatisfy({ $0 != nil }) {
          for id in byteIDs { add(id!, 1) }
          continue
        }
      }
      if let unknownID {
        if let unknown = pendingUnknown {
          if fusesUnknown {
            pendingUnknown = (unknown.id, unknown.length + length)
          } else {
            add(unknown.id, unknown.length)
            pendingUnknown = (unknownID, length)
          }
        } else {
          pendingUnknown = (unknownID, length)
        }
      }
      // Without an unknown token the character is dropped, as in tokenizers.
    }
    if let unknown = pendingUnknown { add(unknown.id, unknown.length) }
    if !symbols.isEmpty { symbols[symbols.count - 1].next = -1 }
    mergeAll(&symbols)
    for symbol in symbols where symbol.length != 0 { output.append(Int(symbol.id)) }
  }

  private static func scalarLength(leadingByte byte: UInt8) -> Int {
    switch byte {
    case ..<0x80: 1
    case ..<0xE0: 2
    case ..<0xF0: 3
    default: 4
    }
  }

  /// One symbol of a word being merged: a doubly linked list over an array, as in tokenizers'
  /// `Word`. A merged-away symbol keeps its slot with `length` 0.
  private struct Symbol {
    var id: Int32
    var previous: Int32
    var next: Int32
    var length: Int32
  }

  /// tokenizers' `Word::merge_all` without dropout: a priority queue of candidate merges by
  /// (rank, position); stale entries are recognised when popped and skipped.
  private func mergeAll(_ symbols: inout [Symbol]) {
    var queue = MergeQueue()
    for index in 0..<max(symbols.count - 1, 0) {
      if let merge = merges[Self.key(Int(symbols[index].id), Int(symbols[index + 1].id))] {
        queue.push(MergeCandidate(merge: merge, position: Int32(index)))
      }
    }
    while let top = queue.pop() {
      let position = Int(top.position)
      guard symbols[position].length != 0, symbols[position].next != -1 else { continue }
      let nextPosition = Int(symbols[position].next)
      let right = symbols[nextPosition]
      // The pair at this position may have changed since the candidate was queued.
      guard let current = merges[Self.key(Int(symbols[position].id), Int(right.id))],
        current & 0xFFFF_FFFF == top.merge & 0xFFFF_FFFF
      else { continue }
      symbols[position].id = Int32(truncatingIfNeeded: top.merge & 0xFFFF_FFFF)
      symbols[position].length += right.length
      symbols[position].next = right.next
      symbols[nextPosition].length = 0
      if right.next >= 0 && Int(right.next) < symbols.count {
        symbols[Int(right.next)].previous = Int32(position)
      }
      let merged = symbols[position]
      if merged.previous >= 0 {
        let previous = symbols[Int(merged.previous)]
        if let merge = merges[Self.key(Int(previous.id), Int(merged.id))] {
          queue.push(MergeCandidate(merge: merge, position: merged.previous))
        }
      }
      if merged.next >= 0 && Int(merged.next) < symbols.count {
        let next = symbols[Int(merged.next)]
        if let merge = merges[Self.key(Int(merged.id), Int(next.id))] {
          queue.push(MergeCandidate(merge: merge, position: Int32(position)))
        }
      }
    }
  }
}

/// A token's UTF-8 bytes as a dictionary key: hashed in one call and compared with `memcmp`,
/// where `ArraySlice`'s own conformance hashes byte by byte (a third of the time spent loading a
/// 128,000-token vocabulary).
struct TokenBytes: Hashable, Sendable {
  var bytes: ArraySlice<UInt8>

  init(_ bytes: ArraySlice<UInt8>) {
    self.bytes = bytes
  }

  init(_ token: String) {
    bytes = Array(token.utf8)[...]
  }

  func hash(into hasher: inout Hasher) {
    bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
  }

  static func == (a: TokenBytes, b: TokenBytes) -> Bool {
    guard a.bytes.count == b.bytes.count else { return false }
    return a.bytes.withUnsafeBytes { left in
      b.bytes.withUnsafeBytes { right in
        left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
      }
    }
  }
}

/// A possible merge: the packed (rank, merged id) and the position of its left symbol.
private struct MergeCandidate {
  var merge: UInt64
  var position: Int32

  /// Lower rank first, then leftmost: tokenizers' `Merge` ordering.
  static func precedes(_ a: MergeCandidate, _ b: MergeCandidate) -> Bool {
    let rankA = a.merge >> 32
    let rankB = b.merge >> 32
    return rankA != rankB ? rankA < rankB : a.position < b.position
  }
}

/// A binary min-heap of merge candidates.
private struct MergeQueue {
  private var heap: [MergeCandidate] = []

  mutating func push(_ candidate: MergeCandidate) {
    heap.append(candidate)
    var child = heap.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      guard MergeCandidate.precedes(heap[child], heap[parent]) else { break }
      heap.swapAt(child, parent)
      child = parent
    }
  }

  mutating func pop() -> MergeCandidate? {
    guard let top = heap.first else { return nil }
    let last = heap.removeLast()
    if !heap.isEmpty {
      heap[0] = last
      var parent = 0
      while true {
        let left = 2 * parent + 1
        let right = left + 1
        var smallest = parent
        if left < heap.count && MergeCandidate.precedes(heap[left], heap[smallest]) {
          smallest = left
        }
        if right < heap.count && MergeCandidate.precedes(heap[right], heap[smallest]) {
          smallest = right
        }
        guard smallest != parent else { break }
        heap.swapAt(parent, smallest)
        parent = smallest
      }
    }
    return top
  }
}

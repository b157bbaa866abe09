/// A text split by the shared tokenizer, kept as the JSON-escaped, space-joined string fx writes
/// ("the tokenizer's spacing") plus each token's span in it, so an example is built by copying byte ranges.
struct TokenizedText {
    /// The tokens joined by single spaces, JSON-escaped (without quotes).
    var spaced: [UInt8] = []
    /// Each token's start and end in `spaced`.
    var starts: [Int] = []
    var ends: [Int] = []
    var isWord: [Bool] = []

    var count: Int { starts.count }

    mutating func reset() {
        spaced.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        isWord.removeAll(keepingCapacity: true)
    }

    /// Tokenizes UTF-8 `text` into this value.
    mutating func fill(_ text: UnsafeBufferPointer<UInt8>, tokenizer: Tokenizer) {
        reset()
        tokenizer.forEachToken(in: text) { token, kind in
            if !spaced.isEmpty { spaced.append(0x20) }
            starts.append(spaced.count)
            TokenizedText.appendEscaped(token, to: &spaced)
            ends.append(spaced.count)
            isWord.append(kind == .word)
        }
    }

    /// Appends JSON-escaped bytes without quotes (tokens hold no white space, so only `"` and `\` need it).
    @inline(__always)
    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        if !bytes.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }) {
            out.append(contentsOf: bytes)
            return
        }
        for b in bytes {
            if b == 0x22 || b == 0x5C {
                out.append(0x5C)
                out.append(b)
            } else if b < 0x20 {
                var quoted: [UInt8] = []
                [b].withUnsafeBufferPointer { JSON.encodeString(bytes: $0, into: &quoted) }
                out.append(contentsOf: quoted.dropFirst().dropLast())
            } else {
                out.append(b)
            }
        }
    }

    /// Tokens `from..<to` as a text of their own.
    func slice(_ from: Int, _ to: Int) -> TokenizedText {
        var t = TokenizedText()
        guard from < to else { return t }
        let base = starts[from]
        t.spaced = Array(spaced[base..<ends[to - 1]])
        t.starts = starts[from..<to].map { $0 - base }
        t.ends = ends[from..<to].map { $0 - base }
        t.isWord = Array(isWord[from..<to])
        return t
    }

    /// The escaped bytes of token `i`.
    @inline(__always)
    func token(_ i: Int) -> ArraySlice<UInt8> { spaced[starts[i]..<ends[i]] }

    /// The escaped bytes from the start of token `from` to the end of token `to - 1`.
    @inline(__always)
    func range(_ from: Int, _ to: Int) -> ArraySlice<UInt8> {
        from < to ? spaced[starts[from]..<ends[to - 1]] : []
    }
}

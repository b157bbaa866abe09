/// GPT-2's byte-level BPE, as Hugging Face `tokenizers` computes it for a tokenizer that transformers builds from a
/// GGUF file whose `tokenizer.ggml.model` is "gpt2" (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`, see
/// transformers/integrations/gguf/gguf_tokenizer_mapping.py). For SmolLM2 that tokenizer is:
///
/// - added tokens, matched whole in the raw text before anything else, the longest at the leftmost place: every
///   token the file marks as control (type 3) as a special token, and every user-defined one (type 4) as a plain
///   added token, each only if it is spelled in the byte alphabet (no lstrip, rstrip or single-word rule; not
///   normalized);
/// - no normalizer; the pre-tokenizer `ByteLevel(add_prefix_space=False, use_regex=True)`: GPT-2's split regex
///   (see `ByteLevelSplit`), then each piece's UTF-8 bytes spelled one character per byte (`bytes_to_unicode`);
/// - the BPE model with no unknown token, no byte fallback, no dropout: a piece starts as its bytes' one-character
///   tokens (a byte whose character is not in the vocabulary is dropped, silently: SmolLM2 has no token for 21 bytes,
///   among them 0x04, 0x06, 0xC0, 0xC1, 0xF1, 0xF2 and 0xF5-0xFF), then the adjacent pair with the best-ranked merge
///   is joined, the leftmost of equals first, until no pair has a merge;
/// - no BOS or EOS added (the file says `add_bos_token` false, and the post-processor adds nothing);
/// - the ByteLevel decoder: tokens back to bytes, then UTF-8 with each invalid sequence replaced by U+FFFD (Rust's
///   `from_utf8_lossy`), no clean-up of spaces.
public struct ByteLevelBPE: Sendable {
    /// Each id's token as the file spells it.
    public let tokens: [String]
    /// Which split regex the pre-tokenizer runs.
    let split: ByteLevelSplit
    /// A token's text -> its id (the last id when two spell the same, as Python's dict keeps it).
    private let ids: [String: Int32]
    /// The id of each byte's one-character token, -1 when the vocabulary has none.
    private let byteIDs: [Int32]
    private let merges: PairTable
    /// The raw bytes of each id's token.
    private let bytes: [[UInt8]]
    private let special: [Bool]
    /// Added tokens by their first byte, longest first.
    private let added: [[(bytes: [UInt8], id: Int32)]]
    /// A piece with more symbols than this merges through a heap; shorter ones by scanning.
    static let heapThreshold = 48

    /// tokens: every id's token text (`tokenizer.ggml.tokens`); types: `tokenizer.ggml.token_type` (1 normal,
    /// 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), or empty; merges: "a b" in rank order
    /// (`tokenizer.ggml.merges`); pre: `tokenizer.ggml.pre` ("smollm" and "gpt2"; the Llama 3 and Qwen2 families).
    public init(tokens: [String], types: [Int], merges: [String], pre: String) throws {
        guard let split = ByteLevelSplit(pre: pre) else {
            throw FXError.data("unsupported pre-tokenizer \"\(pre)\" (fx knows smollm, gpt2, llama-bpe, qwen2 and their kin)")
        }
        guard !tokens.isEmpty, tokens.count < Int(Int32.max) else { throw FXError.data("the tokenizer has no tokens") }
        guard types.isEmpty || types.count == tokens.count else {
            throw FXError.data("the tokenizer has \(tokens.count) tokens but \(types.count) token types")
        }
        let alphabet = Self.byteCharacters
        var characterBytes: [Unicode.Scalar: UInt8] = [:]
        for (b, c) in alphabet.enumerated() { characterBytes[c] = UInt8(b) }

        // transformers respells a token that uses a character outside the byte alphabet as its UTF-8 bytes; the BPE
        // model looks tokens up under that spelling.
        var vocabulary: [String: Int32] = [:], ids: [String: Int32] = [:]
        var bytes: [[UInt8]] = []
        var spelled: [Bool] = []
        bytes.reserveCapacity(tokens.count)
        for (i, token) in tokens.enumerated() {
            var raw: [UInt8] = []
            var inAlphabet = true
            for c in token.unicodeScalars {
                guard let b = characterBytes[c] else { inAlphabet = false; break }
                raw.append(b)
            }
            if !inAlphabet { raw = Array(token.utf8) }
            vocabulary[inAlphabet ? token : Self.spell(raw)] = Int32(i)
            ids[token] = Int32(i)
            bytes.append(raw)
            spelled.append(inAlphabet)
        }
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 { byteIDs[b] = vocabulary[String(alphabet[b])] ?? -1 }

        var table = PairTable(capacity: merges.count)
        for (rank, merge) in merges.enumerated() {
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, let a = vocabulary[String(parts[0])], let b = vocabulary[String(parts[1])],
                  let joined = vocabulary[String(parts[0]) + String(parts[1])]
            else { throw FXError.data("merge \(rank) (\"\(merge)\") is not two tokens whose join is a token") }
            table.insert(PairTable.key(a, b), rank: UInt32(rank), id: joined)  // a repeated pair keeps its last rank
        }

        // Added tokens, by the id transformers gives them: the vocabulary's id for their text.
        var special = [Bool](repeating: false, count: tokens.count)
        var added = [[(bytes: [UInt8], id: Int32)]](repeating: [], count: 256)
        var seen = Set<String>()
        for (i, type) in types.enumerated() where (type == 3 || type == 4) && spelled[i] && !tokens[i].isEmpty {
            guard let id = vocabulary[tokens[i]], seen.insert(tokens[i]).inserted else { continue }
            if type == 3 { special[Int(id)] = true }
            let text = Array(tokens[i].utf8)
            added[Int(text[0])].append((text, id))
        }
        for b in 0..<256 { added[b].sort { $0.bytes.count > $1.bytes.count } }

        self.tokens = tokens
        self.split = split
        self.ids = ids
        self.byteIDs = byteIDs
        self.merges = table
        self.bytes = bytes
        self.special = special
        self.added = added
    }

    /// The tokenizer a GGUF file describes (`tokenizer.ggml.model` "gpt2").
    public init(gguf: GGUFFile) throws {
        let metadata = gguf.metadata
        let model = metadata["tokenizer.ggml.model"]?.string ?? "(none)"
        guard model == "gpt2" else { throw FXError.data("the tokenizer is \"\(model)\", not byte-level BPE (\"gpt2\")", at: gguf.path) }
        guard let tokens = metadata["tokenizer.ggml.tokens"]?.strings, let merges = metadata["tokenizer.ggml.merges"]?.strings else {
            throw FXError.data("the file has no tokenizer.ggml.tokens or tokenizer.ggml.merges", at: gguf.path)
        }
        let types = metadata["tokenizer.ggml.token_type"]?.ints ?? []
        let pre = metadata["tokenizer.ggml.pre"]?.string ?? "gpt2"
        do {
            try self.init(tokens: tokens, types: types, merges: merges, pre: pre)
        } catch let error as FXError {
            throw error.placed(at: gguf.path)
        }
    }

    public var count: Int { tokens.count }

    /// The id of a token as the file spells it, e.g. "<|im_end|>".
    public func id(of token: String) -> Int32? { ids[token] }

    /// Whether `id` is a special token (the file's control tokens), which `decode(_:skipSpecial:)` can leave out.
    public func isSpecial(_ id: Int32) -> Bool { id >= 0 && Int(id) < special.count && special[Int(id)] }

    /// The raw bytes a token stands for (for streaming decode: a character may span tokens); none for an unknown id.
    public func tokenBytes(_ id: Int32) -> [UInt8] { id >= 0 && Int(id) < bytes.count ? bytes[Int(id)] : [] }

    /// The ids of `text`: added tokens matched whole, the rest split and merged. No BOS or EOS.
    public func encode(_ text: String) -> [Int32] {
        var text = text
        return text.withUTF8 { encode(utf8: $0) }
    }

    /// The ids of UTF-8 text (which must be valid UTF-8).
    public func encode(utf8 text: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.count / 3 + 1)
        var work = Work()
        var start = 0, i = 0
        while i < text.count {
            let candidates = added[Int(text[i])]
            if !candidates.isEmpty, let (length, id) = addedToken(text, at: i, candidates) {
                if start < i { encodeOrdinary(UnsafeBufferPointer(rebasing: text[start..<i]), &work, &out) }
                out.append(id)
                i += length
                start = i
            } else {
                i += 1
            }
        }
        if start < text.count { encodeOrdinary(UnsafeBufferPointer(rebasing: text[start...]), &work, &out) }
        return out
    }

    private func addedToken(_ text: UnsafeBufferPointer<UInt8>, at i: Int, _ candidates: [(bytes: [UInt8], id: Int32)]) -> (Int, Int32)? {
        for (token, id) in candidates where token.count <= text.count - i {
            var k = 1
            while k < token.count, token[k] == text[i + k] { k += 1 }
            if k == token.count { return (k, id) }
        }
        return nil
    }

    /// The text with ids decoded: bytes joined, invalid UTF-8 replaced by U+FFFD; ids out of range are left out, as
    /// are special tokens with `skipSpecial`.
    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        var out: [UInt8] = []
        for id in ids where id >= 0 && Int(id) < bytes.count && !(skipSpecial && special[Int(id)]) {
            out.append(contentsOf: bytes[Int(id)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Merging

    /// Buffers reused across the pieces of one call.
    struct Work {
        var split = ByteLevelSplit.Scratch()
        var symbols: [Int32] = []
        var ranks: [UInt32] = []
        var joined: [Int32] = []
        var heap = BinaryHeap<MergeCandidate>()
        var previous: [Int32] = [], next: [Int32] = []
    }

    private func encodeOrdinary(_ text: UnsafeBufferPointer<UInt8>, _ work: inout Work, _ out: inout [Int32]) {
        var scratch = work.split
        work.split = ByteLevelSplit.Scratch()
        split.split(text, &scratch) { piece in
            work.symbols.removeAll(keepingCapacity: true)
            for i in piece {
                let id = byteIDs[Int(text[i])]
                if id >= 0 { work.symbols.append(id) }
            }
            merge(&work, heap: work.symbols.count > Self.heapThreshold)
            out.append(contentsOf: work.symbols)
        }
        work.split = scratch
    }

    /// Applies the merges to `work.symbols`: the best-ranked adjacent pair first, the leftmost of equals.
    func merge(_ work: inout Work, heap: Bool) {
        guard work.symbols.count > 1 else { return }
        if heap { mergeWithHeap(&work); return }
        let none = UInt32.max
        work.ranks.removeAll(keepingCapacity: true)
        work.joined.removeAll(keepingCapacity: true)
        for k in 0..<(work.symbols.count - 1) {
            let (rank, id) = merges.lookup(PairTable.key(work.symbols[k], work.symbols[k + 1])) ?? (none, -1)
            work.ranks.append(rank)
            work.joined.append(id)
        }
        while true {
            var best = 0, bestRank = none
            for (k, r) in work.ranks.enumerated() where r < bestRank { best = k; bestRank = r }
            if bestRank == none { break }
            work.symbols[best] = work.joined[best]
            work.symbols.remove(at: best + 1)
            work.ranks.remove(at: best)
            work.joined.remove(at: best)
            if best > 0 {
                (work.ranks[best - 1], work.joined[best - 1]) =
                    merges.lookup(PairTable.key(work.symbols[best - 1], work.symbols[best])) ?? (none, -1)
            }
            if best < work.ranks.count {
                (work.ranks[best], work.joined[best]) = merges.lookup(PairTable.key(work.symbols[best], work.symbols[best + 1])) ?? (none, -1)
            }
        }
    }

    /// Hugging Face's `Word::merge_all`: a heap of (rank, position) over a linked list of symbols, stale entries
    /// skipped. O(n log n) for long pieces (a run of thousands of spaces or symbols).
    private func mergeWithHeap(_ work: inout Work) {
        let n = work.symbols.count
        work.previous = (0..<n).map { Int32($0) - 1 }
        work.next = (0..<n).map { Int32($0) + 1 }
        work.heap.removeAll()
        for k in 0..<(n - 1) {
            if let (rank, id) = merges.lookup(PairTable.key(work.symbols[k], work.symbols[k + 1])) {
                work.heap.push(MergeCandidate(rank: rank, position: Int32(k), id: id))
            }
        }
        var removed = [Bool](repeating: false, count: n)
        while let top = work.heap.pop() {
            let p = Int(top.position)
            if removed[p] { continue }
            let q = Int(work.next[p])
            if q >= n { continue }
            guard let (_, id) = merges.lookup(PairTable.key(work.symbols[p], work.symbols[q])), id == top.id else { continue }
            work.symbols[p] = id
            removed[q] = true
            let after = Int(work.next[q])
            work.next[p] = Int32(after)
            if after < n { work.previous[after] = Int32(p) }
            let before = Int(work.previous[p])
            if before >= 0, let (rank, joined) = merges.lookup(PairTable.key(work.symbols[before], id)) {
                work.heap.push(MergeCandidate(rank: rank, position: Int32(before), id: joined))
            }
            if after < n, let (rank, joined) = merges.lookup(PairTable.key(id, work.symbols[after])) {
                work.heap.push(MergeCandidate(rank: rank, position: Int32(p), id: joined))
            }
        }
        var w = 0
        for k in 0..<n where !removed[k] {
            work.symbols[w] = work.symbols[k]
            w += 1
        }
        work.symbols.removeLast(n - w)
    }

    // MARK: - The byte alphabet

    /// GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68 for U+0100 onwards.
    static let byteCharacters: [Unicode.Scalar] = {
        var out = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                out[b] = Unicode.Scalar(UInt8(b))
            } else {
                out[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return out
    }()

    /// Bytes spelled in the byte alphabet, as the vocabulary writes them ("Ġhello" for " hello").
    static func spell<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteCharacters[Int(b)]) }
        return String(s)
    }
}

/// Merges as an open-addressing hash table: (left id, right id) -> (rank, joined id).
struct PairTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask }

    mutating func insert(_ key: UInt64, rank: UInt32, id: Int32) {
        var i = slot(key)
        while keys[i] != Self.empty && keys[i] != key { i = (i + 1) & mask }
        keys[i] = key
        values[i] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: id))
    }

    @inline(__always)
    func lookup(_ key: UInt64) -> (rank: UInt32, id: Int32)? {
        keys.withUnsafeBufferPointer { keys in
            var i = slot(key)
            while true {
                let k = keys[i]
                if k == key {
                    let v = values[i]
                    return (UInt32(truncatingIfNeeded: v >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: v)))
                }
                if k == Self.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }
}

/// A merge candidate: its rank, then its position, decide which merge comes first.
struct MergeCandidate: HeapOrdered {
    var order: UInt64
    var id: Int32
    var position: Int32 { Int32(truncatingIfNeeded: order & 0xFFFF_FFFF) }

    init(rank: UInt32, position: Int32, id: Int32) {
        order = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: position))
        self.id = id
    }

    static func comesBefore(_ a: MergeCandidate, _ b: MergeCandidate) -> Bool { a.order < b.order }
}

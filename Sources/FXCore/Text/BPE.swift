/// Subword byte-pair encoding (Sennrich et al. 2016), learned from text, for the transformer's vocabulary.
///
/// Text is cut at white space into words; each word carries a leading "▁" (U+2581, SentencePiece's marker), and
/// pieces never span a word boundary.
/// The vocabulary: `<pad>`, `<unk>`, `<s>`, `</s>`, the 256 bytes (`<0x00>`...), the sentinels `<extra_id_N>`
/// that fx-mask's span corruption writes (those the training text holds), every character seen at least twice,
/// then one piece per merge, most frequent pair first. A character outside the vocabulary is spelled with its
/// UTF-8 bytes (byte fallback), so any text encodes and decodes back to itself up to white space.
public struct BPETokenizer: Sendable {
    public static let pad: Int32 = 0, unknown: Int32 = 1, start: Int32 = 2, end: Int32 = 3
    static let marker: Unicode.Scalar = "\u{2581}"
    static let firstByte: Int32 = 4

    /// Each id's piece: specials and bytes in `<...>` form, other pieces as text with "▁" for a word start.
    public let pieces: [String]
    /// The merges in the order learned: left id, right id.
    public let merges: [(Int32, Int32)]
    private let ids: [String: Int32]
    /// (left << 32 | right) -> (rank, merged id).
    private let ranks: [UInt64: (rank: Int32, id: Int32)]

    public var count: Int { pieces.count }

    public init(pieces: [String], merges: [(Int32, Int32)]) throws {
        guard pieces.count >= 260, pieces[0] == "<pad>", pieces[1] == "<unk>", pieces[2] == "<s>", pieces[3] == "</s>",
              (0..<256).allSatisfy({ pieces[4 + $0] == Self.bytePiece($0) })
        else { throw FXError.data("the tokenizer does not start with <pad> <unk> <s> </s> and the 256 bytes") }
        var ids: [String: Int32] = [:]
        for (i, p) in pieces.enumerated() where ids[p] == nil { ids[p] = Int32(i) }
        var ranks: [UInt64: (Int32, Int32)] = [:]
        for (r, (a, b)) in merges.enumerated() {
            guard a >= 0, b >= 0, Int(a) < pieces.count, Int(b) < pieces.count, let merged = ids[pieces[Int(a)] + pieces[Int(b)]] else {
                throw FXError.data("the tokenizer's merge \(r) names no piece")
            }
            if ranks[Self.key(a, b)] == nil { ranks[Self.key(a, b)] = (Int32(r), merged) }
        }
        self.pieces = pieces
        self.merges = merges
        self.ids = ids
        self.ranks = ranks
    }

    static func bytePiece(_ b: Int) -> String {
        let hex = String(b, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    private static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    static func isSentinel(_ word: Substring) -> Bool {
        word.hasPrefix("<extra_id_") && word.hasSuffix(">") && word.count > 11 && word.dropFirst(10).dropLast().allSatisfy(\.isASCIIDigit)
    }

    /// The pre-tokens of a text: its white-space-separated words, each marked with a leading "▁"; sentinels
    /// come whole, unmarked.
    static func words(_ text: String, _ body: (Substring, _ sentinel: Bool) -> Void) {
        for word in text.split(whereSeparator: { $0.isWhitespace }) {
            if isSentinel(word) { body(word, true) } else { body(Substring(String(marker) + word), false) }
        }
    }

    /// The ids of a pre-token before any merge: its characters' ids, bytes for characters outside the vocabulary
    /// (and for a "▁" in the text itself, which is not a word start). Returns how many characters fell back.
    private func symbols(_ word: Substring, into out: inout [Int32]) -> Int {
        var fallback = 0
        var first = true
        for scalar in word.unicodeScalars {
            let isMarker = first && scalar == Self.marker
            first = false
            if (scalar != Self.marker || isMarker), let id = ids[String(scalar)] {
                out.append(id)
            } else {
                for b in String(scalar).utf8 { out.append(Self.firstByte + Int32(b)) }
                fallback += 1
            }
        }
        return fallback
    }

    /// Applies the merges to one pre-token's symbols, lowest rank first.
    private func merge(_ s: inout [Int32]) {
        while s.count > 1 {
            var best: (rank: Int32, id: Int32, at: Int)?
            for i in 0..<(s.count - 1) {
                if let m = ranks[Self.key(s[i], s[i + 1])], best == nil || m.rank < best!.rank { best = (m.rank, m.id, i) }
            }
            guard let best else { return }
            let (a, b) = (s[best.at], s[best.at + 1])
            var out: [Int32] = []
            out.reserveCapacity(s.count)
            var i = 0
            while i < s.count {
                if i + 1 < s.count && s[i] == a && s[i + 1] == b { out.append(best.id); i += 2 } else { out.append(s[i]); i += 1 }
            }
            s = out
        }
    }

    /// The ids of a text, and how many of its characters fell back to bytes.
    public func encode(_ text: String) -> (ids: [Int32], fallback: Int) {
        var out: [Int32] = []
        var fallback = 0
        var word: [Int32] = []
        func add(_ piece: Substring) {
            word.removeAll(keepingCapacity: true)
            fallback += symbols(piece, into: &word)
            merge(&word)
            out += word
        }
        Self.words(text) { piece, sentinel in
            if sentinel {
                if let id = ids[String(Self.marker) + piece] { out.append(id) } else { add(Substring(String(Self.marker) + piece)) }  // an unknown sentinel is text
            } else {
                add(piece)
            }
        }
        return (out, fallback)
    }

    /// The text of ids: pieces joined, "▁" as a space, bytes reassembled; specials left out.
    public func decode<C: Collection>(_ ids: C) -> String where C.Element == Int32 {
        var bytes: [UInt8] = []
        for id in ids where id >= Self.firstByte && Int(id) < pieces.count {
            if id < Self.firstByte + 256 { bytes.append(UInt8(id - Self.firstByte)); continue }
            for scalar in pieces[Int(id)].unicodeScalars {
                if scalar == Self.marker { bytes.append(0x20) } else { bytes += String(scalar).utf8 }
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.first == " " ? String(text.dropFirst()) : text
    }
}

extension BPETokenizer {
    /// Learns merges from `texts` until the vocabulary has `size` pieces or no pair occurs twice. Ties go to the
    /// pair of lower ids, so the result depends on the texts alone.
    public static func learn<S: Sequence>(_ texts: S, size: Int) throws -> BPETokenizer where S.Element == String {
        var counts: [String: Int] = [:]
        var sentinels = Set<Int>()
        for text in texts {
            words(text) { piece, sentinel in
                if sentinel { sentinels.insert(Int(piece.dropFirst(10).dropLast())!) } else { counts[String(piece), default: 0] += 1 }
            }
        }
        var pieces = ["<pad>", "<unk>", "<s>", "</s>"] + (0..<256).map(bytePiece)
        pieces += sentinels.sorted().map { String(marker) + SpanCorruption.sentinel($0) }
        // Characters seen at least twice, most frequent first.
        var characters: [Unicode.Scalar: Int] = [:]
        for (word, n) in counts { for s in word.unicodeScalars { characters[s, default: 0] += n } }
        characters[marker] = max(characters[marker] ?? 0, 2)
        pieces += characters.filter { $0.value >= 2 }.sorted { ($0.value, $1.key.value) > ($1.value, $0.key.value) }.map { String($0.key) }
        guard pieces.count < size else {
            throw FXError.data("--vocab-size \(size) is too small: the training text has \(pieces.count) characters and specials; use at least \(pieces.count + 100)")
        }
        let base = try BPETokenizer(pieces: pieces, merges: [])
        // Words as symbol ids, with their counts, in a stable order.
        let types = counts.sorted { $0.key < $1.key }
        var words: [[Int32]] = types.map { var s: [Int32] = []; _ = base.symbols(Substring($0.key), into: &s); return s }
        let freq = types.map(\.value)
        var pairCounts: [UInt64: Int] = [:]
        var where_: [UInt64: [Int32]] = [:]
        func mergeable(_ a: Int32, _ b: Int32) -> Bool { a >= firstByte + 256 && b >= firstByte + 256 }
        for (w, s) in words.enumerated() where s.count > 1 {
            for i in 0..<(s.count - 1) where mergeable(s[i], s[i + 1]) {
                let k = key(s[i], s[i + 1])
                pairCounts[k, default: 0] += freq[w]
                where_[k, default: []].append(Int32(w))
            }
        }
        var heap = BinaryHeap<PairCount>()
        for (k, n) in pairCounts { heap.push(PairCount(count: n, key: k)) }
        var ids = Dictionary(pieces.enumerated().map { ($0.element, Int32($0.offset)) }, uniquingKeysWith: { a, _ in a })
        var merges: [(Int32, Int32)] = []
        var visited = [Int](repeating: -1, count: words.count)
        while pieces.count < size, let top = heap.pop() {
            let (n, k) = (top.count, top.key)
            guard pairCounts[k] == n else { continue }  // stale entry
            guard n >= 2 else { break }
            let a = Int32(truncatingIfNeeded: k >> 32), b = Int32(truncatingIfNeeded: k & 0xFFFF_FFFF)
            let text = pieces[Int(a)] + pieces[Int(b)]
            let merged: Int32
            if let id = ids[text] { merged = id } else { merged = Int32(pieces.count); pieces.append(text); ids[text] = merged }
            merges.append((a, b))
            var changed = Set<UInt64>()
            for w32 in where_[k] ?? [] {
                let w = Int(w32)
                guard visited[w] != merges.count else { continue }
                visited[w] = merges.count
                let s = words[w]
                guard s.count > 1 else { continue }
                var out: [Int32] = []
                var i = 0
                while i < s.count {
                    if i + 1 < s.count && s[i] == a && s[i + 1] == b { out.append(merged); i += 2 } else { out.append(s[i]); i += 1 }
                }
                guard out.count != s.count else { continue }
                for j in 0..<(s.count - 1) where mergeable(s[j], s[j + 1]) {
                    let p = key(s[j], s[j + 1]); pairCounts[p]! -= freq[w]; changed.insert(p)
                }
                for j in 0..<max(out.count - 1, 0) where mergeable(out[j], out[j + 1]) {
                    let p = key(out[j], out[j + 1]); pairCounts[p, default: 0] += freq[w]; changed.insert(p)
                    where_[p, default: []].append(w32)
                }
                words[w] = out
            }
            where_[k] = nil
            for p in changed where p != k { if let c = pairCounts[p], c > 0 { heap.push(PairCount(count: c, key: p)) } else { pairCounts[p] = nil } }
            pairCounts[k] = nil
        }
        return try BPETokenizer(pieces: pieces, merges: merges)
    }

    /// The tokenizer as JSON for a model's metadata: pieces and merges.
    public var json: JSONValue {
        .object([JSONMember("type", .string("bpe")), JSONMember("pieces", .array(pieces.map { .string($0) })),
                 JSONMember("merges", .array(merges.map { .array([JSONValue(Int($0.0)), JSONValue(Int($0.1))]) }))])
    }

    public init(json: JSONValue) throws {
        guard json["type"]?.stringValue == "bpe", case .array(let p)? = json["pieces"], case .array(let m)? = json["merges"] else {
            throw FXError.data("the tokenizer is not BPE pieces and merges")
        }
        let pieces = p.compactMap(\.stringValue)
        var merges: [(Int32, Int32)] = []
        for item in m {
            guard case .array(let pair) = item, pair.count == 2, let a = pair[0].intValue, let b = pair[1].intValue else {
                throw FXError.data("a tokenizer merge is not a pair of ids")
            }
            merges.append((Int32(a), Int32(b)))
        }
        guard pieces.count == p.count else { throw FXError.data("a tokenizer piece is not a string") }
        try self.init(pieces: pieces, merges: merges)
    }
}

/// A pair of pieces and how often it occurs: the most frequent comes first, ties to the lower pair key.
private struct PairCount: HeapOrdered {
    var count: Int, key: UInt64
    static func comesBefore(_ x: PairCount, _ y: PairCount) -> Bool { x.count > y.count || (x.count == y.count && x.key < y.key) }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

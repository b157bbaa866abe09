// Canonical decomposition (NFD) comes from the standard library's own tables, so FXCore needs no Foundation.
@_spi(_Unicode) import Swift

/// BERT's tokenizer, as Hugging Face's `BertNormalizer` + `BertPreTokenizer` + `WordPiece` compute it.
/// The basic step drops NUL, U+FFFD and control characters and turns white space into spaces, spaces out CJK
/// ideographs, and for uncased models decomposes (NFD), strips non-spacing marks and lowercases each scalar.
/// Then it splits at white space and around every punctuation character.
/// WordPiece takes each word's longest prefix in the vocabulary, then the longest `##` continuation, and so on.
/// A word with a part not in the vocabulary, or longer than 100 scalars, becomes `[UNK]`.
public struct WordPieceTokenizer: Sendable {
    /// The pieces by id (vocab.txt's lines).
    public let pieces: [String]
    public let lowercase: Bool
    public let unknown: Int32, classify: Int32, separator: Int32, pad: Int32
    /// UTF-8 bytes of each piece (continuations with their "##") -> id.
    private let ids: [[UInt8]: Int32]
    /// The longest piece in bytes, without "##": no match is looked for beyond it.
    private let longest: Int
    public static let maxWordScalars = 100

    public init(pieces: [String], lowercase: Bool = true) throws {
        var ids: [[UInt8]: Int32] = [:]
        var longest = 0
        for (i, p) in pieces.enumerated() where ids[Array(p.utf8)] == nil {
            ids[Array(p.utf8)] = Int32(i)
            longest = max(longest, p.utf8.count)
        }
        func special(_ name: String) throws -> Int32 {
            guard let id = ids[Array(name.utf8)] else { throw FXError.data("the vocabulary has no \(name)") }
            return id
        }
        self.pieces = pieces
        self.lowercase = lowercase
        self.ids = ids
        self.longest = longest
        unknown = try special("[UNK]")
        classify = try special("[CLS]")
        separator = try special("[SEP]")
        pad = try special("[PAD]")
    }

    /// vocab.txt: one piece per line, the line number its id.
    public init(vocabularyFile path: String, lowercase: Bool = true) throws {
        var pieces: [String] = []
        let reader = LineReader(try FileSource(path: path))
        while let line = try reader.next() {
            var bytes = Array(line)
            if bytes.last == 0x0D { bytes.removeLast() }
            pieces.append(String(decoding: bytes, as: UTF8.self))
        }
        do { try self.init(pieces: pieces, lowercase: lowercase) } catch let error as FXError { throw FXError.data(error.reason, at: path) }
    }

    public var count: Int { pieces.count }

    /// `[CLS]`, the text's pieces, `[SEP]`: at most `maxLength` ids (the pieces are cut to fit).
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        var out: [Int32] = [classify]
        let room = max(maxLength - 2, 0)
        for word in words(text) {
            wordPieces(word, into: &out)
            if out.count > room { break }
        }
        if out.count > room + 1 { out.removeLast(out.count - room - 1) }
        out.append(separator)
        return out
    }

    /// The basic step: the text's words and punctuation, normalised, as scalars.
    public func words(_ text: String) -> [[Unicode.Scalar]] {
        var cleaned = String.UnicodeScalarView()
        for c in text.unicodeScalars {
            if c.value == 0 || c.value == 0xFFFD || Self.isControl(c) { continue }
            if Self.isWhitespace(c) {
                cleaned.append(" ")
            } else if Self.isCJK(c) {
                cleaned.append(" ")
                cleaned.append(c)
                cleaned.append(" ")
            } else {
                cleaned.append(c)
            }
        }
        var scalars: [Unicode.Scalar] = []
        if lowercase {
            for c in String(cleaned)._nfd where c.properties.generalCategory != .nonspacingMark {
                if c.isASCII {
                    scalars.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c)
                } else {
                    scalars.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
                }
            }
        } else {
            scalars = Array(cleaned)
        }
        var words: [[Unicode.Scalar]] = []
        var word: [Unicode.Scalar] = []
        for c in scalars {
            if Self.isWhitespace(c) {
                if !word.isEmpty { words.append(word); word = [] }
            } else if Self.isPunctuation(c) {
                if !word.isEmpty { words.append(word); word = [] }
                words.append([c])
            } else {
                word.append(c)
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }

    /// Appends one word's pieces (or `[UNK]`) to `out`.
    func wordPieces(_ word: [Unicode.Scalar], into out: inout [Int32]) {
        guard word.count <= Self.maxWordScalars else { out.append(unknown); return }
        var bytes: [UInt8] = []
        var ends: [Int] = []  // the byte offset after each scalar
        for c in word {
            bytes.append(contentsOf: String(c).utf8)
            ends.append(bytes.count)
        }
        let mark = out.count
        var start = 0, startByte = 0
        var key: [UInt8] = []
        while start < word.count {
            var found: Int32?
            var end = word.count
            while end > start {
                let length = ends[end - 1] - startByte
                if length <= longest {
                    key.removeAll(keepingCapacity: true)
                    if start > 0 { key.append(0x23); key.append(0x23) }
                    key.append(contentsOf: bytes[startByte..<ends[end - 1]])
                    if let id = ids[key] { found = id; break }
                }
                end -= 1
            }
            guard let id = found else {
                out.removeLast(out.count - mark)
                out.append(unknown)
                return
            }
            out.append(id)
            start = end
            startByte = ends[end - 1]
        }
    }

    /// Control characters (categories Cc, Cf, Co, Cn, Cs) other than tab, newline and carriage return.
    static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .privateUse, .unassigned, .surrogate: return true
        default: return false
        }
    }

    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r" || c.properties.isWhitespace
    }

    /// ASCII punctuation (symbols such as $ + < = > ^ ` | ~ included) and Unicode's punctuation categories.
    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation,
             .otherPunctuation: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks and their extensions and compatibility forms, as BERT defines them.
    static func isCJK(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B820...0x2CEAF,
             0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}

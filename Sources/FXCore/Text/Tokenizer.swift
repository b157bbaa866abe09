/// The one tokenizer every fx tool splits text with: Unicode-aware words and punctuation.
///
/// - White space (any Unicode White_Space) separates tokens.
/// - A word is a run of letters, marks and digits (and `_`); an apostrophe or hyphen between two word
///   characters stays inside the word ("don't", "command-line"), and so does `.` or `,` between two digits ("3.14").
/// - Every other character (punctuation, symbols, emoji) is a token of its own, with the combining marks,
///   variation selectors and zero-width-joined characters that follow it.
/// - With `lowercase`, words are lowercased (ASCII on bytes, the rest by Unicode's rules).
public struct Tokenizer: Sendable {
    public enum Kind: Sendable { case word, punctuation }

    public var lowercase: Bool

    public init(lowercase: Bool = false) { self.lowercase = lowercase }

    /// The tokens of `text`, as strings.
    public func tokens(_ text: String) -> [String] {
        var out: [String] = []
        var text = text
        text.withUTF8 { bytes in
            forEachToken(in: bytes) { token, _ in out.append(String(decoding: token, as: UTF8.self)) }
        }
        return out
    }

    /// The tokens of `text` with their kinds.
    public func tokensWithKinds(_ text: String) -> [(token: String, kind: Kind)] {
        var out: [(String, Kind)] = []
        var text = text
        text.withUTF8 { bytes in
            forEachToken(in: bytes) { token, kind in out.append((String(decoding: token, as: UTF8.self), kind)) }
        }
        return out
    }

    /// Calls `body` with the bytes of each token (valid during the call only) and its kind. `bytes` must be UTF-8.
    public func forEachToken(in bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>, Kind) -> Void) {
        var scratch: [UInt8] = []
        let n = bytes.count
        var i = 0
        var wordStart = -1
        var wordHasUpper = false

        func emitWord(_ end: Int) {
            let token = UnsafeBufferPointer(rebasing: bytes[wordStart..<end])
            if lowercase && wordHasUpper {
                scratch.removeAll(keepingCapacity: true)
                Tokenizer.lowercased(token, into: &scratch)
                scratch.withUnsafeBufferPointer { body($0, .word) }
            } else {
                body(token, .word)
            }
            wordStart = -1
            wordHasUpper = false
        }

        let classes = Tokenizer.asciiClasses  // read once: a static's every access goes through swift_once
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                // ASCII fast path: one table look-up per byte.
                let c = classes[Int(b)]
                if c == Tokenizer.asciiWord || c == Tokenizer.asciiUpper {
                    if wordStart < 0 { wordStart = i }
                    if c == Tokenizer.asciiUpper { wordHasUpper = true }
                    i += 1
                    continue
                }
                if c == Tokenizer.asciiSpace {
                    if wordStart >= 0 { emitWord(i) }
                    i += 1
                    continue
                }
            }
            let (scalar, length) = Tokenizer.decode(bytes, at: i)
            let cls = Tokenizer.classify(scalar)
            switch cls {
            case .word:
                if wordStart < 0 { wordStart = i }
                if scalar.properties.changesWhenLowercased { wordHasUpper = true }
            case .space:
                if wordStart >= 0 { emitWord(i) }
            case .punctuation:
                if wordStart >= 0 && i + length < n && Tokenizer.isJoiner(scalar) {
                    let (nextScalar, _) = Tokenizer.decode(bytes, at: i + length)
                    let numeric = scalar == "." || scalar == ","
                    let prev = bytes[i - 1]
                    if numeric ? (Tokenizer.isDigit(nextScalar) && prev >= 0x30 && prev <= 0x39)
                               : Tokenizer.classify(nextScalar) == .word {
                        i += length
                        continue
                    }
                }
                if wordStart >= 0 { emitWord(i) }
                // Combining marks, variation selectors and zero-width joiners stay with the symbol they modify.
                var end = i + length
                while end < n {
                    let (next, nextLength) = Tokenizer.decode(bytes, at: end)
                    if next.value == 0x200D, end + nextLength < n {
                        end += nextLength + Tokenizer.decode(bytes, at: end + nextLength).1
                    } else if Tokenizer.isMark(next) {
                        end += nextLength
                    } else {
                        break
                    }
                }
                body(UnsafeBufferPointer(rebasing: bytes[i..<end]), .punctuation)
                i = end
                continue
            }
            i += length
        }
        if wordStart >= 0 { emitWord(n) }
    }

    enum Class { case word, space, punctuation }

    static let asciiSpace: UInt8 = 0, asciiWord: UInt8 = 1, asciiUpper: UInt8 = 2, asciiPunctuation: UInt8 = 3
    /// `classify` for the 128 ASCII bytes, with upper-case letters marked.
    static let asciiClasses: [UInt8] = (0..<128).map { v in
        let scalar = Unicode.Scalar(UInt8(v))
        switch classify(scalar) {
        case .space: return asciiSpace
        case .word: return (0x41...0x5A).contains(v) ? asciiUpper : asciiWord
        case .punctuation: return asciiPunctuation
        }
    }

    @inline(__always)
    static func classify(_ s: Unicode.Scalar) -> Class {
        let v = s.value
        if v < 0x80 {
            switch v {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F: return .word
            case 0x09...0x0D, 0x20: return .space
            default: return v < 0x20 || v == 0x7F ? .space : .punctuation
            }
        }
        let p = s.properties
        if p.isWhitespace { return .space }
        if p.isAlphabetic || p.numericType != nil { return .word }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .connectorPunctuation: return .word
        case .control, .format: return .space
        default: return .punctuation
        }
    }

    static func isMark(_ s: Unicode.Scalar) -> Bool {
        guard s.value >= 0x300 else { return false }
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    private static func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }

    /// Apostrophes and hyphens join letters; `.` and `,` join digits.
    private static func isJoiner(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "'", "\u{2019}", "-", ".", ",": return true
        default: return false
        }
    }

    /// Decodes the scalar at `i` of well-formed UTF-8.
    @inline(__always)
    static func decode(_ p: UnsafeBufferPointer<UInt8>, at i: Int) -> (Unicode.Scalar, Int) {
        let b0 = UInt32(p[i])
        if b0 < 0x80 { return (Unicode.Scalar(UInt8(b0)), 1) }
        let n = p.count
        if b0 < 0xE0, i + 1 < n {
            return (Unicode.Scalar((b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F)) ?? "\u{FFFD}", 2)
        }
        if b0 < 0xF0, i + 2 < n {
            let v = (b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
            return (Unicode.Scalar(v) ?? "\u{FFFD}", 3)
        }
        if i + 3 < n {
            let v = (b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F)
            return (Unicode.Scalar(v) ?? "\u{FFFD}", 4)
        }
        return ("\u{FFFD}", 1)
    }

    static func lowercased(_ token: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        if !token.contains(where: { $0 >= 0x80 }) {
            for b in token { out.append(b >= 0x41 && b <= 0x5A ? b | 0x20 : b) }
        } else {
            out.append(contentsOf: String(decoding: token, as: UTF8.self).lowercased().utf8)
        }
    }

    /// Tokens joined with single spaces: the spacing every fx tool writes text with.
    public func normalized(_ text: String) -> String {
        tokens(text).joined(separator: " ")
    }
}

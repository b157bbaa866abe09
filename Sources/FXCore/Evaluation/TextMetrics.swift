#if canImport(Glibc)
import Glibc
#endif

/// Corpus-level scores of generated text against references, as sacreBLEU 2.x computes them by default: BLEU
/// (mteval-v13a tokenisation, n-grams up to 4, exponential smoothing, brevity penalty) and chrF (character
/// 6-grams without white space, beta 2), plus the length ratio and the exact-match rate.
public struct TextMetrics {
    public private(set) var records = 0
    public private(set) var exactMatches = 0
    private var correct = [Int](repeating: 0, count: 4), total = [Int](repeating: 0, count: 4)
    private var hypothesisLength = 0, referenceLength = 0
    /// Per character order 1...6: n-grams in the hypotheses, in the references, and matched.
    private var characters = [Int](repeating: 0, count: 18)

    public init() {}

    public mutating func add(hypothesis: String, reference: String) {
        records += 1
        if hypothesis == reference { exactMatches += 1 }
        let h = Self.tokenize13a(hypothesis), r = Self.tokenize13a(reference)
        hypothesisLength += h.count
        referenceLength += r.count
        for n in 1...4 {
            let hn = Self.counts(h, n), rn = Self.counts(r, n)
            total[n - 1] += max(h.count - n + 1, 0)
            for (gram, c) in hn { correct[n - 1] += min(c, rn[gram] ?? 0) }
        }
        let hc = Array(hypothesis.unicodeScalars.filter { !$0.properties.isWhitespace }).map { String($0) }
        let rc = Array(reference.unicodeScalars.filter { !$0.properties.isWhitespace }).map { String($0) }
        for n in 1...6 {
            let hn = Self.counts(hc, n, separator: ""), rn = Self.counts(rc, n, separator: "")
            characters[3 * (n - 1)] += max(hc.count - n + 1, 0)
            characters[3 * (n - 1) + 1] += max(rc.count - n + 1, 0)
            for (gram, c) in hn { characters[3 * (n - 1) + 2] += min(c, rn[gram] ?? 0) }
        }
    }

    /// BLEU in 0...100.
    public var bleu: Double {
        guard correct.contains(where: { $0 > 0 }) else { return 0 }
        let bp = hypothesisLength >= referenceLength ? 1 : (hypothesisLength > 0 ? exp(1 - Double(referenceLength) / Double(hypothesisLength)) : 0)
        var precisions = [Double](repeating: 0, count: 4)
        var smooth = 1.0
        for n in 0..<4 {
            if total[n] == 0 { break }
            if correct[n] == 0 {
                smooth *= 2
                precisions[n] = 100 / (smooth * Double(total[n]))
            } else {
                precisions[n] = 100 * Double(correct[n]) / Double(total[n])
            }
        }
        return bp * exp(precisions.map { $0 == 0 ? -9_999_999_999 : log($0) }.reduce(0, +) / 4)
    }

    /// chrF in 0...100: precision and recall averaged over the character orders both sides have, then F-beta 2.
    public var chrF: Double {
        var precision = 0.0, recall = 0.0, orders = 0
        for n in 0..<6 {
            let hyp = characters[3 * n], ref = characters[3 * n + 1], match = characters[3 * n + 2]
            guard hyp > 0 && ref > 0 else { continue }
            precision += Double(match) / Double(hyp)
            recall += Double(match) / Double(ref)
            orders += 1
        }
        guard orders > 0 else { return 0 }
        precision /= Double(orders)
        recall /= Double(orders)
        guard precision + recall > 0 else { return 0 }
        return 100 * 5 * precision * recall / (4 * precision + recall)
    }

    /// records, bleu, chrf, length_ratio and exact_match as one JSON object.
    public var report: JSONValue {
        .object([JSONMember("records", JSONValue(records)), JSONMember("bleu", JSONValue(rounded(bleu))),
                 JSONMember("chrf", JSONValue(rounded(chrF))), JSONMember("length_ratio", JSONValue(rounded(lengthRatio))),
                 JSONMember("exact_match", JSONValue(rounded(records > 0 ? Double(exactMatches) / Double(records) : 0)))])
    }

    /// Hypothesis tokens over reference tokens (13a).
    public var lengthRatio: Double { referenceLength > 0 ? Double(hypothesisLength) / Double(referenceLength) : 0 }

    static func counts(_ tokens: [String], _ n: Int, separator: String = " ") -> [String: Int] {
        var out: [String: Int] = [:]
        guard tokens.count >= n else { return out }
        for i in 0...(tokens.count - n) { out[tokens[i..<(i + n)].joined(separator: separator), default: 0] += 1 }
        return out
    }

    /// mteval-v13a's tokenisation, as sacreBLEU's `13a`: entities decoded, ASCII punctuation other than
    /// apostrophe, hyphen, period and comma split off, a period or comma split off unless between digits, a dash
    /// split off after a digit; then split at white space.
    public static func tokenize13a(_ line: String) -> [String] {
        var text = line.replacingAll("<skipped>", with: "").replacingAll("-\n", with: "").replacingAll("\n", with: " ")
        if text.utf8.contains(UInt8(ascii: "&")) {
            text = text.replacingAll("&quot;", with: "\"").replacingAll("&amp;", with: "&").replacingAll("&lt;", with: "<").replacingAll("&gt;", with: ">")
        }
        var s = Array((" " + text + " ").unicodeScalars)
        func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 48 && c.value <= 57 }
        // 1: one character of the class becomes " c ".
        var out: [Unicode.Scalar] = []
        for c in s {
            let v = c.value
            let split = (0x7B...0x7E).contains(v) || (0x5B...0x60).contains(v) || (0x20...0x26).contains(v)
                || (0x28...0x2B).contains(v) || (0x3A...0x40).contains(v) || v == 0x2F
            if split { out += [" ", c, " "] } else { out.append(c) }
        }
        s = out
        // 2-4: two-character patterns, matched left to right without overlap, as Python's re.sub does.
        func substitute(_ s: [Unicode.Scalar], _ matches: (Unicode.Scalar, Unicode.Scalar) -> Bool,
                        _ replace: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]) -> [Unicode.Scalar] {
            var out: [Unicode.Scalar] = [], i = 0
            while i < s.count {
                if i + 1 < s.count && matches(s[i], s[i + 1]) {
                    out += replace(s[i], s[i + 1])
                    i += 2
                } else {
                    out.append(s[i])
                    i += 1
                }
            }
            return out
        }
        let periodOrComma: (Unicode.Scalar) -> Bool = { $0 == "." || $0 == "," }
        s = substitute(s, { !isDigit($0) && periodOrComma($1) }) { [$0, " ", $1, " "] }
        s = substitute(s, { periodOrComma($0) && !isDigit($1) }) { [" ", $0, " ", $1] }
        s = substitute(s, { isDigit($0) && $1 == "-" }) { [$0, " ", $1, " "] }
        var tokens: [String] = [], current = String.UnicodeScalarView()
        for c in s {
            if c.properties.isWhitespace {
                if !current.isEmpty { tokens.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { tokens.append(String(current)) }
        return tokens
    }
}

extension String {
    /// Every occurrence of `target` replaced (compared as UTF-8 bytes), without Foundation.
    func replacingAll(_ target: String, with replacement: String) -> String {
        let bytes = Array(utf8), t = Array(target.utf8), r = Array(replacement.utf8)
        guard !t.isEmpty, bytes.count >= t.count else { return self }
        var out: [UInt8] = [], i = 0
        while i < bytes.count {
            if i + t.count <= bytes.count && bytes[i..<(i + t.count)].elementsEqual(t) {
                out += r
                i += t.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import Foundation

/// Python's string and number semantics that Jinja templates see through jinja2: `str.strip()` and friends with
/// Python's idea of white space, case mappings over Unicode scalars (code points, as Python counts), `repr()` of
/// strings and floats, and the unescaping jinja2 applies to string literals. Everything works on Unicode scalars,
/// never on Swift's grapheme clusters, and compares strings by code point, never by canonical equivalence.
extension Jinja {
    enum Py {
        /// `str.isspace()`: bidirectional classes WS, B, S and category Zs.
        static func isSpace(_ c: Unicode.Scalar) -> Bool {
            switch c.value {
            case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
                return true
            default:
                return false
            }
        }

        /// `str.strip(chars)`, `lstrip`, `rstrip`: white space when `chars` is nil, else any of its characters.
        static func strip(_ s: String, _ chars: String?, left: Bool = true, right: Bool = true) -> String {
            let scalars = Array(s.unicodeScalars)
            let set = chars.map { Set($0.unicodeScalars) }
            func drop(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isSpace(c) }
            var lo = 0, hi = scalars.count
            if left { while lo < hi, drop(scalars[lo]) { lo += 1 } }
            if right { while hi > lo, drop(scalars[hi - 1]) { hi -= 1 } }
            return string(scalars[lo..<hi])
        }

        static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars)
            return String(view)
        }

        /// Code-point equality, as Python compares strings (Swift's `==` would equate canonically equivalent forms).
        static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

        /// Code-point order, as Python's `<` on strings (UTF-8 byte order is code-point order).
        static func less(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

        /// The byte offsets where `needle` occurs in `hay`, left to right, not overlapping, at most `limit`.
        static func occurrences(_ hay: [UInt8], _ needle: [UInt8], limit: Int = .max) -> [Int] {
            var found: [Int] = []
            guard !needle.isEmpty, needle.count <= hay.count else { return found }
            var i = 0
            while i + needle.count <= hay.count, found.count < limit {
                if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) {
                    found.append(i)
                    i += needle.count
                } else {
                    i += 1
                }
            }
            return found
        }

        static func contains(_ hay: String, _ needle: String) -> Bool {
            needle.isEmpty || !occurrences(Array(hay.utf8), Array(needle.utf8), limit: 1).isEmpty
        }

        /// `str.replace(old, new, count)`; an empty `old` inserts `new` around every character, as Python does.
        static func replace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
            let limit = count < 0 ? Int.max : count
            if old.isEmpty {
                var out = String.UnicodeScalarView()
                var n = 0
                for c in s.unicodeScalars {
                    if n < limit { out.append(contentsOf: new.unicodeScalars); n += 1 }
                    out.append(c)
                }
                if n < limit { out.append(contentsOf: new.unicodeScalars) }
                return String(out)
            }
            let hay = Array(s.utf8), needle = Array(old.utf8)
            let at = occurrences(hay, needle, limit: limit)
            if at.isEmpty { return s }
            var out: [UInt8] = []
            out.reserveCapacity(hay.count)
            var last = 0
            for i in at {
                out.append(contentsOf: hay[last..<i])
                out.append(contentsOf: new.utf8)
                last = i + needle.count
            }
            out.append(contentsOf: hay[last...])
            return String(decoding: out, as: UTF8.self)
        }

        /// `str.split(sep, maxsplit)`.
        static func split(_ s: String, _ sep: String?, _ maxsplit: Int) throws -> [String] {
            let limit = maxsplit < 0 ? Int.max : maxsplit
            guard let sep else {
                var parts: [String] = []
                let c = Array(s.unicodeScalars)
                var i = 0
                while i < c.count {
                    while i < c.count, isSpace(c[i]) { i += 1 }
                    if i == c.count { break }
                    if parts.count == limit { parts.append(string(c[i...])); break }
                    let start = i
                    while i < c.count, !isSpace(c[i]) { i += 1 }
                    parts.append(string(c[start..<i]))
                }
                return parts
            }
            guard !sep.isEmpty else { throw Jinja.Failure("empty separator") }
            let hay = Array(s.utf8), needle = Array(sep.utf8)
            var parts: [String] = []
            var last = 0
            for i in occurrences(hay, needle, limit: limit) {
                parts.append(String(decoding: hay[last..<i], as: UTF8.self))
                last = i + needle.count
            }
            parts.append(String(decoding: hay[last...], as: UTF8.self))
            return parts
        }

        /// `str.rsplit(sep, maxsplit)`.
        static func rsplit(_ s: String, _ sep: String?, _ maxsplit: Int) throws -> [String] {
            if maxsplit < 0 { return try split(s, sep, -1) }
            let reversed = string(s.unicodeScalars.reversed())
            let parts = try split(reversed, sep.map { string($0.unicodeScalars.reversed()) }, maxsplit)
            return parts.reversed().map { string($0.unicodeScalars.reversed()) }
        }

        /// `str.splitlines(keepends)`.
        static func splitlines(_ s: String, keepends: Bool = false) -> [String] {
            let c = Array(s.unicodeScalars)
            var lines: [String] = []
            var start = 0, i = 0
            while i < c.count {
                let v = c[i].value
                var end = i + 1
                switch v {
                case 0x0D:
                    if end < c.count, c[end] == "\n" { end += 1 }
                case 0x0A, 0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                    break
                default:
                    i += 1
                    continue
                }
                lines.append(string(c[start..<(keepends ? end : i)]))
                start = end
                i = end
            }
            if start < c.count { lines.append(string(c[start...])) }
            return lines
        }

        /// `str.upper()`: full case mappings.
        static func upper(_ s: String) -> String {
            var out = String.UnicodeScalarView()
            for c in s.unicodeScalars { out.append(contentsOf: c.properties.uppercaseMapping.unicodeScalars) }
            return String(out)
        }

        /// `str.lower()`: full case mappings, with Greek final sigma as CPython applies it.
        static func lower(_ s: String) -> String { string(lowered(Array(s.unicodeScalars), from: 0)) }

        private static func lowered(_ c: [Unicode.Scalar], from start: Int) -> [Unicode.Scalar] {
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(c.count - start)
            for i in start..<c.count { out.append(contentsOf: lowerAt(c, i)) }
            return out
        }

        private static func lowerAt(_ c: [Unicode.Scalar], _ i: Int) -> [Unicode.Scalar] {
            if c[i].value == 0x03A3 { return [finalSigma(c, i) ? "\u{03C2}" : "\u{03C3}"] }
            return Array(c[i].properties.lowercaseMapping.unicodeScalars)
        }

        private static func finalSigma(_ c: [Unicode.Scalar], _ i: Int) -> Bool {
            var j = i - 1
            while j >= 0, c[j].properties.isCaseIgnorable { j -= 1 }
            guard j >= 0, c[j].properties.isCased else { return false }
            j = i + 1
            while j < c.count, c[j].properties.isCaseIgnorable { j += 1 }
            return j == c.count || !c[j].properties.isCased
        }

        /// `str.title()`: title case after an uncased character, lower case after a cased one.
        static func title(_ s: String) -> String {
            let c = Array(s.unicodeScalars)
            var out: [Unicode.Scalar] = []
            var previousCased = false
            for i in c.indices {
                if previousCased { out.append(contentsOf: lowerAt(c, i)) } else {
                    out.append(contentsOf: c[i].properties.titlecaseMapping.unicodeScalars)
                }
                previousCased = c[i].properties.isCased
            }
            return string(out)
        }

        /// `str.capitalize()` (Python 3.8+): the first character in title case, the rest lower case.
        static func capitalize(_ s: String) -> String {
            let c = Array(s.unicodeScalars)
            guard let first = c.first else { return "" }
            return first.properties.titlecaseMapping + string(lowered(c, from: 1))
        }

        /// `str.swapcase()`.
        static func swapcase(_ s: String) -> String {
            let c = Array(s.unicodeScalars)
            var out: [Unicode.Scalar] = []
            for i in c.indices {
                let p = c[i].properties
                if p.isUppercase { out.append(contentsOf: lowerAt(c, i)) } else if p.isLowercase {
                    out.append(contentsOf: p.uppercaseMapping.unicodeScalars)
                } else { out.append(c[i]) }
            }
            return string(out)
        }

        /// `str.islower()` / `str.isupper()`: at least one cased character, and none of the other case.
        static func isLower(_ s: String) -> Bool {
            var cased = false
            for c in s.unicodeScalars {
                let p = c.properties
                if p.isUppercase || p.generalCategory == .titlecaseLetter { return false }
                if p.isLowercase { cased = true }
            }
            return cased
        }

        static func isUpper(_ s: String) -> Bool {
            var cased = false
            for c in s.unicodeScalars {
                let p = c.properties
                if p.isLowercase || p.generalCategory == .titlecaseLetter { return false }
                if p.isUppercase { cased = true }
            }
            return cased
        }

        static func isAlpha(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
            default: return false
            }
        }

        static func isDigit(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.numericType {
            case .decimal?, .digit?: return true
            default: return false
            }
        }

        static func isNumeric(_ c: Unicode.Scalar) -> Bool { c.properties.numericType != nil }

        /// `str.isprintable()` for one character: not in Cc, Cf, Cs, Co, Cn, Zl, Zp, nor Zs other than the space.
        static func isPrintable(_ c: Unicode.Scalar) -> Bool {
            if c == " " { return true }
            switch c.properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
                 .spaceSeparator:
                return false
            default:
                return true
            }
        }

        static func hex(_ v: UInt32, _ width: Int) -> String {
            let h = String(v, radix: 16)
            return String(repeating: "0", count: max(0, width - h.count)) + h
        }

        /// `repr(str)`: single quotes unless the text holds one and no double quote.
        static func repr(_ s: String) -> String {
            let quote: Unicode.Scalar = s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"") ? "\"" : "'"
            var out = String.UnicodeScalarView()
            out.append(quote)
            for c in s.unicodeScalars {
                switch c {
                case quote, "\\": out.append("\\"); out.append(c)
                case "\t": out.append(contentsOf: "\\t".unicodeScalars)
                case "\n": out.append(contentsOf: "\\n".unicodeScalars)
                case "\r": out.append(contentsOf: "\\r".unicodeScalars)
                default:
                    if c.value < 0x20 || c.value == 0x7F {
                        out.append(contentsOf: ("\\x" + hex(c.value, 2)).unicodeScalars)
                    } else if c.value < 0x7F || isPrintable(c) {
                        out.append(c)
                    } else if c.value <= 0xFF {
                        out.append(contentsOf: ("\\x" + hex(c.value, 2)).unicodeScalars)
                    } else if c.value <= 0xFFFF {
                        out.append(contentsOf: ("\\u" + hex(c.value, 4)).unicodeScalars)
                    } else {
                        out.append(contentsOf: ("\\U" + hex(c.value, 8)).unicodeScalars)
                    }
                }
            }
            out.append(quote)
            return String(out)
        }

        /// `repr(float)`: the shortest digits that read back exactly, in exponent form when the decimal exponent
        /// is below -4 or at least 16.
        static func repr(_ d: Double) -> String {
            if d.isNaN { return "nan" }
            if d.isInfinite { return d < 0 ? "-inf" : "inf" }
            if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
            // Swift's description is also the shortest round-trip form; take its digits and exponent.
            var text = "\(d.magnitude)"
            var exponent = 0
            if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
                exponent = Int(text[text.index(after: e)...]) ?? 0
                text = String(text[..<e])
            }
            var digits = text.replacingOccurrences(of: ".", with: "")
            var point = text.firstIndex(of: ".").map { text.distance(from: text.startIndex, to: $0) } ?? text.count
            while digits.hasPrefix("0") { digits.removeFirst(); point -= 1 }
            while digits.count > 1, digits.hasSuffix("0") { digits.removeLast() }
            let decpt = point + exponent  // value = 0.digits * 10^decpt
            let sign = d < 0 ? "-" : ""
            if decpt <= -4 || decpt > 16 {
                let e = decpt - 1
                let mantissa = digits.count > 1 ? String(digits.prefix(1)) + "." + String(digits.dropFirst()) : digits
                let ee = String(abs(e))
                return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (ee.count < 2 ? "0" + ee : ee)
            }
            if decpt <= 0 { return sign + "0." + String(repeating: "0", count: -decpt) + digits }
            if decpt >= digits.count { return sign + digits + String(repeating: "0", count: decpt - digits.count) + ".0" }
            return sign + String(digits.prefix(decpt)) + "." + String(digits.dropFirst(decpt))
        }

        /// Python's `int(text)`: optional sign, white space around, `_` between digits; nil when it is not one.
        static func parseInt(_ text: String, base: Int = 10) -> Int? {
            var t = strip(text, nil)
            var negative = false
            if t.hasPrefix("-") || t.hasPrefix("+") { negative = t.hasPrefix("-"); t.removeFirst() }
            var radix = base
            let lower = t.lowercased()
            if base == 0 || base == 16, lower.hasPrefix("0x") { radix = 16; t.removeFirst(2) } else if base == 0 || base == 8, lower.hasPrefix("0o") {
                radix = 8; t.removeFirst(2)
            } else if base == 0 || base == 2, lower.hasPrefix("0b") { radix = 2; t.removeFirst(2) } else if base == 0 { radix = 10 }
            guard !t.isEmpty, !t.hasPrefix("_"), !t.hasSuffix("_"), !t.contains("__"), t.allSatisfy({ $0.isASCII }) else { return nil }
            guard let magnitude = Int(t.replacingOccurrences(of: "_", with: ""), radix: radix) else { return nil }
            return negative ? -magnitude : magnitude
        }

        /// Python's `float(text)`: decimal or exponent notation, `inf`, `nan`, white space around; nil otherwise.
        static func parseFloat(_ text: String) -> Double? {
            let t = strip(text, nil).lowercased()
            guard !t.isEmpty, t.allSatisfy({ $0.isASCII }) else { return nil }
            switch t {
            case "inf", "+inf", "infinity", "+infinity": return .infinity
            case "-inf", "-infinity": return -.infinity
            case "nan", "+nan", "-nan": return .nan
            default: break
            }
            guard !t.hasPrefix("_"), !t.hasSuffix("_"), !t.contains("__"), t.allSatisfy({ "0123456789+-.e_".contains($0) }),
                  t.contains(where: \.isNumber)
            else { return nil }
            return Double(t.replacingOccurrences(of: "_", with: ""))
        }

        /// The value of a string literal as jinja2 reads it: Python's `unicode-escape` codec over the text between the
        /// quotes (`\n`, `\t`, `\\`, `\'`, `\"`, `\xhh`, `\uhhhh`, `\Uhhhhhhhh`, octal, a backslash before a line
        /// break removed, other backslashes kept).
        static func unescape(_ raw: [Unicode.Scalar]) throws -> String {
            var out = String.UnicodeScalarView()
            var i = 0
            /// The `count` hex digits after the escape letter at `i + 1`.
            func hexValue(_ count: Int) throws -> UInt32 {
                var v: UInt32 = 0
                for k in 0..<count {
                    guard i + 2 + k < raw.count, let d = hexDigit(raw[i + 2 + k]) else {
                        throw Jinja.Failure("truncated \\\(raw[i + 1]) escape in a string literal")
                    }
                    v = v << 4 | d
                }
                return v
            }
            func append(_ v: UInt32) {
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            }
            while i < raw.count {
                let c = raw[i]
                guard c == "\\", i + 1 < raw.count else { out.append(c); i += 1; continue }
                let e = raw[i + 1]
                switch e {
                case "\n": i += 2
                case "\\", "'", "\"": out.append(e); i += 2
                case "a": out.append("\u{07}"); i += 2
                case "b": out.append("\u{08}"); i += 2
                case "f": out.append("\u{0C}"); i += 2
                case "n": out.append("\n"); i += 2
                case "r": out.append("\r"); i += 2
                case "t": out.append("\t"); i += 2
                case "v": out.append("\u{0B}"); i += 2
                case "0"..."7":
                    var v: UInt32 = 0
                    var k = i + 1
                    while k < raw.count, k < i + 4, ("0"..."7").contains(raw[k]) { v = v * 8 + (raw[k].value - 48); k += 1 }
                    append(v)
                    i = k
                case "x", "u", "U":
                    let count = e == "x" ? 2 : e == "u" ? 4 : 8
                    let v = try hexValue(count)
                    guard v <= 0x10FFFF else { throw Jinja.Failure("illegal Unicode character in a string literal") }
                    append(v)
                    i += count + 2
                case "N":
                    throw Jinja.Failure("unsupported \\N{...} escape in a string literal")
                default:
                    // A backslash before anything else stays, and so does the character; a non-ASCII one arrives as
                    // the backslash escape Python's `backslashreplace` made of it.
                    out.append("\\")
                    if e.isASCII {
                        out.append(e)
                    } else {
                        let text = e.value <= 0xFF ? "x" + hex(e.value, 2) : e.value <= 0xFFFF ? "u" + hex(e.value, 4) : "U" + hex(e.value, 8)
                        out.append(contentsOf: text.unicodeScalars)
                    }
                    i += 2
                }
            }
            return String(out)
        }

        static func hexDigit(_ c: Unicode.Scalar) -> UInt32? {
            switch c.value {
            case 0x30...0x39: return c.value - 0x30
            case 0x41...0x46: return c.value - 0x41 + 10
            case 0x61...0x66: return c.value - 0x61 + 10
            default: return nil
            }
        }
    }
}

extension Jinja {
    struct Token {
        enum Kind: Equatable {
            case data, variableBegin, variableEnd, blockBegin, blockEnd, name, string, integer, float, op, eof
        }

        var kind: Kind
        /// Template text, a name, a string literal's value, or an operator.
        var text = ""
        var int = 0
        var float = 0.0
        var line: Int

        func isName(_ name: String) -> Bool { kind == .name && text == name }
        func isOp(_ op: String) -> Bool { kind == .op && text == op }

        /// The token as an error message names it.
        var described: String {
            switch kind {
            case .data: return "template data"
            case .variableBegin: return "begin of print statement"
            case .variableEnd: return "end of print statement"
            case .blockBegin: return "begin of statement block"
            case .blockEnd: return "end of statement block"
            case .eof: return "end of template"
            case .string: return "string"
            case .integer: return String(int)
            case .float: return Py.repr(float)
            case .name, .op: return text
            }
        }
    }

    /// jinja2's lexer with transformers' settings: `{{ }}`, `{% %}`, `{# #}`; `-` beside a delimiter strips the white
    /// space on that side; `trim_blocks` drops the first line break after a block or comment tag and
    /// `lstrip_blocks` the spaces and tabs before one at the start of a line (`+` turns either off for that tag);
    /// line breaks become `\n` and one final line break is dropped.
    struct Lexer {
        private var s: [Unicode.Scalar]
        private var pos = 0
        private var line = 1
        private var out: [Token] = []
        private var lineStarting = true

        init(_ source: String) {
            // Normalise line breaks; drop one trailing line break (keep_trailing_newline=False).
            var scalars: [Unicode.Scalar] = []
            scalars.reserveCapacity(source.unicodeScalars.count)
            var previousCR = false
            for c in source.unicodeScalars {
                if c == "\r" { scalars.append("\n"); previousCR = true; continue }
                if c == "\n", previousCR { previousCR = false; continue }
                previousCR = false
                scalars.append(c)
            }
            if scalars.last == "\n" { scalars.removeLast() }
            s = scalars
        }

        mutating func tokens() throws -> [Token] {
            while pos < s.count {
                guard let (start, kind) = nextTag() else {
                    emitData(pos..<s.count)
                    break
                }
                var after = start + 2
                var sign: Unicode.Scalar?
                if after < s.count, s[after] == "-" || s[after] == "+" { sign = s[after]; after += 1 }
                let rawEnd = kind == "%" ? rawBegin(at: after) : nil
                var text = pos..<start
                if sign == "-" {
                    text = pos..<stripRight(text)
                } else if sign != "+", kind != "{" {
                    text = lstripped(text)
                }
                emitData(text)
                line += newlines(pos..<start)
                pos = start
                if let rawEnd {
                    line += newlines(start..<rawEnd)
                    lineStarting = s[rawEnd - 1] == "\n"
                    pos = rawEnd
                    try lexRaw()
                    continue
                }
                lineStarting = false
                if kind == "#" {
                    try skipComment(from: after)
                    continue
                }
                out.append(Token(kind: kind == "{" ? .variableBegin : .blockBegin, line: line))
                pos = after
                try lexTag(block: kind == "%", opened: line)
            }
            out.append(Token(kind: .eof, line: line))
            return out
        }

        /// The next `{{`, `{%` or `{#` at or after `pos`: its index and second character.
        private func nextTag() -> (Int, Unicode.Scalar)? {
            var i = pos
            while i + 1 < s.count {
                if s[i] == "{" {
                    let c = s[i + 1]
                    if c == "{" || c == "%" || c == "#" { return (i, c) }
                }
                i += 1
            }
            return nil
        }

        private func newlines(_ r: Range<Int>) -> Int {
            var n = 0
            for i in r where s[i] == "\n" { n += 1 }
            return n
        }

        private mutating func emitData(_ r: Range<Int>) {
            if r.isEmpty { return }
            out.append(Token(kind: .data, text: Py.string(s[r]), line: line))
        }

        /// The end of `r` with trailing white space removed (`{%-`).
        private func stripRight(_ r: Range<Int>) -> Int {
            var hi = r.upperBound
            while hi > r.lowerBound, Py.isSpace(s[hi - 1]) { hi -= 1 }
            return hi
        }

        /// `lstrip_blocks`: the text before a block or comment tag loses the white space between the last line
        /// break (or the start of a line) and the tag, when nothing else is there.
        private func lstripped(_ r: Range<Int>) -> Range<Int> {
            var lineStart = r.lowerBound
            var sawBreak = false
            var i = r.upperBound
            while i > r.lowerBound {
                if s[i - 1] == "\n" { lineStart = i; sawBreak = true; break }
                i -= 1
            }
            guard sawBreak || lineStarting, lineStart < r.upperBound else { return r }
            for k in lineStart..<r.upperBound where !Py.isSpace(s[k]) { return r }
            return r.lowerBound..<lineStart
        }

        private func skipSpace(_ i: Int) -> Int {
            var k = i
            while k < s.count, Py.isSpace(s[k]) { k += 1 }
            return k
        }

        private func matches(_ text: String, at i: Int) -> Bool {
            var k = i
            for c in text.unicodeScalars {
                guard k < s.count, s[k] == c else { return false }
                k += 1
            }
            return true
        }

        /// After `{%` (and its sign) at `i`: if this is `{% raw %}`, the index after its end.
        private func rawBegin(at i: Int) -> Int? {
            var k = skipSpace(i)
            guard matches("raw", at: k) else { return nil }
            k = skipSpace(k + 3)
            if matches("-%}", at: k) { return skipSpace(k + 3) }
            if matches("%}", at: k) { return k + 2 }
            return nil
        }

        /// The text of a raw block, up to `{% endraw %}`. A `{% raw %}` with nothing after it ends the template
        /// quietly, as in jinja2.
        private mutating func lexRaw() throws {
            if pos >= s.count { return }
            var i = pos
            while i + 1 < s.count {
                if s[i] == "{", s[i + 1] == "%" {
                    var k = i + 2
                    var sign: Unicode.Scalar?
                    if k < s.count, s[k] == "-" || s[k] == "+" { sign = s[k]; k += 1 }
                    k = skipSpace(k)
                    if matches("endraw", at: k) {
                        k = skipSpace(k + 6)
                        var end: Int?
                        if matches("+%}", at: k) { end = k + 3 } else if matches("-%}", at: k) { end = skipSpace(k + 3) } else if matches("%}", at: k) {
                            end = k + 2 < s.count && s[k + 2] == "\n" ? k + 3 : k + 2
                        }
                        if let end {
                            var text = pos..<i
                            if sign == "-" { text = pos..<stripRight(text) } else if sign != "+" { text = lstripped(text) }
                            emitData(text)
                            line += newlines(pos..<end)
                            lineStarting = s[end - 1] == "\n"
                            pos = end
                            return
                        }
                    }
                }
                i += 1
            }
            throw Failure("missing end of raw directive", line: line)
        }

        /// Skips a comment whose text starts at `i`: up to `#}`, `-#}` (and the white space after it) or `+#}`.
        /// A `{#` with nothing after it ends the template quietly, as in jinja2.
        private mutating func skipComment(from i: Int) throws {
            if i >= s.count {
                pos = s.count
                return
            }
            var k = i
            while k + 1 < s.count {
                if s[k] == "#", s[k + 1] == "}" {
                    var end = k + 2
                    if k > i, s[k - 1] == "-" { end = skipSpace(end) } else if k > i, s[k - 1] == "+" {} else if end < s.count, s[end] == "\n" {
                        end += 1
                    }
                    line += newlines(pos..<end)
                    lineStarting = s[end - 1] == "\n"
                    pos = end
                    return
                }
                k += 1
            }
            throw Failure("missing end of comment tag", line: line)
        }

        /// The tokens of one `{{ }}` or `{% %}` tag, up to and including its end.
        private mutating func lexTag(block: Bool, opened: Int) throws {
            var balance: [Unicode.Scalar] = []
            while true {
                guard pos < s.count else {
                    throw Failure("unclosed '\(block ? "{%" : "{{")' tag (missing '\(block ? "%}" : "}}")')", line: opened)
                }
                if balance.isEmpty, let end = tagEnd(block: block) {
                    out.append(Token(kind: block ? .blockEnd : .variableEnd, line: line))
                    line += newlines(pos..<end)
                    lineStarting = s[end - 1] == "\n"
                    pos = end
                    return
                }
                let c = s[pos]
                if Py.isSpace(c) {
                    let end = skipSpace(pos)
                    line += newlines(pos..<end)
                    pos = end
                    continue
                }
                if let token = try number() {
                    out.append(token)
                    continue
                }
                if c == "_" || (!c.isASCII && Py.isAlpha(c)) || ("a"..."z").contains(c) || ("A"..."Z").contains(c) {
                    let start = pos
                    while pos < s.count, isNameChar(s[pos]) { pos += 1 }
                    out.append(Token(kind: .name, text: Py.string(s[start..<pos]), line: line))
                    continue
                }
                if c == "'" || c == "\"" {
                    out.append(try string(quote: c))
                    continue
                }
                let op = ["//", "**", "==", "!=", ">=", "<="].first { matches($0, at: pos) }
                    ?? (("+-/*%~[](){}><=.:|,;".unicodeScalars.contains(c)) ? String(c) : nil)
                guard let op else { throw Failure("unexpected character '\(c)'", line: line) }
                switch op {
                case "(": balance.append(")")
                case "[": balance.append("]")
                case "{": balance.append("}")
                case ")", "]", "}":
                    guard let expected = balance.popLast() else { throw Failure("unexpected '\(op)'", line: line) }
                    guard String(expected) == op else { throw Failure("unexpected '\(op)', expected '\(expected)'", line: line) }
                default: break
                }
                out.append(Token(kind: .op, text: op, line: line))
                pos += op.unicodeScalars.count
            }
        }

        private func isNameChar(_ c: Unicode.Scalar) -> Bool {
            if c.isASCII { return c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) }
            if Py.isAlpha(c) || Py.isDigit(c) { return true }
            switch c.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .connectorPunctuation: return true
            default: return false
            }
        }

        /// The end of the tag if it ends at `pos`: `%}` (and one line break), `-%}` (and all white space), `+%}`;
        /// `}}`, `-}}` (and all white space).
        private func tagEnd(block: Bool) -> Int? {
            if block {
                if matches("+%}", at: pos) { return pos + 3 }
                if matches("-%}", at: pos) { return skipSpace(pos + 3) }
                if matches("%}", at: pos) { return pos + 2 < s.count && s[pos + 2] == "\n" ? pos + 3 : pos + 2 }
            } else {
                if matches("-}}", at: pos) { return skipSpace(pos + 3) }
                if matches("}}", at: pos) { return pos + 2 }
            }
            return nil
        }

        private func isDigit(_ i: Int) -> Bool { i < s.count && ("0"..."9").contains(s[i]) }

        /// `(\d+_)*\d+` at `i`: its end, or nil.
        private func digits(_ i: Int) -> Int? {
            guard isDigit(i) else { return nil }
            var k = i
            while isDigit(k) { k += 1 }
            while k < s.count, s[k] == "_", isDigit(k + 1) {
                k += 1
                while isDigit(k) { k += 1 }
            }
            return k
        }

        /// `e[+-]?digits` at `i`: its end, or nil.
        private func exponent(_ i: Int) -> Int? {
            guard i < s.count, s[i] == "e" || s[i] == "E" else { return nil }
            var k = i + 1
            if k < s.count, s[k] == "+" || s[k] == "-" { k += 1 }
            return digits(k)
        }

        /// A float or integer literal at `pos`, as jinja2's `float_re` and `integer_re` read them.
        private mutating func number() throws -> Token? {
            guard isDigit(pos) else { return nil }
            let start = pos
            if pos == 0 || s[pos - 1] != ".", let whole = digits(pos) {
                var end: Int?
                if whole < s.count, s[whole] == ".", let fraction = digits(whole + 1) {
                    end = exponent(fraction) ?? fraction
                } else {
                    end = exponent(whole)
                }
                if let end {
                    let text = Py.string(s[start..<end]).replacingOccurrences(of: "_", with: "")
                    guard let value = Double(text) else { throw Failure("invalid number '\(text)'", line: line) }
                    pos = end
                    return Token(kind: .float, float: value, line: line)
                }
            }
            // Integers: 0b/0o/0x prefixes, a decimal not starting with 0, or zeros.
            var radix = 10
            var k = pos
            if s[pos] == "0", pos + 1 < s.count, let r = ([Character("b"): 2, "B": 2, "o": 8, "O": 8, "x": 16, "X": 16] as [Character: Int])[Character(s[pos + 1])] {
                var d = pos + 2
                var count = 0
                while d < s.count {
                    if s[d] == "_", d + 1 < s.count, let v = Py.hexDigit(s[d + 1]), v < r { d += 2; count += 1; continue }
                    if let v = Py.hexDigit(s[d]), v < r { d += 1; count += 1; continue }
                    break
                }
                if count > 0 { radix = r; k = d }
            }
            if radix == 10 {
                if s[pos] == "0" {
                    k = pos + 1
                    while k < s.count {
                        if s[k] == "0" { k += 1 } else if s[k] == "_", k + 1 < s.count, s[k + 1] == "0" { k += 2 } else { break }
                    }
                } else {
                    k = digits(pos) ?? pos + 1
                }
            }
            var text = Py.string(s[start..<k]).replacingOccurrences(of: "_", with: "")
            if radix != 10 { text.removeFirst(2) }
            guard let value = Int(text, radix: radix) else { throw Failure("integer literal too large: \(text)", line: line) }
            pos = k
            return Token(kind: .integer, int: value, line: line)
        }

        /// A quoted string literal at `pos`.
        private mutating func string(quote: Unicode.Scalar) throws -> Token {
            var k = pos + 1
            while k < s.count, s[k] != quote {
                k += s[k] == "\\" ? 2 : 1
            }
            guard k < s.count else { throw Failure("unterminated string literal", line: line) }
            let startLine = line
            let value = try Py.unescape(Array(s[(pos + 1)..<k]))
            line += newlines(pos..<(k + 1))
            pos = k + 1
            return Token(kind: .string, text: value, line: startLine)
        }
    }
}

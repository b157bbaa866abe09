/// A JSON syntax error at a byte offset of the text being read.
public struct JSONSyntaxError: Error, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public var description: String { "invalid JSON: \(message) at column \(offset + 1)" }
}

/// A JSON value, decoded. Numbers keep their text, so a number passes through unchanged.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    public init(_ int: Int) { self = .number(String(int)) }

    public init(_ double: Double) {
        if double.isFinite && double == double.rounded() && abs(double) < 1e15 {
            self = .number(String(Int(double)))
        } else if double.isFinite {
            self = .number(String(double))
        } else {
            self = .null
        }
    }

    /// The string, when this is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// A whole number that an Int holds exactly (at most 2^53 in magnitude); nil for anything else.
    public var intValue: Int? {
        guard let d = doubleValue, abs(d) <= 9_007_199_254_740_992, d == d.rounded() else { return nil }
        return Int(d)
    }

    /// The member named `key`, when this is an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.key == key }?.value }
        return nil
    }

    /// A short name of the value's type, for messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Parses one JSON value (surrounding white space allowed).
    public init(parsing text: UnsafeBufferPointer<UInt8>) throws {
        var scanner = JSONScanner(text)
        scanner.skipWhitespace()
        self = try scanner.parseValue(depth: 0)
        scanner.skipWhitespace()
        if scanner.index != text.count { throw scanner.error("unexpected text after the value") }
    }

    public init(parsing text: String) throws {
        var copy = text
        self = try copy.withUTF8 { try JSONValue(parsing: $0) }
    }

    /// Compact JSON.
    public func encode(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let s): JSON.encodeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.encode(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.encodeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.encode(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    public var jsonText: String { String(decoding: encoded, as: UTF8.self) }
}

public struct JSONMember: Equatable, Sendable {
    public var key: String
    public var value: JSONValue
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// JSON string escaping and unescaping on bytes.
public enum JSON {
    /// The deepest nesting a decoded value may have; deeper input is an error, never a stack overflow.
    public static let maxDepth = 512

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `s` as a quoted JSON string: `"` `\` and control characters escaped, everything else as UTF-8.
    public static func encodeString(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { encodeString(bytes: $0, into: &out) }
    }

    public static func encodeString(bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.append(0x22)
        var runStart = 0
        for i in 0..<bytes.count {
            let b = bytes[i]
            if b >= 0x20 && b != 0x22 && b != 0x5C { continue }
            if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            runStart = i + 1
            out.append(0x5C)
            switch b {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                out.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            }
        }
        if runStart < bytes.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...])) }
        out.append(0x22)
    }

    /// Appends the UTF-8 bytes that a JSON string's contents (between the quotes, already validated) stand for.
    public static func unescape(_ content: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var i = 0
        let n = content.count
        var runStart = 0
        while i < n {
            if content[i] != 0x5C { i += 1; continue }
            if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: content[runStart..<i])) }
            let e = content[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var code = hexValue(content, i)
                i += 4
                if (0xD800..<0xDC00).contains(code), i + 6 <= n, content[i] == 0x5C, content[i + 1] == UInt8(ascii: "u") {
                    let low = hexValue(content, i + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: UTF8.encode(scalar)!)
            default: out.append(e)  // \" \\ \/
            }
            runStart = i
        }
        if runStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: content[runStart..<n])) }
    }

    private static func hexValue(_ p: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = p[at + k]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            default: d = c - 0x61 + 10
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// The string a JSON string's contents stand for.
    public static func string(fromContent content: UnsafeBufferPointer<UInt8>, escaped: Bool) -> String {
        if !escaped { return String(decoding: content, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(content.count)
        unescape(content, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}

/// A validating scanner over the bytes of one JSON text. It reports byte offsets; UTF-8 is checked by the caller.
public struct JSONScanner {
    public let p: UnsafeBufferPointer<UInt8>
    public var index = 0

    public init(_ p: UnsafeBufferPointer<UInt8>) { self.p = p }

    func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: index, message: message) }

    @inline(__always)
    public mutating func skipWhitespace() {
        while index < p.count {
            let c = p[index]
            if c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D { index += 1 } else { return }
        }
    }

    /// Scans a string starting at its opening quote; returns the contents' span and whether it holds escapes.
    @inline(__always)
    public mutating func scanString() throws -> (start: Int, end: Int, escaped: Bool) {
        index += 1
        let start = index
        var escaped = false
        while index < p.count {
            let c = p[index]
            if c == 0x22 {
                let end = index
                index += 1
                return (start, end, escaped)
            }
            if c == 0x5C {
                escaped = true
                guard index + 1 < p.count else { break }
                switch p[index + 1] {
                case 0x22, 0x5C, 0x2F, UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 5 < p.count else { index = p.count; throw error("unfinished \\u escape") }
                    for k in 2...5 where !isHexDigit(p[index + k]) {
                        index += k
                        throw error("bad \\u escape")
                    }
                    index += 6
                default:
                    index += 1
                    throw error("bad escape")
                }
                continue
            }
            if c < 0x20 { throw error("control character in string") }
            index += 1
        }
        throw error("unterminated string")
    }

    private func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    mutating func scanNumber() throws {
        if index < p.count && p[index] == UInt8(ascii: "-") { index += 1 }
        guard index < p.count, isDigit(p[index]) else { throw error("bad number") }
        if p[index] == 0x30 { index += 1 } else { while index < p.count && isDigit(p[index]) { index += 1 } }
        if index < p.count && p[index] == UInt8(ascii: ".") {
            index += 1
            guard index < p.count, isDigit(p[index]) else { throw error("bad number") }
            while index < p.count && isDigit(p[index]) { index += 1 }
        }
        if index < p.count && (p[index] == UInt8(ascii: "e") || p[index] == UInt8(ascii: "E")) {
            index += 1
            if index < p.count && (p[index] == UInt8(ascii: "+") || p[index] == UInt8(ascii: "-")) { index += 1 }
            guard index < p.count, isDigit(p[index]) else { throw error("bad number") }
            while index < p.count && isDigit(p[index]) { index += 1 }
        }
    }

    mutating func scanLiteral(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard index + n <= p.count else { throw error("unexpected end of text") }
        for k in 0..<n where p[index + k] != word.utf8Start[k] { throw error("unexpected character") }
        index += n
    }

    @inline(__always)
    mutating func expect(_ c: UInt8, _ what: String) throws {
        skipWhitespace()
        guard index < p.count, p[index] == c else {
            throw error(index < p.count ? "expected \(what)" : "unexpected end of text, expected \(what)")
        }
        index += 1
    }

    /// Skips one value of any depth, validating it; nesting is followed with a small stack, not recursion.
    public mutating func skipValue() throws {
        var stack: [UInt8] = []
        value: while true {
            skipWhitespace()
            guard index < p.count else { throw error("unexpected end of text") }
            switch p[index] {
            case 0x22: _ = try scanString()
            case UInt8(ascii: "{"):
                index += 1
                skipWhitespace()
                if index < p.count && p[index] == UInt8(ascii: "}") {
                    index += 1
                } else {
                    stack.append(UInt8(ascii: "}"))
                    try scanKey()
                    continue value
                }
            case UInt8(ascii: "["):
                index += 1
                skipWhitespace()
                if index < p.count && p[index] == UInt8(ascii: "]") {
                    index += 1
                } else {
                    stack.append(UInt8(ascii: "]"))
                    continue value
                }
            case UInt8(ascii: "-"), 0x30...0x39: try scanNumber()
            case UInt8(ascii: "t"): try scanLiteral("true")
            case UInt8(ascii: "f"): try scanLiteral("false")
            case UInt8(ascii: "n"): try scanLiteral("null")
            default: throw error("unexpected character")
            }
            // After a value: close containers or move to the next element.
            while let close = stack.last {
                skipWhitespace()
                guard index < p.count else { throw error("unexpected end of text") }
                let c = p[index]
                if c == close {
                    index += 1
                    stack.removeLast()
                } else if c == UInt8(ascii: ",") {
                    index += 1
                    if close == UInt8(ascii: "}") { try scanKey() }
                    continue value
                } else {
                    throw error(close == UInt8(ascii: "}") ? "expected ',' or '}'" : "expected ',' or ']'")
                }
            }
            return
        }
    }

    /// Scans `"key" :` and returns the key's span.
    @discardableResult
    mutating func scanKey() throws -> (start: Int, end: Int, escaped: Bool) {
        skipWhitespace()
        guard index < p.count, p[index] == 0x22 else { throw error("expected a string key") }
        let key = try scanString()
        try expect(UInt8(ascii: ":"), "':'")
        return key
    }

    /// Parses a value into a tree; deeper than `JSON.maxDepth` is an error.
    public mutating func parseValue(depth: Int) throws -> JSONValue {
        skipWhitespace()
        guard index < p.count else { throw error("unexpected end of text") }
        switch p[index] {
        case 0x22:
            let s = try scanString()
            return .string(JSON.string(fromContent: UnsafeBufferPointer(rebasing: p[s.start..<s.end]), escaped: s.escaped))
        case UInt8(ascii: "{"):
            guard depth < JSON.maxDepth else { throw error("nested deeper than \(JSON.maxDepth)") }
            index += 1
            var members: [JSONMember] = []
            skipWhitespace()
            if index < p.count && p[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                let k = try scanKey()
                let key = JSON.string(fromContent: UnsafeBufferPointer(rebasing: p[k.start..<k.end]), escaped: k.escaped)
                members.append(JSONMember(key, try parseValue(depth: depth + 1)))
                skipWhitespace()
                guard index < p.count else { throw error("unexpected end of text") }
                if p[index] == UInt8(ascii: ",") { index += 1; continue }
                if p[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            guard depth < JSON.maxDepth else { throw error("nested deeper than \(JSON.maxDepth)") }
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if index < p.count && p[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                items.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard index < p.count else { throw error("unexpected end of text") }
                if p[index] == UInt8(ascii: ",") { index += 1; continue }
                if p[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "-"), 0x30...0x39:
            let start = index
            try scanNumber()
            return .number(String(decoding: UnsafeBufferPointer(rebasing: p[start..<index]), as: UTF8.self))
        case UInt8(ascii: "t"): try scanLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try scanLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try scanLiteral("null"); return .null
        default: throw error("unexpected character")
        }
    }
}

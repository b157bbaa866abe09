/// One JSON object, kept as its own bytes plus the spans of its fields.
///
/// Fields a tool does not touch are never decoded: they are written back byte for byte, in order.
/// A field a tool sets is encoded once and appended to the storage.
public struct Record {
    public struct Field {
        /// The key's contents between the quotes, still escaped.
        var keyStart: Int
        var keyEnd: Int
        var keyEscaped: Bool
        /// The value's JSON text.
        var valueStart: Int
        var valueEnd: Int
    }

    private(set) var storage: [UInt8]
    public private(set) var fields: [Field]

    public init() {
        storage = []
        fields = []
    }

    /// A record with these fields, in this order.
    public init(_ members: [JSONMember]) {
        self.init()
        for member in members { set(member.key, member.value) }
    }

    /// Parses one line holding a JSON object. The caller has checked that the bytes are UTF-8.
    public init(parsing line: UnsafeBufferPointer<UInt8>) throws {
        storage = Array(line)
        fields = []
        let parsed: [Field] = try storage.withUnsafeBufferPointer { p in
            var fields: [Field] = []
            fields.reserveCapacity(8)
            var s = JSONScanner(p)
            s.skipWhitespace()
            guard s.index < p.count, p[s.index] == UInt8(ascii: "{") else {
                if s.index < p.count && p[s.index] == UInt8(ascii: "[") {
                    throw JSONSyntaxError(offset: s.index, message: "expected an object, found an array")
                }
                var probe = s
                if (try? probe.skipValue()) != nil {
                    throw JSONSyntaxError(offset: s.index, message: "expected an object, found a scalar")
                }
                throw JSONSyntaxError(offset: s.index, message: "expected an object")
            }
            s.index += 1
            s.skipWhitespace()
            if s.index < p.count && p[s.index] == UInt8(ascii: "}") {
                s.index += 1
            } else {
                while true {
                    let key = try s.scanKey()
                    s.skipWhitespace()
                    let valueStart = s.index
                    try s.skipValue()
                    fields.append(Field(keyStart: key.start, keyEnd: key.end, keyEscaped: key.escaped,
                                        valueStart: valueStart, valueEnd: s.index))
                    s.skipWhitespace()
                    guard s.index < p.count else { throw JSONSyntaxError(offset: s.index, message: "unexpected end of line, expected ',' or '}'") }
                    if p[s.index] == UInt8(ascii: ",") { s.index += 1; continue }
                    if p[s.index] == UInt8(ascii: "}") { s.index += 1; break }
                    throw JSONSyntaxError(offset: s.index, message: "expected ',' or '}'")
                }
            }
            s.skipWhitespace()
            if s.index != p.count { throw JSONSyntaxError(offset: s.index, message: "unexpected text after the object") }
            return fields
        }
        fields = parsed
    }

    public var count: Int { fields.count }
    /// The size of the record's JSON text.
    public var byteCount: Int { storage.count }

    // MARK: Looking up

    /// The index of the field named `key` (the last one, if the object repeats it, as JSON parsers do).
    public func index(of key: String) -> Int? {
        var key = key
        return key.withUTF8 { k in
            storage.withUnsafeBufferPointer { p in
                var found: Int?
                for (i, f) in fields.enumerated() {
                    if f.keyEscaped {
                        if JSON.string(fromContent: UnsafeBufferPointer(rebasing: p[f.keyStart..<f.keyEnd]), escaped: true).utf8.elementsEqual(k) { found = i }
                    } else if f.keyEnd - f.keyStart == k.count,
                              k.count == 0 || memcmp(p.baseAddress! + f.keyStart, k.baseAddress!, k.count) == 0 {
                        found = i
                    }
                }
                return found
            }
        }
    }

    public func key(at i: Int) -> String {
        let f = fields[i]
        return storage.withUnsafeBufferPointer { JSON.string(fromContent: UnsafeBufferPointer(rebasing: $0[f.keyStart..<f.keyEnd]), escaped: f.keyEscaped) }
    }

    public var keys: [String] { fields.indices.map(key(at:)) }

    /// The value's JSON text, as read.
    public func withRawValue<R>(at i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let f = fields[i]
        return try storage.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[f.valueStart..<f.valueEnd])) }
    }

    public func rawValue(at i: Int) -> [UInt8] { withRawValue(at: i) { Array($0) } }

    /// The first byte of the value's JSON text, which tells its type: `"` string, `[` array, `{` object...
    public func valueTag(at i: Int) -> UInt8 { storage[fields[i].valueStart] }

    public func value(at i: Int) -> JSONValue {
        // The span was validated when it was read or written.
        withRawValue(at: i) { (try? JSONValue(parsing: $0)) ?? .null }
    }

    public subscript(key: String) -> JSONValue? {
        index(of: key).map(value(at:))
    }

    /// Calls `body` with the UTF-8 bytes of the string at `i` (unescaped), or returns nil when the value is not a string.
    public func withStringBytes<R>(at i: Int, scratch: inout [UInt8], _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        let f = fields[i]
        guard storage[f.valueStart] == 0x22 else { return nil }
        return try storage.withUnsafeBufferPointer { p in
            let content = UnsafeBufferPointer(rebasing: p[(f.valueStart + 1)..<(f.valueEnd - 1)])
            if !content.contains(0x5C) { return try body(content) }
            scratch.removeAll(keepingCapacity: true)
            JSON.unescape(content, into: &scratch)
            return try scratch.withUnsafeBufferPointer { try body($0) }
        }
    }

    /// The string at `i`, or nil when the value is not a string.
    public func string(at i: Int) -> String? {
        var scratch: [UInt8] = []
        return withStringBytes(at: i, scratch: &scratch) { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: Changing

    /// Sets `key` to `value`: in place when the field exists, else appended at the end.
    public mutating func set(_ key: String, _ value: JSONValue) {
        var bytes: [UInt8] = []
        value.encode(into: &bytes)
        setRaw(key, bytes)
    }

    /// Sets `key` to an already-encoded JSON value.
    public mutating func setRaw(_ key: String, _ json: [UInt8]) {
        let valueStart = storage.count
        storage.append(contentsOf: json)
        let valueEnd = storage.count
        if let i = index(of: key) {
            fields[i].valueStart = valueStart
            fields[i].valueEnd = valueEnd
        } else {
            let keyRange = appendKey(key)
            fields.append(Field(keyStart: keyRange.lowerBound, keyEnd: keyRange.upperBound, keyEscaped: keyRange.escaped,
                                valueStart: valueStart, valueEnd: valueEnd))
        }
    }

    /// Renames the field at `i`; a different field already named `newKey` is removed.
    public mutating func rename(at i: Int, to newKey: String) {
        var i = i
        if let clash = index(of: newKey), clash != i {
            fields.remove(at: clash)
            if clash < i { i -= 1 }
        }
        let k = appendKey(newKey)
        fields[i].keyStart = k.lowerBound
        fields[i].keyEnd = k.upperBound
        fields[i].keyEscaped = k.escaped
    }

    public mutating func remove(_ key: String) {
        while let i = index(of: key) { fields.remove(at: i) }
    }

    public mutating func remove(at i: Int) { fields.remove(at: i) }

    /// Moves the field at `i` to position `to`.
    public mutating func move(from i: Int, to: Int) {
        let f = fields.remove(at: i)
        fields.insert(f, at: to)
    }

    private mutating func appendKey(_ key: String) -> (lowerBound: Int, upperBound: Int, escaped: Bool) {
        var quoted: [UInt8] = []
        JSON.encodeString(key, into: &quoted)
        let start = storage.count + 1
        storage.append(contentsOf: quoted)
        return (start, storage.count - 1, quoted.contains(0x5C))
    }

    // MARK: Writing

    /// Appends the compact JSON object (no newline).
    public func encode(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        encodeMembers(into: &out, leadingComma: false)
        out.append(UInt8(ascii: "}"))
    }

    /// The members without the braces, `"key":value` joined by commas (and one before the first with
    /// `leadingComma`, to follow other members), leaving out the field at index `skipped`.
    public func encodeMembers(into out: inout [UInt8], leadingComma: Bool, skipping skipped: Int? = nil) {
        storage.withUnsafeBufferPointer { p in
            var comma = leadingComma
            for (n, f) in fields.enumerated() where n != skipped {
                if comma { out.append(UInt8(ascii: ",")) }
                comma = true
                out.append(0x22)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[f.keyStart..<f.keyEnd]))
                out.append(0x22)
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[f.valueStart..<f.valueEnd]))
            }
        }
    }

    public var jsonText: String {
        var out: [UInt8] = []
        encode(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The record as a decoded object.
    public var jsonValue: JSONValue {
        .object(fields.indices.map { JSONMember(key(at: $0), value(at: $0)) })
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Output {
    /// Writes a record as one line of JSON.
    @inline(__always)
    public func write(_ record: Record) throws {
        try append { buffer in
            record.encode(into: &buffer)
            buffer.append(0x0A)
        }
    }
}

import Testing
@testable import FXCore

@Suite struct JSONTests {
    @Test("parses every JSON type")
    func types() throws {
        let v = try JSONValue(parsing: #" {"a": [1, -2.5e3, true, false, null], "b": {"c": "d\n\u00e9\ud83d\ude00"}} "#)
        #expect(v["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]))
        #expect(v["b"]?["c"] == .string("d\né😀"))
    }

    @Test("encodes compactly and escapes what JSON requires", arguments: [
        ("a\"b\\c", #""a\"b\\c""#),
        ("tab\there\nnl", #""tab\there\nnl""#),
        ("\u{01}", #""\u0001""#),
        ("é/😀", "\"é/😀\""),
    ])
    func escaping(text: String, json: String) throws {
        #expect(JSONValue.string(text).jsonText == json)
        #expect(try JSONValue(parsing: json) == .string(text))
    }

    @Test("rejects malformed text with the column", arguments: [
        ("{\"a\":}", 6), ("{\"a\" 1}", 6), ("[1,]", 4), ("\"abc", 5), ("01", 2), ("tru", 1), ("{\"a\":1", 7),
        ("\"\\x\"", 3), ("1.", 3), ("-", 2), ("\"a\u{01}\"", 3),
    ])
    func malformed(text: String, column: Int) {
        #expect {
            try JSONValue(parsing: text)
        } throws: { error in
            (error as? JSONSyntaxError)?.offset == column - 1
        }
    }

    @Test("skipping a deeply nested value uses no recursion")
    func deepSkip() throws {
        let text = String(repeating: "[", count: 300_000) + String(repeating: "]", count: 300_000)
        var bytes = Array(text.utf8)
        try bytes.withUnsafeMutableBufferPointer { p in
            var scanner = JSONScanner(UnsafeBufferPointer(p))
            try scanner.skipValue()
            #expect(scanner.index == p.count)
        }
        let open = Array(String(repeating: "[", count: 300_000).utf8)
        open.withUnsafeBufferPointer { p in
            var scanner = JSONScanner(p)
            #expect(throws: JSONSyntaxError.self) { try scanner.skipValue() }
        }
    }

    @Test("decoding stops at the depth limit instead of overflowing the stack")
    func deepParse() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: text) }
    }

    @Test("UTF-8 validation", arguments: [
        ([0x61, 0x62], nil), ([0xC3, 0xA9], nil), ([0xF0, 0x9F, 0x98, 0x80], nil),
        ([0x61, 0xFF], 1), ([0xC0, 0xAF], 0), ([0xED, 0xA0, 0x80], 0), ([0xE2, 0x82], 0), ([0xF4, 0x90, 0x80, 0x80], 0),
        (Array(repeating: 0x61, count: 17) + [0x80], 17),
    ] as [([UInt8], Int?)])
    func utf8(bytes: [UInt8], invalidAt: Int?) {
        #expect(bytes.withUnsafeBufferPointer(firstInvalidUTF8) == invalidAt)
    }
}

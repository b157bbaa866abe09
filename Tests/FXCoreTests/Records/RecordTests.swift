import Testing
@testable import FXCore

func record(_ text: String) throws -> Record {
    var text = text
    return try text.withUTF8 { try Record(parsing: $0) }
}

@Suite struct RecordTests {
    @Test("fields it does not touch pass through byte for byte and in order")
    func passThrough() throws {
        let line = #"{"id": 7, "x":{"deep":[1, 2.50, "\u00e9"]},"text":"hi"}"#
        let r = try record(line)
        #expect(r.jsonText == #"{"id":7,"x":{"deep":[1, 2.50, "\u00e9"]},"text":"hi"}"#)
        #expect(r.keys == ["id", "x", "text"])
    }

    @Test("rename keeps the position; a clashing field is replaced")
    func rename() throws {
        var r = try record(#"{"input":"old","text":"new","label":"l"}"#)
        r.rename(at: r.index(of: "text")!, to: "input")
        #expect(r.jsonText == #"{"input":"new","label":"l"}"#)
    }

    @Test("set replaces in place or appends; remove drops every copy")
    func setAndRemove() throws {
        var r = try record(#"{"a":1,"b":2}"#)
        r.set("a", .string("x"))
        r.set("c", .array([.bool(true)]))
        #expect(r.jsonText == #"{"a":"x","b":2,"c":[true]}"#)
        r.remove("b")
        #expect(r.jsonText == #"{"a":"x","c":[true]}"#)
    }

    @Test("escaped keys are found by their meaning")
    func escapedKeys() throws {
        let r = try record(#"{"t\u0065xt":"v"}"#)
        #expect(r.index(of: "text") == 0)
        #expect(r.string(at: 0) == "v")
    }

    @Test("strings are unescaped on demand")
    func strings() throws {
        let r = try record(#"{"s":"a\"b\nc","n":3}"#)
        #expect(r.string(at: 0) == "a\"b\nc")
        #expect(r.string(at: 1) == nil)
        #expect(r["n"] == .number("3"))
    }

    @Test("only objects are records", arguments: ["[1]", "3", "\"s\"", "{} x", "{\"a\":1,}", ""])
    func notObjects(text: String) {
        #expect(throws: JSONSyntaxError.self) { try record(text) }
    }
}

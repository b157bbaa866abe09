import Testing
@testable import FXCore

@Suite struct PairSourceTests {
    @Test("JSON Lines fields are renamed in place; others pass through")
    func rename() throws {
        var source = PairSource()
        source.inputField = "text"
        source.targetField = "label"
        let pair = try source.pair(fromRecord: record(#"{"id":1,"text":"t","label":"l"}"#))
        #expect(pair.jsonText == #"{"id":1,"input":"t","target":"l"}"#)
    }

    @Test("targets: numbers and booleans become text, arrays of strings are multi-label")
    func targets() throws {
        let source = PairSource()
        #expect(try source.pair(fromRecord: record(#"{"input":"a","target":5}"#)).jsonText == #"{"input":"a","target":"5"}"#)
        #expect(try source.pair(fromRecord: record(#"{"input":"a","target":["x","y"]}"#)).jsonText == #"{"input":"a","target":["x","y"]}"#)
        #expect(throws: FXError.self) { try source.pair(fromRecord: record(#"{"input":"a","target":[1]}"#)) }
        #expect(throws: FXError.self) { try source.pair(fromRecord: record(#"{"input":"a","target":null}"#)) }
        #expect(throws: FXError.self) { try source.pair(fromRecord: record(#"{"input":5,"target":"x"}"#)) }
        #expect(throws: FXError.self) { try source.pair(fromRecord: record(#"{"target":"x"}"#)) }
    }

    @Test("the folder that holds a document is its label; --label-depth counts from the top")
    func folders() throws {
        var source = PairSource()
        let doc = Document(path: "news/sport/uk/a.txt", text: "goal")
        #expect(try source.pair(fromDocument: doc).jsonText == #"{"input":"goal","target":"uk","path":"news/sport/uk/a.txt"}"#)
        source.labelDepth = 2
        #expect(try source.pair(fromDocument: doc)["target"] == .string("sport"))
        source.labelDepth = 4
        #expect(throws: FXError.self) { try source.pair(fromDocument: doc) }
        #expect(throws: FXError.self) { try PairSource().pair(fromDocument: Document(path: "top.txt", text: "x")) }
    }

    @Test("table rows: default columns by name, others pass through")
    func table() throws {
        var out: [String] = []
        let doc = Document(path: "t.csv", text: "id,label,text\n1,pos,good\n2,neg,bad\n")
        try PairSource().pairs(fromTable: doc, delimiter: UInt8(ascii: ","), place: "t.csv", policy: ErrorPolicy(.fail, tool: "t")) { r, _ in
            out.append(r.jsonText)
        }
        #expect(out == [#"{"input":"good","target":"pos","id":"1"}"#, #"{"input":"bad","target":"neg","id":"2"}"#])
    }
}

@Suite struct ParallelTextTests {
    @Test("suffixes and folders pair files; lines align; blank lines are passed over")
    func align() throws {
        var p = ParallelText(source: "en", target: "fr")
        try p.add(Document(path: "d.fr", text: "un\n\ntrois"))
        try p.add(Document(path: "x/en/f.txt", text: "hello"))
        try p.add(Document(path: "d.en", text: "one\ntwo\nthree"))
        try p.add(Document(path: "x/fr/f.txt", text: "bonjour"))
        var out: [String] = []
        try p.forEachPair(policy: ErrorPolicy(.fail, tool: "t")) { r, _ in out.append("\(r["input"]!.stringValue!)=\(r["target"]!.stringValue!)") }
        #expect(out == ["one=un", "three=trois", "hello=bonjour"])
    }

    @Test("different lengths and missing counterparts are data errors")
    func mismatch() throws {
        var p = ParallelText(source: "en", target: "fr")
        try p.add(Document(path: "a.en", text: "1\n2"))
        try p.add(Document(path: "a.fr", text: "1"))
        #expect(throws: FXError.self) { try p.forEachPair(policy: ErrorPolicy(.fail, tool: "t")) { _, _ in } }
        var q = ParallelText(source: "en", target: "fr")
        try q.add(Document(path: "b.en", text: "1"))
        #expect(throws: FXError.self) { try q.forEachPair(policy: ErrorPolicy(.fail, tool: "t")) { _, _ in } }
        #expect(throws: FXError.self) { try q.add(Document(path: "c.de", text: "1")) }
    }
}

@Suite struct PairFormatTests {
    @Test("each format's shape, with other fields after it", arguments: [
        (PairFormat.fx, #"{"input":"q","target":"a","id":1}"#),
        (.openai, #"{"messages":[{"role":"system","content":"S"},{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"id":1}"#),
        (.promptCompletion, #"{"prompt":"q","completion":"a","id":1}"#),
        (.alpaca, #"{"instruction":"I","input":"q","output":"a","id":1}"#),
        (.translation, #"{"translation":{"en":"q","fr":"a"},"id":1}"#),
    ])
    func shapes(format: PairFormat, expected: String) throws {
        var r = try record(#"{"input":"q","target":"a","id":1}"#)
        var settings = PairFormat.Settings()
        settings.system = "S"
        settings.instruction = "I"
        format.apply(to: &r, settings)
        #expect(r.jsonText == expected)
    }

    @Test("a multi-label target becomes one comma-separated answer outside fx")
    func multiLabel() throws {
        var r = try record(#"{"input":"q","target":["a","b"]}"#)
        PairFormat.promptCompletion.apply(to: &r, PairFormat.Settings())
        #expect(r.jsonText == #"{"prompt":"q","completion":"a, b"}"#)
    }
}

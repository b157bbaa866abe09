import Testing
@testable import FXCore

/// Reads every line of `bytes` through a LineReader with a small buffer, so growing and compacting are exercised.
func readLines(_ bytes: [UInt8], capacity: Int = 8) throws -> [(String, Int)] {
    let reader = LineReader(MemorySource(bytes), capacity: capacity)
    var out: [(String, Int)] = []
    while let line = try reader.next() { out.append((String(decoding: line, as: UTF8.self), reader.lineNumber)) }
    return out
}

@Suite struct LineReaderTests {
    @Test("splits on LF and drops a CR before it")
    func crlf() throws {
        let lines = try readLines(Array("a\r\nbb\nccc\r\n".utf8))
        #expect(lines.map(\.0) == ["a", "bb", "ccc"])
        #expect(lines.map(\.1) == [1, 2, 3])
    }

    @Test("a last line without newline is still a line")
    func lastLine() throws {
        #expect(try readLines(Array("x\ny".utf8)).map(\.0) == ["x", "y"])
    }

    @Test("a byte order mark at the start is skipped, elsewhere kept")
    func bom() throws {
        let lines = try readLines([0xEF, 0xBB, 0xBF] + Array("a\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("b".utf8))
        #expect(lines[0].0 == "a")
        #expect(Array(lines[1].0.utf8) == [0xEF, 0xBB, 0xBF, 0x62])
    }

    @Test("blank lines are returned and counted, so line numbers stay right")
    func blank() throws {
        let lines = try readLines(Array("a\n\n  \nb\n".utf8))
        #expect(lines.map(\.0) == ["a", "", "  ", "b"])
        #expect(lines.last?.1 == 4)
    }

    @Test("lines much longer than the buffer", arguments: [1, 7, 8, 9, 100_000])
    func longLines(length: Int) throws {
        let long = String(repeating: "x", count: length)
        let lines = try readLines(Array("\(long)\nshort\n\(long)".utf8))
        #expect(lines.map(\.0) == [long, "short", long])
    }

    @Test("an empty stream has no lines")
    func empty() throws {
        #expect(try readLines([]).isEmpty)
    }
}

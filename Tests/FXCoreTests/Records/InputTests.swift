import Testing
import Foundation
@testable import FXCore

@Suite struct InputTests {
    @Test("inputs are detected by their first bytes", arguments: [
        ([0x1F, 0x8B, 0x08], InputKind.archive), (Array("PK\u{03}\u{04}".utf8), .archive), (Array("!<arch>\n".utf8), .archive),
        ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], .archive), ([0x28, 0xB5, 0x2F, 0xFD], .archive),
        (Array("  \n{\"a\":1}".utf8), .jsonLines), ([0xEF, 0xBB, 0xBF] + Array("{}".utf8), .jsonLines),
        (Array("hello {".utf8), .text), (Array(repeating: 0x20, count: 257) + Array("ustar".utf8), .archive),
    ])
    func detection(bytes: [UInt8], kind: InputKind) {
        #expect(InputKind.detect(bytes) == kind)
    }

    @Test("a folder is walked in name order; its files are documents with their paths")
    func folder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fx-input-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("b/c"), withIntermediateDirectories: true)
        try "two\n".write(to: dir.appendingPathComponent("b/c/2.txt"), atomically: true, encoding: .utf8)
        try "one".write(to: dir.appendingPathComponent("b/1.txt"), atomically: true, encoding: .utf8)
        try Data([0, 1, 2]).write(to: dir.appendingPathComponent("b/bin"))
        let reader = InputReader(policy: ErrorPolicy(.fail, tool: "test"))
        var seen: [String] = []
        try reader.forEach([dir.path]) { item, _ in
            guard case .document(let d) = item else { Issue.record("expected a document"); return }
            seen.append("\(d.path.dropFirst(dir.path.count + 1))=\(d.text)")
        }
        #expect(seen == ["b/1.txt=one", "b/c/2.txt=two"])
        #expect(reader.binarySkipped == 1)
    }

    @Test("compressed names lose their compression suffix")
    func names() {
        #expect(InputReader.strippingCompression("a.jsonl.gz") == "a.jsonl")
        #expect(InputReader.strippingCompression("a.tgz") == "a.tar")
        #expect(InputReader.strippingCompression("plain") == "plain")
    }
}

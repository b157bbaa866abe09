import Foundation
import Testing
@testable import FXCore

@Suite struct BPETests {
    /// The shipped English/French descriptions: real text with accents, punctuation and digits.
    static let texts: [String] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let en = (try? String(contentsOf: root.appendingPathComponent("examples/descriptions.en"), encoding: .utf8)) ?? ""
        let fr = (try? String(contentsOf: root.appendingPathComponent("examples/descriptions.fr"), encoding: .utf8)) ?? ""
        return (en + fr).split(separator: "\n").map(String.init)
    }()

    /// White space collapsed to single spaces, none at the ends.
    func normalized(_ s: String) -> String { s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ") }

    @Test("decoding gives back every real sentence up to white space, and the vocabulary has the size asked")
    func lossless() throws {
        #expect(Self.texts.count == 4000)
        let bpe = try BPETokenizer.learn(Self.texts, size: 2000)
        #expect(bpe.count == 2000)
        var wrong = 0, pieces = 0, characters = 0
        for text in Self.texts {
            let (ids, _) = bpe.encode(text)
            if bpe.decode(ids) != normalized(text) { wrong += 1 }
            pieces += ids.count
            characters += text.unicodeScalars.filter { $0 != " " }.count
        }
        #expect(wrong == 0)
        // Merges do their work: a piece holds more than three characters on average.
        #expect(Double(characters) / Double(pieces) > 3)
    }

    @Test("unseen characters fall back to bytes and come back; sentinels stay whole; specials are left out")
    func fallback() throws {
        let bpe = try BPETokenizer.learn(["the cat sat on the mat", "the cat <extra_id_0> the mat <extra_id_1>"], size: 300)
        for text in ["日本語 the ▁ cat 🐈!", "  spaced\tout \n text ", "", "<extra_id_0> x <extra_id_7>"] {
            let (ids, fallback) = bpe.encode(text)
            #expect(bpe.decode(ids) == normalized(text))
            #expect(ids.allSatisfy { $0 >= 4 && Int($0) < bpe.count })
            if text.hasPrefix("日本") { #expect(fallback == 6) }
        }
        let sentinel = bpe.encode("<extra_id_1>").ids
        #expect(sentinel.count == 1 && bpe.pieces[Int(sentinel[0])] == "\u{2581}<extra_id_1>")
        // <extra_id_7> was never seen: plain text, several pieces.
        #expect(bpe.encode("<extra_id_7>").ids.count > 1)
        #expect(bpe.decode([BPETokenizer.start] + bpe.encode("the cat").ids + [BPETokenizer.end, BPETokenizer.pad]) == "the cat")
    }

    @Test("the same text gives the same merges; JSON round trip; a vocabulary smaller than the characters is refused")
    func stable() throws {
        let a = try BPETokenizer.learn(Self.texts.prefix(500), size: 800), b = try BPETokenizer.learn(Self.texts.prefix(500), size: 800)
        #expect(a.pieces == b.pieces)
        let c = try BPETokenizer(json: try JSONValue(parsing: a.json.jsonText))
        #expect(c.pieces == a.pieces && c.encode(Self.texts[3]).ids == a.encode(Self.texts[3]).ids)
        #expect(throws: FXError.self) { try BPETokenizer.learn(Self.texts, size: 270) }
    }
}

/// fx-mask's work: self-supervised examples from unlabeled text, each document on its own.
///
/// Every random choice for a document derives from the seed, the document's text and the copy number only, so
/// masking a corpus in parts and concatenating gives the same bytes as masking it whole.
public final class Masker {
    public enum Mode: String, CaseIterable, Sendable {
        /// BERT: single words masked, replaced or kept.
        case token
        /// T5: spans replaced by sentinels.
        case span
        /// Causal: the next word after a window of context.
        case next
    }

    public struct Settings {
        public var mode = Mode.token
        public var rate = 0.15
        public var maskToken = "[MASK]"
        /// Shares of selected words that become the mask token, a random word, or stay.
        public var replace = (mask: 0.8, random: 0.1, keep: 0.1)
        public var maskPunctuation = false
        public var joint = false
        public var meanSpan = 3.0
        public var minContext = 1
        public var window = 16
        public var stride = 1
        public var copies = 1
        public var minWords = 2
        /// Token and span modes mask longer documents in consecutive pieces of at most this many words; 0: whole.
        public var maxWords = 512
        public var textField = "text"
        public var lowercase = false
        public var seed: UInt64 = 0
        /// Words the 10% random replacements are drawn from; nil draws them from the document itself.
        public var vocabulary: [String]?
        public init() {}
    }

    /// What the run did, for the summary on stderr.
    public struct Stats {
        public var documents = 0
        public var shortDocuments = 0
        public var examples = 0
        public var words = 0
        public var selected = 0
        public var masked = 0
        public var randomized = 0
        public var kept = 0
        /// Pieces in which no word was drawn at the rate, so one was selected anyway.
        public var forced = 0

        /// Two workers' counts together.
        static func + (a: Stats, b: Stats) -> Stats {
            Stats(documents: a.documents + b.documents, shortDocuments: a.shortDocuments + b.shortDocuments,
                  examples: a.examples + b.examples, words: a.words + b.words, selected: a.selected + b.selected,
                  masked: a.masked + b.masked, randomized: a.randomized + b.randomized, kept: a.kept + b.kept,
                  forced: a.forced + b.forced)
        }
    }

    private let settings: Settings
    private let tokenizer: Tokenizer
    private let output: Output
    private let maskToken: [UInt8]
    private let vocabulary: [[UInt8]]
    public private(set) var stats = Stats()

    // Buffers reused from one document to the next.
    private var text = TokenizedText()
    private var scratch: [UInt8] = []
    private var rest: [UInt8] = []
    private var candidates: [Int] = []
    private var replacement: [UInt8] = []

    public init(_ settings: Settings, output: Output) {
        self.settings = settings
        self.output = output
        self.tokenizer = Tokenizer(lowercase: settings.lowercase)
        var mask: [UInt8] = []
        var token = settings.maskToken
        token.withUTF8 { TokenizedText.appendEscaped($0, to: &mask) }
        self.maskToken = mask
        self.vocabulary = (settings.vocabulary ?? []).map { word in
            var escaped: [UInt8] = []
            var w = word
            w.withUTF8 { TokenizedText.appendEscaped($0, to: &escaped) }
            return escaped
        }
    }

    /// Makes the examples of one document record and writes them.
    public func mask(_ record: Record) throws {
        guard let field = record.index(of: settings.textField) else { throw FXError.data("no field '\(settings.textField)'") }
        var seedHash = StableHash(seed: settings.seed)
        let isString = record.withStringBytes(at: field, scratch: &scratch) { bytes -> Bool in
            text.fill(bytes, tokenizer: tokenizer)
            seedHash.combine(bytes)
            return true
        }
        guard isString == true else {
            throw FXError.data("field '\(settings.textField)' is \(record.value(at: field).typeName), not a string")
        }
        // The fields passed through: every one but the text, as `,"key":value` bytes.
        rest.removeAll(keepingCapacity: true)
        record.encodeMembers(into: &rest, leadingComma: true, skipping: field)
        stats.documents += 1
        let words = settings.maskPunctuation ? text.count : text.isWord.lazy.filter { $0 }.count
        if words < settings.minWords {
            stats.shortDocuments += 1
            return
        }
        let documentSeed = seedHash.value
        // Pieces of at most maxWords words (the next-word mode has its own window), each masked on its own.
        let whole = text
        let limit = settings.maxWords > 0 && settings.mode != .next ? settings.maxWords : Int.max
        var first = 0, piece: UInt64 = 0
        while first < whole.count {
            var end = first, n = 0
            while end < whole.count {
                if settings.maskPunctuation || whole.isWord[end] {
                    if n == limit { break }
                    n += 1
                }
                end += 1
            }
            if first > 0 || end < whole.count { text = whole.slice(first, end) }
            for copy in 0..<settings.copies where n >= settings.minWords {
                let pieceSeed = documentSeed &+ UInt64(copy) &* 0x9E37_79B9_7F4A_7C15 &+ piece &* 0xD1B5_4A32_D192_ED03
                var rng = SplitMix64(seed: StableHash.mix(pieceSeed))
                switch settings.mode {
                case .token: try maskTokens(using: &rng)
                case .span: try corruptSpans(using: &rng)
                case .next: try nextWords()
                }
            }
            first = end
            piece += 1
        }
    }

    // MARK: token

    private func maskTokens(using rng: inout SplitMix64) throws {
        candidates.removeAll(keepingCapacity: true)
        for i in 0..<text.count where settings.maskPunctuation || text.isWord[i] { candidates.append(i) }
        let n = candidates.count
        stats.words += n
        // round(rate × n) up or down at random, so the expected share is exactly the rate; one word always stays,
        // and one is always selected (a document of two words or more never drops out of the output).
        let exact = settings.rate * Double(n)
        var k = Int(exact)
        if Double.random(in: 0..<1, using: &rng) < exact - Double(k) { k += 1 }
        k = min(k, n - 1)
        guard n >= 2 else { return }
        if k == 0 {
            k = 1
            stats.forced += 1
        }
        for i in 0..<k { candidates.swapAt(i, i + Int.random(in: 0..<(n - i), using: &rng)) }
        var chosen = Array(candidates[0..<k])
        chosen.sort()
        stats.selected += k
        if settings.joint {
            var replacements: [(Int, [UInt8])] = []
            for position in chosen { replacements.append((position, replacementFor(position, using: &rng))) }
            try writeJoint(replacements)
        } else {
            for position in chosen {
                let r = replacementFor(position, using: &rng)
                try writeSingle(position, r)
            }
        }
    }

    /// The mask token, a random word, or the word itself, in the shares of `replace`.
    private func replacementFor(_ position: Int, using rng: inout SplitMix64) -> [UInt8] {
        let u = Double.random(in: 0..<1, using: &rng)
        if u < settings.replace.mask {
            stats.masked += 1
            return maskToken
        }
        if u < settings.replace.mask + settings.replace.random {
            stats.randomized += 1
            let original = text.token(position)
            if !vocabulary.isEmpty {
                for _ in 0..<8 {
                    let w = vocabulary[Int.random(in: 0..<vocabulary.count, using: &rng)]
                    if !w.elementsEqual(original) { return w }
                }
            } else {
                for _ in 0..<8 {
                    let other = candidates[Int.random(in: 0..<candidates.count, using: &rng)]
                    if !text.token(other).elementsEqual(original) { return Array(text.token(other)) }
                }
            }
            return Array(original)
        }
        stats.kept += 1
        return Array(text.token(position))
    }

    private static let inputKey = Array(#"{"input":""#.utf8)
    private static let targetKey = Array(#"","target":"#.utf8)
    private static let positionKey = Array(#","position":"#.utf8)
    private static let positionsKey = Array(#","positions":["#.utf8)

    private func writeSingle(_ position: Int, _ replacement: [UInt8]) throws {
        let t = text
        try writeWordExample(target: position) { out in
            out.append(contentsOf: t.spaced[0..<t.starts[position]])
            out.append(contentsOf: replacement)
            out.append(contentsOf: t.spaced[t.ends[position]...])
        }
    }

    /// Writes `{"input": what `input` appends, "target": token `target`, "position": target, other fields}`.
    private func writeWordExample(target: Int, input: (inout [UInt8]) -> Void) throws {
        let t = text
        try output.append { out in
            out.append(contentsOf: Self.inputKey)
            input(&out)
            out.append(contentsOf: Self.targetKey)
            out.append(0x22)
            out.append(contentsOf: t.token(target))
            out.append(0x22)
            out.append(contentsOf: Self.positionKey)
            out.append(contentsOf: String(target).utf8)
            out.append(contentsOf: rest)
            out.append(UInt8(ascii: "}"))
            out.append(0x0A)
        }
        stats.examples += 1
    }

    private func writeJoint(_ replacements: [(Int, [UInt8])]) throws {
        let t = text
        try output.append { out in
            out.append(contentsOf: Self.inputKey)
            var at = 0
            for (position, r) in replacements {
                out.append(contentsOf: t.spaced[at..<t.starts[position]])
                out.append(contentsOf: r)
                at = t.ends[position]
            }
            out.append(contentsOf: t.spaced[at...])
            out.append(contentsOf: Self.targetKey)
            out.append(UInt8(ascii: "["))
            for (k, (position, _)) in replacements.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                out.append(0x22)
                out.append(contentsOf: t.token(position))
                out.append(0x22)
            }
            out.append(UInt8(ascii: "]"))
            out.append(contentsOf: Self.positionsKey)
            for (k, (position, _)) in replacements.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: String(position).utf8)
            }
            out.append(UInt8(ascii: "]"))
            out.append(contentsOf: rest)
            out.append(UInt8(ascii: "}"))
            out.append(0x0A)
        }
        stats.examples += 1
    }

    // MARK: span

    private func corruptSpans(using rng: inout SplitMix64) throws {
        let n = text.count
        stats.words += n
        let spans = SpanCorruption.layout(tokens: n, rate: settings.rate, meanSpan: settings.meanSpan, using: &rng)
        guard !spans.isEmpty else { return }
        let t = text
        try output.append { out in
            out.append(contentsOf: Self.inputKey)
            var at = 0
            for (k, span) in spans.enumerated() {
                if span.start > at {
                    out.append(contentsOf: t.range(at, span.start))
                    out.append(0x20)
                }
                out.append(contentsOf: SpanCorruption.sentinel(k).utf8)
                at = span.start + span.length
                if at < n { out.append(0x20) }
            }
            out.append(contentsOf: t.range(at, n))
            out.append(contentsOf: Self.targetKey)
            out.append(0x22)
            for (k, span) in spans.enumerated() {
                out.append(contentsOf: SpanCorruption.sentinel(k).utf8)
                out.append(0x20)
                out.append(contentsOf: t.range(span.start, span.start + span.length))
                out.append(0x20)
            }
            out.append(contentsOf: SpanCorruption.sentinel(spans.count).utf8)
            out.append(0x22)
            out.append(contentsOf: rest)
            out.append(UInt8(ascii: "}"))
            out.append(0x0A)
        }
        stats.selected += spans.reduce(0) { $0 + $1.length }
        stats.examples += 1
    }

    // MARK: next

    private func nextWords() throws {
        let n = text.count
        var counted = 0
        for i in stride(from: settings.minContext, to: n, by: 1) where settings.maskPunctuation || text.isWord[i] {
            defer { counted += 1 }
            guard counted % settings.stride == 0 else { continue }
            let from = max(0, i - settings.window)
            let t = text
            try writeWordExample(target: i) { $0.append(contentsOf: t.range(from, i)) }
        }
        stats.words += n
    }

    /// One line for stderr.
    public func summary(_ total: Stats? = nil) -> String {
        let s = total ?? stats
        var line = "\(s.documents) documents -> \(s.examples) examples"
        if s.shortDocuments > 0 { line += " (\(s.shortDocuments) with fewer than \(settings.minWords) words passed over)" }
        func pct(_ a: Int, _ b: Int) -> String { b == 0 ? "0.0%" : String(format1: 100 * Double(a) / Double(b)) + "%" }
        switch settings.mode {
        case .token:
            line += "; selected \(s.selected) of \(s.words) words (\(pct(s.selected, s.words))): \(pct(s.masked, s.selected)) \(settings.maskToken), \(pct(s.randomized, s.selected)) random, \(pct(s.kept, s.selected)) unchanged"
            if s.forced > 0 { line += "; \(s.forced) piece\(s.forced == 1 ? "" : "s") had one word selected although none was drawn at the rate" }
        case .span:
            line += "; \(s.selected) of \(s.words) tokens in spans (\(pct(s.selected, s.words)))"
        case .next:
            break
        }
        return line
    }
}

extension String {
    /// A number with one decimal, without Foundation.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}

extension Masker {
    /// Words from a file: the first field of each line (a word list, a word-count list, or a fastText `.vec`,
    /// whose "COUNT DIM" header line is skipped).
    public static func loadVocabulary(_ path: String) throws -> [String] {
        let reader = LineReader(try FileSource(path: path))
        var words: [String] = []
        while let line = try reader.next() {
            if firstInvalidUTF8(line) != nil { throw FXError.data("invalid UTF-8", at: "\(path):\(reader.lineNumber)") }
            let fields = String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first else { continue }
            if reader.lineNumber == 1, fields.count == 2, Int(first) != nil, Int(fields[1]) != nil { continue }
            words.append(String(first))
        }
        if words.isEmpty { throw FXError.data("no words", at: path) }
        return words
    }
}

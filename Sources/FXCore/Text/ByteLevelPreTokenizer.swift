/// How byte-level BPE cuts text into pieces before merging: the split regexes Hugging Face `tokenizers` runs (with
/// Oniguruma), written out by hand over Unicode scalars. Each one matches somewhere at every position, so the pieces
/// cover the text. `\s` is Unicode's White_Space (tab to carriage return, space, U+0085, U+00A0, U+1680,
/// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000: not U+001C-U+001F, which Python's `isspace` adds),
/// `\p{L}` and `\p{N}` are the general categories L* and N*, checked scalar by scalar against tokenizers 0.23.
enum ByteLevelSplit: Sendable, Equatable {
    /// GPT-2's `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, which
    /// `pre_tokenizers.ByteLevel(use_regex=True)` applies.
    case gpt2
    /// Llama 3's `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    case llama3
    /// Qwen2's: Llama 3's with `\p{N}` (one digit a piece) for `\p{N}{1,3}`.
    case qwen2

    /// The split transformers uses for a GGUF's `tokenizer.ggml.pre` (`GGUF_PRE_TOKENIZER_SPLITS` in
    /// transformers/integrations/gguf/gguf_tokenizer_mapping.py; a name it does not list keeps `GPT2Tokenizer`'s
    /// ByteLevel regex). fx takes only the names below and refuses others rather than guess.
    ///
    /// `smollm` is GPT-2's regex alone. llama.cpp first cuts every `\p{N}` scalar apart (its `smollm` pre-tokenizer
    /// is `\p{N}` then GPT-2's regex without the final `|\s+`), as SmolLM's own tokenizer.json does with a Digits
    /// split. SmolLM2's vocabulary has no token joining an ASCII digit to anything, so the two agree on digits 0-9;
    /// they can differ where a space or another number sits next to a non-ASCII number (" ²", "½²").
    init?(pre: String) {
        switch pre {
        case "gpt2", "smollm": self = .gpt2
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano", "dbrx",
             "smaug-bpe":
            self = .llama3
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez": self = .qwen2
        default: return nil
        }
    }

    // Scalar classes.
    static let other: UInt8 = 0, letter: UInt8 = 1, number: UInt8 = 2, space: UInt8 = 3

    /// The class of each ASCII scalar.
    static let asciiClasses: [UInt8] = (0..<128).map { v in
        switch v {
        case 0x09...0x0D, 0x20: return space
        case 0x30...0x39: return number
        case 0x41...0x5A, 0x61...0x7A: return letter
        default: return other
        }
    }

    /// Letters and numbers that Unicode assigned after the tables of the Oniguruma in tokenizers 0.23 (Unicode 16
    /// and 17 additions that Swift's tables know): tokenizers sees unassigned scalars there, so fx counts them as other.
    static let newerThanOniguruma: [ClosedRange<UInt32>] = [
        0x88F...0x88F, 0xC5C...0xC5C, 0xCDC...0xCDC, 0xA7CE...0xA7CF, 0xA7D2...0xA7D2, 0xA7D4...0xA7D4, 0xA7F1...0xA7F1,
        0x10940...0x10959, 0x10EC5...0x10EC7, 0x11DB0...0x11DDB, 0x11DE0...0x11DE9, 0x16EA0...0x16EB8, 0x16EBB...0x16ED3,
        0x16FF2...0x16FF6, 0x187F8...0x187FF, 0x18D09...0x18D1E, 0x18D80...0x18DF2, 0x1E6C0...0x1E6DE, 0x1E6E0...0x1E6E2,
        0x1E6E4...0x1E6E5, 0x1E6E7...0x1E6ED, 0x1E6F0...0x1E6F4, 0x1E6FE...0x1E6FF, 0x2B73A...0x2B73F, 0x2CEA2...0x2CEAD,
        0x323B0...0x33479,
    ]

    static func classify(_ v: UInt32) -> UInt8 {
        if v < 128 { return asciiClasses[Int(v)] }
        guard let c = Unicode.Scalar(v) else { return other }
        let properties = c.properties
        if properties.isWhitespace { return space }
        let cls: UInt8
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: cls = letter
        case .decimalNumber, .letterNumber, .otherNumber: cls = number
        default: return other
        }
        if v >= 0x88F, v <= 0x33479, newerThanOniguruma.contains(where: { $0.contains(v) }) { return other }
        return cls
    }

    /// Work space for `split`, reused across calls.
    struct Scratch {
        /// Each scalar's class, and the byte offset where it starts (one more entry: the end).
        var classes: [UInt8] = []
        var starts: [Int] = []
    }

    /// Calls `body` with the byte range of each piece of `text` (valid UTF-8), in order.
    func split(_ text: UnsafeBufferPointer<UInt8>, _ scratch: inout Scratch, _ body: (Range<Int>) -> Void) {
        scratch.classes.removeAll(keepingCapacity: true)
        scratch.starts.removeAll(keepingCapacity: true)
        var i = 0
        while i < text.count {
            let b0 = UInt32(text[i])
            scratch.starts.append(i)
            if b0 < 0x80 {
                scratch.classes.append(Self.asciiClasses[Int(b0)])
                i += 1
                continue
            }
            var v: UInt32, length: Int
            if b0 < 0xE0 {
                v = b0 & 0x1F; length = 2
            } else if b0 < 0xF0 {
                v = b0 & 0x0F; length = 3
            } else {
                v = b0 & 0x07; length = 4
            }
            for k in 1..<length where i + k < text.count { v = v << 6 | UInt32(text[i + k] & 0x3F) }
            scratch.classes.append(Self.classify(v))
            i += length
        }
        scratch.starts.append(text.count)
        scratch.classes.withUnsafeBufferPointer { classes in
            scratch.starts.withUnsafeBufferPointer { starts in
                let n = classes.count
                var i = 0
                while i < n {
                    let j: Int
                    switch self {
                    case .gpt2: j = Self.gpt2Match(text, classes, starts, i)
                    case .llama3: j = Self.llamaMatch(text, classes, starts, i, digits: 3)
                    case .qwen2: j = Self.llamaMatch(text, classes, starts, i, digits: 1)
                    }
                    body(starts[i]..<starts[j])
                    i = j
                }
            }
        }
    }

    /// The end of the run of scalars of class `cls` that starts at `i`.
    @inline(__always)
    private static func run(_ classes: UnsafeBufferPointer<UInt8>, _ i: Int, _ cls: UInt8, limit: Int = .max) -> Int {
        var j = i + 1
        while j < classes.count, classes[j] == cls, j - i < limit { j += 1 }
        return j
    }

    /// The end of the match at scalar `i`. `'s` and the like are one byte each, so a scalar is ASCII `x` exactly
    /// when its first byte is `x`.
    private static func gpt2Match(_ text: UnsafeBufferPointer<UInt8>, _ classes: UnsafeBufferPointer<UInt8>,
                                  _ starts: UnsafeBufferPointer<Int>, _ i: Int) -> Int {
        let n = classes.count
        let c = text[starts[i]]
        if c == 0x27, i + 1 < n {  // 's 't 're 've 'm 'll 'd
            let c1 = text[starts[i + 1]]
            if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 { return i + 2 }
            if i + 2 < n {
                let c2 = text[starts[i + 2]]
                if (c1 == 0x72 || c1 == 0x76) && c2 == 0x65 || c1 == 0x6C && c2 == 0x6C { return i + 3 }
            }
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: a space joins the run after it.
        if c == 0x20, i + 1 < n, classes[i + 1] != space { return run(classes, i + 1, classes[i + 1]) }
        if classes[i] != space { return run(classes, i, classes[i]) }
        // `\s+(?!\S)` leaves the last white space before a non-space to the next piece; `\s+` takes a lone one.
        let j = run(classes, i, space)
        if j == n { return n }
        return j - i >= 2 ? j - 1 : j
    }

    private static func llamaMatch(_ text: UnsafeBufferPointer<UInt8>, _ classes: UnsafeBufferPointer<UInt8>,
                                   _ starts: UnsafeBufferPointer<Int>, _ i: Int, digits: Int) -> Int {
        let n = classes.count
        let c = text[starts[i]]
        // `(?i:'s|'t|'re|'ve|'m|'ll|'d)`: Oniguruma folds case by Unicode's rules, so long s (U+017F) is an s.
        if c == 0x27, i + 1 < n {
            func folded(_ k: Int) -> UInt8 {
                let b = text[starts[k]]
                if b == 0xC5, starts[k + 1] - starts[k] == 2, text[starts[k] + 1] == 0xBF { return 0x73 }
                return b >= 0x41 && b <= 0x5A ? b + 32 : b
            }
            let c1 = folded(i + 1)
            if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 { return i + 2 }
            if i + 2 < n {
                let c2 = folded(i + 2)
                if (c1 == 0x72 || c1 == 0x76) && c2 == 0x65 || c1 == 0x6C && c2 == 0x6C { return i + 3 }
            }
        }
        let cls = classes[i]
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if cls == letter { return run(classes, i, letter) }
        if cls != number, c != 0x0D, c != 0x0A, i + 1 < n, classes[i + 1] == letter { return run(classes, i + 1, letter) }
        // `\p{N}{1,3}` (or `\p{N}`)
        if cls == number { return run(classes, i, number, limit: digits) }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var first = -1
        if c == 0x20, i + 1 < n, classes[i + 1] == other { first = i + 1 } else if cls == other { first = i }
        if first >= 0 {
            var j = run(classes, first, other)
            while j < n, text[starts[j]] == 0x0D || text[starts[j]] == 0x0A { j += 1 }
            return j
        }
        // `\s*[\r\n]+`: up to the run's last line break.
        let j = run(classes, i, space)
        var k = j - 1
        while k >= i, text[starts[k]] != 0x0D, text[starts[k]] != 0x0A { k -= 1 }
        if k >= i { return k + 1 }
        // `\s+(?!\S)|\s+`
        if j == n { return n }
        return j - i >= 2 ? j - 1 : j
    }
}

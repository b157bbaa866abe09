import Testing
@testable import FXCore

@Suite struct TokenizerTests {
    @Test("words and punctuation", arguments: [
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("don't stop", ["don't", "stop"]),
        ("command-line tools", ["command-line", "tools"]),
        ("version 3.14, not 3", ["version", "3.14", ",", "not", "3"]),
        ("end.", ["end", "."]),
        ("a -- b", ["a", "-", "-", "b"]),
        ("(x86_64)", ["(", "x86_64", ")"]),
        ("  \t\n ", []),
        ("l’été déjà", ["l’été", "déjà"]),
        ("日本語 テキスト", ["日本語", "テキスト"]),
        ("€5 😀ok", ["€", "5", "😀", "ok"]),
        ("cloud ☁\u{FE0F} 👨\u{200D}👩 x", ["cloud", "☁\u{FE0F}", "👨\u{200D}👩", "x"]),
        ("\u{301}a", ["\u{301}a"]),
    ])
    func split(text: String, tokens: [String]) {
        #expect(Tokenizer().tokens(text) == tokens)
    }

    @Test("lowercasing is an option and follows Unicode")
    func lowercase() {
        #expect(Tokenizer(lowercase: true).tokens("The ÉCOLE, GNU/Linux") == ["the", "école", ",", "gnu", "/", "linux"])
        #expect(Tokenizer().tokens("The") == ["The"])
    }

    @Test("kinds tell words from punctuation")
    func kinds() {
        let kinds = Tokenizer().tokensWithKinds("a, b").map { $0.kind }
        #expect(kinds == [.word, .punctuation, .word])
    }

    @Test("normalized text is the tokens with single spaces")
    func normalized() {
        #expect(Tokenizer().normalized("Hi,  there!\n") == "Hi , there !")
    }
}

@Suite struct HashingTests {
    @Test("the stable hash does not change between runs or versions")
    func stable() {
        var h = StableHash(seed: 0)
        h.combine("abc")
        var again = StableHash(seed: 0)
        again.combine("abc")
        #expect(h.value == again.value)
        // Pinned: FNV-1a 64 of "abc" then MurmurHash3's finaliser, as a Python one-liner computes it. A change here
        // would move every --holdout split, so it must be deliberate.
        #expect(h.value == 0x33EB_AF99_27CB_C5BD)
        var seeded = StableHash(seed: 1)
        seeded.combine("abc")
        #expect(seeded.value == 0x7B9A_ABD9_8F26_26BE)
    }

    @Test("unit interval is in [0, 1)")
    func unit() {
        #expect(StableHash.unitInterval(0) == 0)
        #expect(StableHash.unitInterval(.max) < 1)
    }

    @Test("SplitMix64 repeats its sequence for a seed")
    func splitmix() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        #expect((0..<5).map { _ in a.next() } == (0..<5).map { _ in b.next() })
    }
}

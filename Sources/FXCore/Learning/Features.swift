/// How a text becomes feature rows: its words (by vocabulary id), hashed word n-grams and hashed character
/// n-grams, as fastText does. Rows `0..<buckets` are the hashed n-grams, rows `buckets + id` the words.
public struct FeatureSettings: Hashable, Sendable {
    public var dim = 64
    public var wordNgrams = 2
    public var minn = 0
    public var maxn = 0
    public var buckets = 1 << 18
    public var lowercase = true

    public init() {}

    public var tokenizer: Tokenizer { Tokenizer(lowercase: lowercase) }

    var json: JSONValue {
        .object([JSONMember("dim", JSONValue(dim)), JSONMember("word_ngrams", JSONValue(wordNgrams)), JSONMember("minn", JSONValue(minn)),
                 JSONMember("maxn", JSONValue(maxn)), JSONMember("buckets", JSONValue(buckets)), JSONMember("lowercase", .bool(lowercase))])
    }

    init(json: JSONValue) throws {
        func int(_ key: String) throws -> Int {
            guard let v = json[key]?.intValue else { throw FXError.data("model settings lack '\(key)'") }
            return v
        }
        dim = try int("dim")
        wordNgrams = try int("word_ngrams")
        minn = try int("minn")
        maxn = try int("maxn")
        buckets = try int("buckets")
        lowercase = json["lowercase"] == .bool(true)
        guard let problem = outOfRange else { return }
        throw FXError.data("model settings are out of range: \(problem)")
    }

    /// The largest dimension, bucket count and bucket parameters (buckets x dim: 1 GiB of floats) fx-train takes
    /// and a model may declare.
    public static let maxDim = 1024, maxBuckets = 1 << 26, maxBucketParameters = 1 << 28

    /// What is wrong with the settings, if anything.
    public var outOfRange: String? {
        if dim < 1 || dim > Self.maxDim { return "dim must be 1 to \(Self.maxDim)" }
        if buckets < 1 || buckets > Self.maxBuckets { return "buckets must be 1 to \(Self.maxBuckets)" }
        if buckets * dim > Self.maxBucketParameters { return "buckets x dim must be at most \(Self.maxBucketParameters)" }
        if wordNgrams < 1 || wordNgrams > 16 { return "word n-grams must be 1 to 16" }
        if !((minn == 0 && maxn == 0) || (minn >= 1 && maxn >= minn && maxn <= 64)) { return "minn and maxn must be 0 and 0, or 1 <= minn <= maxn <= 64" }
        return nil
    }
}

/// A token's hash, the same everywhere: n-gram buckets derive from it.
@inline(__always)
func tokenHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var h = StableHash()
    h.combine(bytes)
    return h.value
}

extension FeatureSettings {
    /// Appends the features of a sequence of tokens, given each token's vocabulary id (-1 if unknown), hash, and
    /// (for character n-grams) text.
    func appendFeatures(ids: [Int32], hashes: [UInt64], words: (Int) -> String?, into out: inout [Int32]) {
        let n = ids.count
        let b = UInt64(buckets)
        for i in 0..<n where ids[i] >= 0 { out.append(Int32(buckets) + ids[i]) }
        if wordNgrams >= 2 {
            for i in 0..<n {
                var h = hashes[i]
                for k in 1..<wordNgrams where i + k < n {
                    h = StableHash.mix(h &* 116_049_371 &+ hashes[i + k])
                    out.append(Int32(truncatingIfNeeded: h % b))
                }
            }
        }
        if maxn > 0 {
            for i in 0..<n {
                guard let word = words(i) else { continue }
                let scalars = Array(("<" + word + ">").unicodeScalars)
                for length in minn...maxn where length <= scalars.count {
                    for start in 0...(scalars.count - length) {
                        if length == 1 && (start == 0 || start == scalars.count - 1) { continue }
                        var h = StableHash(seed: 0x6368_6172)  // "char"
                        for s in scalars[start..<(start + length)] { h.combine(UInt64(s.value)) }
                        out.append(Int32(truncatingIfNeeded: h.value % b))
                    }
                }
            }
        }
    }
}

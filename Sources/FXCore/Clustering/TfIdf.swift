/// TF-IDF over the shared tokenizer's lowercased words (two characters or more, stop words left out):
/// sublinear tf (1 + ln tf), smoothed idf (ln((1 + n) / (1 + df)) + 1), L2-normalised, as scikit-learn's
/// `TfidfVectorizer(sublinear_tf=True)`.
public struct TfIdf {
    public private(set) var terms: [String] = []
    public private(set) var termIndex: [String: Int32] = [:]
    public private(set) var idf: [Float] = []
    public var stopWords: Set<String>
    let tokenizer = Tokenizer(lowercase: true)

    public init(stopWords: Set<String> = englishStopWords) { self.stopWords = stopWords }

    /// A vectorizer with known terms and idf (from a saved model).
    public init(terms: [String], idf: [Float], stopWords: Set<String>) {
        self.terms = terms
        self.idf = idf
        self.stopWords = stopWords
        termIndex = Dictionary(uniqueKeysWithValues: terms.enumerated().map { ($1, Int32($0)) })
    }

    /// The words of a text that count as terms.
    func words(_ text: String) -> [String] {
        tokenizer.tokensWithKinds(text).compactMap { token, kind in
            kind == .word && token.unicodeScalars.count >= 2 && !stopWords.contains(token) ? token : nil
        }
    }

    /// Learns the vocabulary and idf from tokenized documents: terms in at least `minDF` documents and at most
    /// `maxDF` of them (a fraction), in alphabetical order.
    public mutating func fit(_ documents: [[String]], minDF: Int, maxDF: Double) {
        var df: [String: Int] = [:]
        for doc in documents { for w in Set(doc) { df[w, default: 0] += 1 } }
        let n = documents.count
        let maxCount = Int((maxDF * Double(n)).rounded(.down))
        terms = df.filter { $0.value >= minDF && $0.value <= max(maxCount, minDF) }.map(\.key).sorted()
        termIndex = Dictionary(uniqueKeysWithValues: terms.enumerated().map { ($1, Int32($0)) })
        idf = terms.map { logf(Float(1 + n) / Float(1 + df[$0]!)) + 1 }
    }

    /// The L2-normalised TF-IDF vector of a tokenized document.
    public func vector(_ words: [String]) -> DocVector {
        var counts: [Int32: Int] = [:]
        for w in words { if let id = termIndex[w] { counts[id, default: 0] += 1 } }
        let ids = counts.keys.sorted()
        var v = DocVector(ids: ids, values: ids.map { (1 + logf(Float(counts[$0]!))) * idf[Int($0)] })
        v.normalize()
        return v
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Topic names by class-based TF-IDF, as BERTopic computes them: each cluster's documents count as one document;
/// a word weighs its frequency in the cluster (as a share of the cluster's words) times log(1 + A / f), where A is
/// the mean number of words per cluster and f the word's frequency in all clusters. The `n` heaviest words name
/// each cluster: the words that most distinguish its documents.
public func classTfIdfTopics(_ documents: [[String]], clusters: [Int], k: Int, top n: Int) -> [[String]] {
    var counts = [[String: Int]](repeating: [:], count: k)
    var total: [String: Int] = [:]
    for (words, c) in zip(documents, clusters) {
        for w in words {
            counts[c][w, default: 0] += 1
            total[w, default: 0] += 1
        }
    }
    let sizes = counts.map { $0.values.reduce(0, +) }
    let mean = Double(sizes.reduce(0, +)) / Double(max(k, 1))
    return (0..<k).map { c in
        let weights = counts[c].map { word, count in
            (word, Double(count) / Double(max(sizes[c], 1)) * log(1 + mean / Double(total[word]!)))
        }
        return weights.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(n).map(\.0)
    }
}

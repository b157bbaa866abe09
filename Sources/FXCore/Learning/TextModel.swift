#if canImport(Glibc)
import Glibc
#endif

/// The output layer's loss.
public enum Loss: String, CaseIterable, Sendable {
    /// Softmax over all labels: few labels.
    case softmax
    /// Negative sampling: many labels.
    case ns
    /// Hierarchical softmax over a Huffman tree of the labels: many labels.
    case hs
    /// One-vs-all: a binary logistic per label, for multi-label targets.
    case ova
}

/// A fastText-class text model: averaged embeddings of words and hashed n-grams, and a linear output layer.
public final class TextModel {
    public let settings: FeatureSettings
    public let loss: Loss
    /// Trained on targets that were arrays: fx-eval then predicts every label over a threshold.
    public internal(set) var multiLabel = false
    public private(set) var words: [String]
    public private(set) var wordIndex: [String: Int32]
    public private(set) var wordHashes: [UInt64]
    public private(set) var labels: [String]
    public private(set) var labelIndex: [String: Int32]
    public private(set) var labelCounts: [Int]

    /// Input rows: `buckets` hashed n-grams, then one per word. Row-major, `dim` floats each.
    public internal(set) var input: [Float]
    /// Output rows: one per label (softmax, ns, ova) or per inner node of the Huffman tree (hs).
    public internal(set) var output: [Float]
    /// Hierarchical softmax: each label's path of inner nodes and the branch taken at each.
    private(set) var paths: [[Int32]] = []
    private(set) var codes: [[Bool]] = []
    /// Hierarchical softmax: each inner node's children (below `labels.count`: leaves), the second on branch `true`.
    private(set) var children: [(Int, Int)] = []
    /// Which hashed n-gram rows the training data used (saved models keep only these); nil: all.
    var touchedBuckets: [Bool]?
    /// Negative sampling: labels repeated in proportion to count^0.5.
    private(set) var negatives: [Int32] = []

    public var dim: Int { settings.dim }
    public var inputRows: Int { input.count / dim }

    /// A new model: input rows drawn uniformly from ±1/dim by `seed`, or all zero (`seed` nil, for loading).
    init(settings: FeatureSettings, loss: Loss, words: [String], labels: [String], labelCounts: [Int], seed: UInt64?) {
        self.settings = settings
        self.loss = loss
        self.words = words
        self.wordIndex = Dictionary(uniqueKeysWithValues: words.enumerated().map { ($1, Int32($0)) })
        self.wordHashes = words.map { w in var w = w; return w.withUTF8 { tokenHash($0) } }
        self.labels = labels
        self.labelIndex = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, Int32($0)) })
        self.labelCounts = labelCounts
        let rows = (settings.buckets + words.count) * settings.dim
        if let seed {
            var rng = SplitMix64(seed: seed)
            let bound = 1 / Float(settings.dim)
            self.input = (0..<rows).map { _ in Float.random(in: -bound...bound, using: &rng) }
        } else {
            self.input = [Float](repeating: 0, count: rows)
        }
        self.output = []
        self.weights = [Float](repeating: 1, count: settings.buckets + words.count)
        buildOutputLayer()
    }

    /// Sizes the output layer for the loss (zeros) and builds the tree or the sampling table.
    private func buildOutputLayer() {
        let rows = loss == .hs ? max(labels.count - 1, 1) : labels.count
        output = [Float](repeating: 0, count: rows * dim)
        if loss == .hs { buildTree() }
        if loss == .ns { buildNegatives() }
    }

    private func buildTree() {
        // Huffman tree over label counts: leaves 0..<n, inner nodes n..<2n-1; inner node k uses output row k - n.
        let n = labels.count
        guard n > 1 else { paths = [[]]; codes = [[]]; return }
        var count = labelCounts.map { max($0, 1) } + [Int](repeating: 0, count: n - 1)
        var parent = [Int](repeating: -1, count: 2 * n - 1)
        var binary = [Bool](repeating: false, count: 2 * n - 1)
        let order = (0..<n).sorted { count[$0] != count[$1] ? count[$0] > count[$1] : $0 < $1 }
        var leaves = order.reversed().makeIterator()  // ascending counts
        var pendingLeaf = leaves.next()
        var inner = n, nextInner = n
        func takeMin() -> Int {
            if let leaf = pendingLeaf, inner >= nextInner || count[leaf] < count[inner] {
                pendingLeaf = leaves.next()
                return leaf
            }
            inner += 1
            return inner - 1
        }
        while nextInner < 2 * n - 1 {
            let a = takeMin(), b = takeMin()
            count[nextInner] = count[a] + count[b]
            parent[a] = nextInner
            parent[b] = nextInner
            binary[b] = true
            children.append((a, b))
            nextInner += 1
        }
        paths = []
        codes = []
        for leaf in 0..<n {
            var path: [Int32] = [], code: [Bool] = []
            var node = leaf
            while parent[node] != -1 {
                path.append(Int32(parent[node] - n))
                code.append(binary[node])
                node = parent[node]
            }
            paths.append(path)
            codes.append(code)
        }
    }

    private func buildNegatives() {
        var table: [Int32] = []
        let weights = labelCounts.map { Double(max($0, 1)).squareRoot() }
        let total = weights.reduce(0, +)
        let size = min(10_000_000, max(labels.count * 100, 100_000))
        for (label, w) in weights.enumerated() {
            let copies = max(1, Int((w / total * Double(size)).rounded()))
            table.append(contentsOf: repeatElement(Int32(label), count: copies))
        }
        var rng = SplitMix64(seed: 0x6E65_67)
        table.shuffle(using: &rng)
        negatives = table
    }

    // MARK: Growing for fine-tuning

    /// The model to fine-tune from this one: its words and embeddings, plus new words (random rows); the labels
    /// are the new data's, and a label the base knows keeps its output row when both losses have one row per
    /// label (softmax, ns, ova); new labels start at zero. Base labels the new data lacks are dropped: the
    /// fine-tuned model chooses among the labels of its own task (the words a self-supervised base predicted
    /// are not sections).
    func extend(words newWords: [String], labels newLabels: [String], labelCounts newCounts: [String: Int], loss newLoss: Loss, seed: UInt64) -> TextModel {
        var allWords = words
        for w in newWords where wordIndex[w] == nil { allWords.append(w) }
        let counts = newLabels.map { newCounts[$0] ?? 0 }
        let model = TextModel(settings: settings, loss: newLoss, words: allWords, labels: newLabels, labelCounts: counts, seed: seed)
        let scale = startingScale
        model.input.replaceSubrange(0..<input.count, with: input.map { $0 * scale })
        model.weights.replaceSubrange(0..<weights.count, with: weights)
        if newLoss == loss && loss != .hs {
            for (j, label) in newLabels.enumerated() {
                guard let old = labelIndex[label] else { continue }
                model.output.replaceSubrange((j * dim)..<((j + 1) * dim), with: output[(Int(old) * dim)..<((Int(old) + 1) * dim)])
            }
        }
        return model
    }

    /// The factor that brings this model's word rows to the mean norm of a new model's random rows (uniform in
    /// ±1/dim: sqrt(dim / 3) / dim), keeping their directions: fine-tuning starts every row, from the base or
    /// new, at the length training from scratch starts at. A self-supervised base's rows are 2 to 5 times longer,
    /// and at that length they let fine-tuning fit less well (bench/README.md: up to 2.4 points on validation).
    var startingScale: Float {
        let d = dim
        let total = input.withUnsafeBufferPointer { rows in
            (settings.buckets..<inputRows).reduce(0.0) { sum, r in
                let row = rows.baseAddress! + r * d
                return sum + Double(dot(row, row, d)).squareRoot()
            }
        }
        let mean = total / Double(max(inputRows - settings.buckets, 1))
        return mean > 0 ? Float((Double(d) / 3).squareRoot() / Double(d) / mean) : 1
    }

    /// Replaces the rows of words found in `vectors` (a `.vec` file's words and values).
    func setWordVectors(_ vectors: [String: [Float]]) -> Int {
        var n = 0
        for (word, v) in vectors where v.count == dim {
            guard let id = wordIndex[word] else { continue }
            let row = (settings.buckets + Int(id)) * dim
            input.replaceSubrange(row..<(row + dim), with: v)
            n += 1
        }
        return n
    }

    // MARK: Features

    /// The feature rows of a text.
    public func features(of text: String) -> [Int32] {
        var ids: [Int32] = [], hashes: [UInt64] = [], tokens: [String] = []
        var text = text
        let keepTokens = settings.maxn > 0
        text.withUTF8 { bytes in
            settings.tokenizer.forEachToken(in: bytes) { token, kind in
                let word = String(decoding: token, as: UTF8.self)
                ids.append(wordIndex[word] ?? -1)
                hashes.append(tokenHash(token))
                if keepTokens { tokens.append(kind == .word ? word : "") }
            }
        }
        var out: [Int32] = []
        settings.appendFeatures(ids: ids, hashes: hashes, words: { keepTokens && !tokens[$0].isEmpty ? tokens[$0] : nil }, into: &out)
        return out
    }

    // MARK: Prediction

    /// The average of the feature rows.
    func hidden(_ features: UnsafeBufferPointer<Int32>, into h: UnsafeMutablePointer<Float>) {
        let d = dim
        for k in 0..<d { h[k] = 0 }
        guard !features.isEmpty else { return }
        var total: Float = 0
        input.withUnsafeBufferPointer { e in
            for f in features {
                let row = e.baseAddress! + Int(f) * d
                let w = self.weights[Int(f)]
                total += w
                for k in 0..<d { h[k] += w * row[k] }
            }
        }
        guard total > 0 else { return }
        let scale = 1 / total
        for k in 0..<d { h[k] *= scale }
    }

    /// Per input row, its weight in the average: its inverse document frequency in the training texts,
    /// log((1 + texts) / (1 + texts with it)) + 1, as scikit-learn's smoothed idf; 1 for rows training never saw.
    /// Frequent words and n-grams count for less, as in TF-IDF.
    public internal(set) var weights: [Float] = []

    /// Sets the weights of the rows these examples use from their document frequencies; other rows keep theirs.
    func setInverseDocumentFrequencies(_ data: FeaturizedData) {
        var df = [Int32](repeating: 0, count: inputRows)
        var seen = Set<Int32>()
        for e in 0..<data.count {
            seen.removeAll(keepingCapacity: true)
            for f in data.features[data.featureRange(e)] where seen.insert(f).inserted { df[Int(f)] += 1 }
        }
        let n = Float(data.count)
        for row in 0..<inputRows where df[row] > 0 { weights[row] = logf((1 + n) / (1 + Float(df[row]))) + 1 }
    }

    /// The document vector of a text: the idf-weighted average of its feature rows.
    public func documentVector(_ text: String) -> [Float] {
        var h = [Float](repeating: 0, count: dim)
        let f = features(of: text)
        h.withUnsafeMutableBufferPointer { hp in f.withUnsafeBufferPointer { hidden($0, into: hp.baseAddress!) } }
        return h
    }

    /// The `k` best labels with their probabilities (softmax, hs) or scores (sigmoid: ns, ova), best first.
    public func predict(features: [Int32], k: Int) -> [(label: Int, score: Float)] {
        var h = [Float](repeating: 0, count: dim)
        h.withUnsafeMutableBufferPointer { hp in features.withUnsafeBufferPointer { hidden($0, into: hp.baseAddress!) } }
        let k = min(k, labels.count)
        guard k > 0 else { return [] }
        if loss == .hs { return predictTree(h, k: k) }
        var scores = [Float](repeating: 0, count: labels.count)
        output.withUnsafeBufferPointer { w in
            for j in 0..<labels.count { scores[j] = dot(w.baseAddress! + j * dim, h) }
        }
        if loss == .softmax {
            let top = scores.max() ?? 0
            var sum: Float = 0
            for j in scores.indices { scores[j] = expf(scores[j] - top); sum += scores[j] }
            for j in scores.indices { scores[j] /= sum }
        } else {
            for j in scores.indices { scores[j] = 1 / (1 + expf(-scores[j])) }
        }
        return topK(scores, k)
    }

    private func topK(_ scores: [Float], _ k: Int) -> [(label: Int, score: Float)] {
        if k == 1, let best = scores.indices.max(by: { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) }) {
            return [(best, scores[best])]
        }
        return scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(k).map { ($0, scores[$0]) }
    }

    /// Best-first search down the Huffman tree, pruning branches that cannot reach the current k-th best.
    private func predictTree(_ h: [Float], k: Int) -> [(label: Int, score: Float)] {
        let n = labels.count
        guard n > 1 else { return [(0, 1)] }
        var best: [(label: Int, score: Float)] = []
        func visit(_ row: Int, _ logp: Float) {
            if best.count == k, logp < best[k - 1].score { return }
            let p = 1 / (1 + expf(-output.withUnsafeBufferPointer { dot($0.baseAddress! + row * dim, h) }))
            for (child, branch) in [(children[row].0, false), (children[row].1, true)] {
                let lp = logp + logf(max(branch ? p : 1 - p, 1e-12))
                if child >= n {
                    visit(child - n, lp)
                } else if best.count < k || lp > best[k - 1].score {
                    best.append((child, lp))
                    best.sort { $0.score > $1.score }
                    if best.count > k { best.removeLast() }
                }
            }
        }
        let root = n - 2
        visit(root, 0)
        return best.map { ($0.label, expf($0.score)) }
    }
}

@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: [Float]) -> Float {
    b.withUnsafeBufferPointer { bp in dot(a, bp.baseAddress!, bp.count) }
}

/// The dot product of n floats: four running sums (k mod 4) in one SIMD register, the rest into the first.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var s = SIMD4<Float>()
    var k = 0
    while k &+ 4 <= n {
        s += ra.loadUnaligned(fromByteOffset: k &* 4, as: SIMD4<Float>.self) * rb.loadUnaligned(fromByteOffset: k &* 4, as: SIMD4<Float>.self)
        k &+= 4
    }
    while k < n {
        s[0] += a[k] * b[k]
        k &+= 1
    }
    return (s[0] + s[1]) + (s[2] + s[3])
}

#if canImport(Glibc)
import Glibc
#endif

/// Generating text with an encoder-decoder: beam search over batches of sources (greedy decoding is a beam of
/// one), one token per step for every live hypothesis at once, with each decoder layer's keys and values cached
/// so a step costs one row per hypothesis, and the encoder's keys and values for cross-attention computed once.
extension Seq2SeqTransformer {
    /// Decodes `sources` (ids) with beams of `beam`; each output is at most `maxLength(source length)` ids.
    /// Finished hypotheses are ranked by their log-probability divided by their length (with the end token).
    public func generate(_ sources: [[Int32]], beam: Int, start: Int32, end: Int32, maxLength: (Int) -> Int) -> [[Int32]] {
        precondition(beam >= 1)
        setTraining(false)
        let n = sources.count
        guard n > 0 else { return [] }
        let w = settings.width, heads = settings.heads, dh = w / heads
        let memory = encode(sources.flatMap { $0 }, lengths: sources.map(\.count))
        var memoryStart = [Int](repeating: 0, count: n)
        for s in 1..<n { memoryStart[s] = memoryStart[s - 1] + sources[s - 1].count }
        // Cross-attention keys and values of every layer, over the whole packed memory.
        let crossKeys = decoder.map { $0.crossAttention!.key.apply(memory) }
        let crossValues = decoder.map { $0.crossAttention!.value.apply(memory) }
        let limits = sources.map { min(maxLength($0.count), settings.maxPositions - 1) }

        // Live hypotheses: their source, tokens so far, score, and per layer the cached keys and values.
        var rowSource = Array(0..<n)
        var tokens: [[Int32]] = Array(repeating: [], count: n)
        var scores = [Float](repeating: 0, count: n)
        var keys: [[[Float]]] = Array(repeating: Array(repeating: [], count: n), count: decoder.count)
        var values = keys
        var finished: [[(tokens: [Int32], score: Float)]] = Array(repeating: [], count: n)
        var done = [Bool](repeating: false, count: n)
        var last = [Int32](repeating: start, count: n)
        var position = 0

        while !rowSource.isEmpty {
            let rows = rowSource.count
            // The new token's embedding at this position.
            var x = embedding.rows(last, position: position)
            for (l, layer) in decoder.enumerated() {
                let attention = layer.selfAttention
                var h = layer.norms[0].apply(x)
                let q = attention.query.apply(h), k = attention.key.apply(h), v = attention.value.apply(h)
                var mixed = Matrix(rows: rows, cols: w)
                for r in 0..<rows {
                    keys[l][r] += k.values[(r * w)..<((r + 1) * w)]
                    values[l][r] += v.values[(r * w)..<((r + 1) * w)]
                    attend(q, r, keys: keys[l][r], 0, values: values[l][r], count: position + 1, heads: heads, dh: dh, into: &mixed)
                }
                x = add(x, attention.output.apply(mixed))
                let cross = layer.crossAttention!
                h = layer.norms[1].apply(x)
                let cq = cross.query.apply(h)
                mixed = Matrix(rows: rows, cols: w)
                for r in 0..<rows {
                    let s = rowSource[r]
                    attend(cq, r, keys: crossKeys[l].values, memoryStart[s], values: crossValues[l].values, count: sources[s].count,
                           heads: heads, dh: dh, into: &mixed)
                }
                x = add(x, cross.output.apply(mixed))
                h = layer.norms[2].apply(x)
                x = add(x, layer.feedForward.down.apply(layer.feedForward.activation.apply(layer.feedForward.up.apply(h))))
            }
            let final = decoderNorm.apply(x)
            var logits = Matrix(rows: rows, cols: settings.vocabulary)
            gemm(final, embedding.tokens.value, transposeB: true, into: &logits)
            logSoftmaxRows(&logits)
            position += 1

            // For each source, the best `beam` continuations of its live hypotheses.
            var next: [(row: Int, token: Int32, score: Float)] = []
            var r = 0
            while r < rows {
                let s = rowSource[r]
                var end_ = r
                while end_ < rows && rowSource[end_] == s { end_ += 1 }
                var candidates: [(row: Int, token: Int32, score: Float)] = []
                for row in r..<end_ {
                    for (token, lp) in topK(logits, row: row, k: beam) { candidates.append((row, token, scores[row] + lp)) }
                }
                candidates.sort { $0.score > $1.score || ($0.score == $1.score && ($0.row, $0.token) < ($1.row, $1.token)) }
                var kept = 0
                for c in candidates where kept < beam {
                    if c.token == end || position >= limits[s] {
                        var t = tokens[c.row]
                        if c.token != end { t.append(c.token) }
                        finished[s].append((t, c.score / Float(t.count + 1)))
                        if finished[s].count >= beam { done[s] = true }
                    } else {
                        next.append(c)
                    }
                    kept += 1
                }
                if done[s] || position >= limits[s] { next.removeAll { rowSource[$0.row] == s }; done[s] = true }
                r = end_
            }
            // The survivors, each taking its parent's cache.
            rowSource = next.map { rowSource[$0.row] }
            tokens = next.map { tokens[$0.row] + [$0.token] }
            scores = next.map(\.score)
            last = next.map(\.token)
            for l in 0..<decoder.count {
                keys[l] = next.map { keys[l][$0.row] }
                values[l] = next.map { values[l][$0.row] }
            }
        }
        return finished.map { hypotheses in hypotheses.max { $0.score < $1.score || ($0.score == $1.score && $0.tokens.count > $1.tokens.count) }?.tokens ?? [] }
    }

    /// One query row's attention over `count` cached key and value rows starting at row `from`, head by head,
    /// written into `out`'s row.
    private func attend(_ q: Matrix, _ r: Int, keys: [Float], _ from: Int, values: [Float], count: Int, heads: Int, dh: Int,
                        into out: inout Matrix) {
        let w = heads * dh
        let scale = 1 / Float(dh).squareRoot()
        var p = [Float](repeating: 0, count: max(count, 1))
        q.values.withUnsafeBufferPointer { qv in
            keys.withUnsafeBufferPointer { kv in
                values.withUnsafeBufferPointer { vv in
                    out.values.withUnsafeMutableBufferPointer { ov in
                        for h in 0..<heads {
                            let qo = r * w + h * dh
                            var top = -Float.infinity
                            for j in 0..<count {
                                let ko = (from + j) * w + h * dh
                                var dot: Float = 0
                                for c in 0..<dh { dot += qv[qo + c] * kv[ko + c] }
                                p[j] = dot * scale
                                top = max(top, p[j])
                            }
                            var sum: Float = 0
                            for j in 0..<count { p[j] = expf(p[j] - top); sum += p[j] }
                            let o = r * w + h * dh
                            for j in 0..<count {
                                let weight = p[j] / sum, vo = (from + j) * w + h * dh
                                for c in 0..<dh { ov[o + c] += weight * vv[vo + c] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The `k` largest values of a row and their columns, largest first.
    private func topK(_ m: Matrix, row: Int, k: Int) -> [(Int32, Float)] {
        var best: [(Int32, Float)] = []
        let base = row * m.cols
        for c in 0..<m.cols {
            let v = m.values[base + c]
            if best.count < k || v > best[best.count - 1].1 {
                var i = best.count
                while i > 0 && best[i - 1].1 < v { i -= 1 }
                best.insert((Int32(c), v), at: i)
                if best.count > k { best.removeLast() }
            }
        }
        return best
    }
}

/// Each row replaced by its log-softmax.
func logSoftmaxRows(_ m: inout Matrix) {
    let n = m.cols
    m.values.withUnsafeMutableBufferPointer { v in
        for r in 0..<m.rows {
            var top = -Float.infinity
            for c in 0..<n { top = max(top, v[r * n + c]) }
            var sum: Float = 0
            for c in 0..<n { sum += expf(v[r * n + c] - top) }
            let log = logf(sum) + top
            for c in 0..<n { v[r * n + c] -= log }
        }
    }
}

/// Applies a text-to-text model to texts: encoded, sorted by length, decoded in batches on `threads` copies of the
/// network at once, returned in the order given.
public final class Translator {
    public let model: Seq2SeqModel
    public var beam = 1
    private let replicas: [Seq2SeqTransformer]
    /// Source tokens per decoding batch.
    static let batchTokens = 1500

    public init(_ model: Seq2SeqModel, threads: Int) {
        self.model = model
        replicas = [model.network] + (1..<max(threads, 1)).map { _ in model.network.copy() }
    }

    public func translate(_ texts: [String]) -> [String] {
        let ids = texts.map { Array(model.tokenizer.encode($0).ids.prefix(model.network.settings.maxPositions)) }
        let results = UnsafeMutableBufferPointer<String>.allocate(capacity: texts.count)
        results.initialize(repeating: "")
        defer { results.deallocate() }
        let replicas = self.replicas, beam = self.beam, tokenizer = model.tokenizer
        forEachBatch(lengthBatches(ids.map(\.count), tokens: Self.batchTokens), threads: replicas.count) { t, batch in
            let outputs = replicas[t].generate(batch.map { ids[$0] }, beam: beam, start: BPETokenizer.start, end: BPETokenizer.end,
                                               maxLength: Seq2SeqModel.outputLimit)
            for (i, out) in zip(batch, outputs) { results[i] = tokenizer.decode(out) }
        }
        return Array(results)
    }
}

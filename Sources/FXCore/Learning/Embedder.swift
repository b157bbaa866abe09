/// Sentence vectors from any model fx reads, scaled to length 1: a BERT-family encoder's pooled output (as its
/// sentence-transformers config says), a text-to-text model's encoder output averaged over the tokens, or the
/// linear model's document vector (the idf-weighted average of its word and n-gram embeddings).
public struct Embedder {
    public let model: FXModel
    /// Where the model was read from (kept by fx-cluster --save).
    public let path: String

    public init(_ path: String) throws {
        model = try FXModel.load(path)
        if case .causal = model {
            throw FXError.data("a causal language model writes text (fx-eval --predict) and has no sentence vectors", at: path)
        }
        self.path = path
    }

    public var dimensions: Int {
        switch model {
        case .linear(let m): return m.dim
        case .seq2seq(let m): return m.network.settings.width
        case .encoder(let m): return m.network.settings.width
        case .causal(let m): return m.width
        }
    }

    /// Each text's vector, in order, on `threads` threads.
    public func embed(_ texts: [String], threads: Int) -> [[Float]] {
        switch model {
        case .encoder(let m):
            return m.embed(texts, threads: threads)
        case .causal:
            preconditionFailure("refused when the embedder was made")
        case .linear(let m):
            return texts.map { text in
                var v = Matrix(rows: 1, cols: m.dim, values: m.documentVector(text))
                normalizeRows(&v)
                return v.values
            }
        case .seq2seq(let m):
            let network = m.network
            let ids = texts.map { Array(m.tokenizer.encode($0).ids.prefix(network.settings.maxPositions)) }
            return batchedRows(ids, threads: threads) { ids, lengths in
                var pooled = Pooling.mean(network.applyEncoder(ids, lengths: lengths), lengths: lengths)
                normalizeRows(&pooled)
                return pooled
            }
        }
    }
}

/// `vectors(ids, lengths)`, one row per packed sequence, over batches of similar length on `threads` threads;
/// the rows come back in the order of `sequences`.
func batchedRows(_ sequences: [[Int32]], threads: Int, _ vectors: (_ ids: [Int32], _ lengths: [Int]) -> Matrix) -> [[Float]] {
    let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: sequences.count)
    results.initialize(repeating: [])
    defer { results.deallocate() }
    forEachBatch(lengthBatches(sequences.map(\.count), tokens: EncoderModel.batchTokens), threads: threads) { _, batch in
        let m = vectors(batch.flatMap { sequences[$0] }, batch.map { sequences[$0].count })
        for (r, i) in batch.enumerated() { results[i] = Array(m.values[(r * m.cols)..<((r + 1) * m.cols)]) }
    }
    return Array(results)
}

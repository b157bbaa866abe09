/// Text pairs kept as token ids, one flat array per side, and cut into batches by token count.
public struct Seq2SeqData {
    public private(set) var source: [Int32] = [], target: [Int32] = []
    private var sourceEnds: [Int] = [], targetEnds: [Int] = []
    /// Pairs whose source or target was cut to fit the model's positions.
    public private(set) var truncated = 0
    public var count: Int { sourceEnds.count }
    public var tokens: Int { source.count + target.count + count }

    public init() {}

    /// Adds a pair, cutting the source to `maxSource` ids and the target to `maxTarget` (the decoder's input
    /// is the start id followed by the target, its output the target followed by the end id).
    public mutating func append(source s: [Int32], target t: [Int32], maxSource: Int, maxTarget: Int) {
        if s.count > maxSource || t.count > maxTarget { truncated += 1 }
        source += s.prefix(maxSource)
        target += t.prefix(maxTarget)
        sourceEnds.append(source.count)
        targetEnds.append(target.count)
    }

    public func source(_ i: Int) -> ArraySlice<Int32> { source[(i == 0 ? 0 : sourceEnds[i - 1])..<sourceEnds[i]] }
    public func target(_ i: Int) -> ArraySlice<Int32> { target[(i == 0 ? 0 : targetEnds[i - 1])..<targetEnds[i]] }

    /// Pairs of similar length grouped into batches of about `tokens` source and target ids each, in an order
    /// drawn from `rng`: pairs are shuffled, sorted by length within windows of a hundred batches, cut, and
    /// the batches shuffled again.
    public func batches(tokens: Int, _ rng: inout SplitMix64) -> [[Int]] {
        var order = Array(0..<count)
        order.shuffle(using: &rng)
        let size = { (i: Int) in source(i).count + target(i).count + 1 }
        var out: [[Int]] = []
        var window: [Int] = []
        var windowTokens = 0
        func cut() {
            window.sort { size($0) < size($1) }
            var batch: [Int] = []
            var n = 0
            for i in window {
                if !batch.isEmpty && n + size(i) > tokens { out.append(batch); batch = []; n = 0 }
                batch.append(i)
                n += size(i)
            }
            if !batch.isEmpty { out.append(batch) }
            window = []
            windowTokens = 0
        }
        for i in order {
            window.append(i)
            windowTokens += size(i)
            if windowTokens >= tokens * 100 { cut() }
        }
        cut()
        out.shuffle(using: &rng)
        return out
    }

    /// Batches in the data's own order, for evaluation.
    public func sequentialBatches(tokens: Int) -> [[Int]] {
        var out: [[Int]] = []
        var batch: [Int] = []
        var n = 0
        for i in 0..<count {
            let size = source(i).count + target(i).count + 1
            if !batch.isEmpty && n + size > tokens { out.append(batch); batch = []; n = 0 }
            batch.append(i)
            n += size
        }
        if !batch.isEmpty { out.append(batch) }
        return out
    }

    /// The packed batch of the given pairs.
    public func batch(_ indices: [Int]) -> Seq2SeqTransformer.Batch {
        var b = Seq2SeqTransformer.Batch(source: [], sourceLengths: [], targetIn: [], targetOut: [], targetLengths: [])
        for i in indices {
            let s = source(i), t = target(i)
            b.source += s
            b.sourceLengths.append(s.count)
            b.targetIn.append(BPETokenizer.start)
            b.targetIn += t
            b.targetOut += t
            b.targetOut.append(BPETokenizer.end)
            b.targetLengths.append(t.count + 1)
        }
        return b
    }
}

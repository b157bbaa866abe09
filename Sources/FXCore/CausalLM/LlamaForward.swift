#if canImport(Glibc)
import Glibc
#endif

/// One sequence's keys and values at every layer, so that each new token attends to the earlier ones without
/// computing them again. Keys are stored after their rotary turn. The storage grows as tokens come, 64 positions at
/// a time, up to `capacity` tokens, so a cache costs about what its sequence has used.
public final class KVCache {
    public let capacity: Int
    public private(set) var count = 0
    let kvWidth: Int
    var keys: [[Float]], values: [[Float]]

    public init(_ config: LlamaModel.Config, capacity: Int) {
        self.capacity = capacity
        kvWidth = config.kvWidth
        keys = [[Float]](repeating: [], count: config.layers)
        values = keys
    }

    /// Room for `tokens` more positions in every layer.
    func reserve(_ tokens: Int) {
        let needed = (count + tokens) * kvWidth
        guard keys[0].count < needed else { return }
        let size = min(max(needed, keys[0].count + 64 * kvWidth), capacity * kvWidth)
        for l in keys.indices {
            keys[l].append(contentsOf: repeatElement(0, count: size - keys[l].count))
            values[l].append(contentsOf: repeatElement(0, count: size - values[l].count))
        }
    }

    /// The cache after `tokens` more positions (once every layer has stored them).
    func advance(_ tokens: Int) { count += tokens }
}

/// Which positions' logits a forward pass returns.
public enum LogitRows {
    /// The last new token of each sequence (generation).
    case last
    /// Every new token (perplexity).
    case all
}

extension LlamaModel {
    /// Runs `tokens[s]` (new tokens of sequence s, after those already in `caches[s]`) through the network, stores
    /// their keys and values in the caches, and returns the logits of the rows asked for, (rows x vocabulary),
    /// in sequence order. All sequences' tokens go through each projection as one matrix product (packed, no
    /// padding); attention is per sequence, and the query heads that share a key/value head read it in place.
    public func forward(_ tokens: [[Int32]], caches: [KVCache], rows: LogitRows = .last) -> [Float] {
        precondition(tokens.count == caches.count)
        let c = config, w = c.width, qw = c.queryWidth, kvw = c.kvWidth, ff = c.feedForward
        let m = tokens.reduce(0) { $0 + $1.count }
        guard m > 0 else { return [] }
        for (s, t) in tokens.enumerated() {
            precondition(caches[s].count + t.count <= caches[s].capacity, "KV cache full")
            caches[s].reserve(t.count)
        }
        var x = [Float](repeating: 0, count: m * w)
        x.withUnsafeMutableBufferPointer { xb in
            embeddings.withUnsafeBufferPointer { e in
                var r = 0
                for seq in tokens {
                    for id in seq {
                        (xb.baseAddress! + r * w).update(from: e.baseAddress! + Int(id) * w, count: w)
                        r += 1
                    }
                }
            }
        }
        // Each new token's position, and its rotary cosines and sines (shared by every layer and head).
        var positions: [Int] = []
        positions.reserveCapacity(m)
        for (s, seq) in tokens.enumerated() { positions.append(contentsOf: caches[s].count..<(caches[s].count + seq.count)) }
        let pairs = c.ropeDims / 2
        var cosines = [Float](repeating: 0, count: m * pairs), sines = cosines
        for (r, p) in positions.enumerated() {
            for i in 0..<pairs {
                let angle = Float(p) * inverseFrequencies[i]
                cosines[r * pairs + i] = cos(angle)
                sines[r * pairs + i] = sin(angle)
            }
        }

        var h = [Float](repeating: 0, count: m * w)
        var q = [Float](repeating: 0, count: m * qw), k = [Float](repeating: 0, count: m * kvw), v = k
        var mixed = [Float](repeating: 0, count: m * qw)
        var gate = [Float](repeating: 0, count: m * ff), up = gate
        var scores: [Float] = []
        for (l, block) in blocks.enumerated() {
            rmsNorm(x, block.attentionNorm, into: &h, rows: m)
            project(h, m, block.query, qw, into: &q)
            project(h, m, block.key, kvw, into: &k)
            project(h, m, block.value, kvw, into: &v)
            rotate(&q, rows: m, heads: c.heads, cosines, sines)
            rotate(&k, rows: m, heads: c.kvHeads, cosines, sines)
            var r = 0
            for (s, seq) in tokens.enumerated() {
                let cache = caches[s], start = cache.count
                k.withUnsafeBufferPointer { kb in
                    cache.keys[l].withUnsafeMutableBufferPointer { dst in
                        (dst.baseAddress! + start * kvw).update(from: kb.baseAddress! + r * kvw, count: seq.count * kvw)
                    }
                }
                v.withUnsafeBufferPointer { vb in
                    cache.values[l].withUnsafeMutableBufferPointer { dst in
                        (dst.baseAddress! + start * kvw).update(from: vb.baseAddress! + r * kvw, count: seq.count * kvw)
                    }
                }
                attend(q, row: r, count: seq.count, cache, layer: l, into: &mixed, scores: &scores)
                r += seq.count
            }
            // x += mixed · Woᵀ, then the feed-forward: x += (silu(h Wgᵀ) ⊙ h Wuᵀ) Wdᵀ.
            project(mixed, m, block.output, w, into: &x, accumulate: true)
            rmsNorm(x, block.feedForwardNorm, into: &h, rows: m)
            project(h, m, block.gate, ff, into: &gate)
            project(h, m, block.up, ff, into: &up)
            swiGLU(&gate, up)
            project(gate, m, block.down, w, into: &x, accumulate: true)
        }
        for (s, seq) in tokens.enumerated() { caches[s].advance(seq.count) }

        // The final norm and the output projection, on the rows asked for.
        var wanted: [Int] = []
        switch rows {
        case .all: wanted = Array(0..<m)
        case .last:
            var end = 0
            for seq in tokens { end += seq.count; if !seq.isEmpty { wanted.append(end - 1) } }
        }
        var last = [Float](repeating: 0, count: wanted.count * w)
        x.withUnsafeBufferPointer { xb in
            last.withUnsafeMutableBufferPointer { lb in
                for (i, r) in wanted.enumerated() { (lb.baseAddress! + i * w).update(from: xb.baseAddress! + r * w, count: w) }
            }
        }
        var normed = last
        rmsNorm(last, finalNorm, into: &normed, rows: wanted.count)
        var logits = [Float](repeating: 0, count: wanted.count * c.vocabulary)
        project(normed, wanted.count, outputWeight ?? embeddings, c.vocabulary, into: &logits)
        return logits
    }

    /// out (rows x n) = input (rows x inputs) · Wᵀ (+ out when accumulating), W of (n x inputs).
    private func project(_ input: [Float], _ rows: Int, _ weight: [Float], _ n: Int, into out: inout [Float], accumulate: Bool = false) {
        let inputs = weight.count / n
        input.withUnsafeBufferPointer { a in
            weight.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { o in
                    gemm(rows, n, inputs, a.baseAddress!, inputs, b.baseAddress!, inputs, transposeB: true,
                         o.baseAddress!, n, beta: accumulate ? 1 : 0)
                }
            }
        }
    }

    /// out = x / sqrt(mean(x²) + ε) ⊙ weight, row by row, as Hugging Face's LlamaRMSNorm computes it in float32.
    private func rmsNorm(_ x: [Float], _ weight: [Float], into out: inout [Float], rows: Int) {
        let w = config.width, eps = config.epsilon
        x.withUnsafeBufferPointer { xb in
            out.withUnsafeMutableBufferPointer { ob in
                for r in 0..<rows {
                    let row = xb.baseAddress! + r * w, o = ob.baseAddress! + r * w
                    var squares = Float8()
                    var i = 0
                    let raw = UnsafeRawPointer(row)
                    while i + 8 <= w {
                        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)
                        squares += v * v
                        i += 8
                    }
                    var total = squares.sum()
                    while i < w { total += row[i] * row[i]; i += 1 }
                    let scale = 1 / (total / Float(w) + eps).squareRoot()
                    for j in 0..<w { o[j] = weight[j] * (row[j] * scale) }
                }
            }
        }
    }

    /// Rotary positions on each head's first `ropeDims` dimensions, in adjacent pairs (llama.cpp's layout).
    private func rotate(_ m: inout [Float], rows: Int, heads: Int, _ cosines: [Float], _ sines: [Float]) {
        let hd = config.headDim, pairs = config.ropeDims / 2, width = heads * hd
        m.withUnsafeMutableBufferPointer { mb in
            cosines.withUnsafeBufferPointer { cb in
                sines.withUnsafeBufferPointer { sb in
                    for r in 0..<rows {
                        let cs = cb.baseAddress! + r * pairs, sn = sb.baseAddress! + r * pairs
                        for head in 0..<heads {
                            let p = mb.baseAddress! + r * width + head * hd
                            for i in 0..<pairs {
                                let a = p[2 * i], b = p[2 * i + 1]
                                p[2 * i] = a * cs[i] - b * sn[i]
                                p[2 * i + 1] = a * sn[i] + b * cs[i]
                            }
                        }
                    }
                }
            }
        }
    }

    /// The attention of `count` new queries (rows `row`... of q) of one sequence over its cache, written into the
    /// same rows of `mixed`. One new token: the query heads of a key/value group as one small product against the
    /// shared keys; several: each head's queries with the causal mask.
    private func attend(_ q: [Float], row: Int, count: Int, _ cache: KVCache, layer: Int, into mixed: inout [Float], scores: inout [Float]) {
        let c = config, hd = c.headDim, qw = c.queryWidth, kvw = c.kvWidth
        let group = c.heads / c.kvHeads
        let past = cache.count, total = past + count
        let scale = 1 / Float(hd).squareRoot()
        let needed = (count == 1 ? group : count) * total
        if scores.count < needed { scores = [Float](repeating: 0, count: needed) }
        q.withUnsafeBufferPointer { qb in
            cache.keys[layer].withUnsafeBufferPointer { kb in
                cache.values[layer].withUnsafeBufferPointer { vb in
                    mixed.withUnsafeMutableBufferPointer { ob in
                        scores.withUnsafeMutableBufferPointer { sb in
                            let s = sb.baseAddress!
                            for g in 0..<c.kvHeads {
                                let keys = kb.baseAddress! + g * hd, values = vb.baseAddress! + g * hd
                                if count == 1 {
                                    let queries = qb.baseAddress! + row * qw + g * group * hd
                                    gemm(group, total, hd, queries, hd, keys, kvw, transposeB: true, s, total, alpha: scale)
                                    softmaxRows(s, rows: group, cols: total, causalOffset: nil)
                                    gemm(group, hd, total, s, total, values, kvw, ob.baseAddress! + row * qw + g * group * hd, hd)
                                } else {
                                    for j in 0..<group {
                                        let head = (g * group + j) * hd
                                        gemm(count, total, hd, qb.baseAddress! + row * qw + head, qw, keys, kvw, transposeB: true, s, total, alpha: scale)
                                        softmaxRows(s, rows: count, cols: total, causalOffset: past)
                                        gemm(count, hd, total, s, total, values, kvw, ob.baseAddress! + row * qw + head, qw)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// gate = silu(gate) ⊙ up, eight at a time: silu(x) = x·σ(x), σ from e^(-|x|) so that exp never overflows.
    private func swiGLU(_ gate: inout [Float], _ up: [Float]) {
        gate.withUnsafeMutableBufferPointer { gb in
            up.withUnsafeBufferPointer { ub in
                let n = gb.count
                var i = 0
                let g = UnsafeMutableRawPointer(gb.baseAddress!), u = UnsafeRawPointer(ub.baseAddress!)
                while i + 8 <= n {
                    let x = g.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)
                    let y = u.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)
                    g.storeBytes(of: silu8(x) * y, toByteOffset: i * 4, as: Float8.self)
                    i += 8
                }
                while i < n {
                    gb[i] = gb[i] / (1 + exp(-gb[i])) * ub[i]
                    i += 1
                }
            }
        }
    }
}

/// x·σ(x) on eight floats.
@inline(__always)
func silu8(_ x: Float8) -> Float8 { x * sigmoid8(x) }

/// σ(x) = 1 / (1 + e^(-x)) on eight floats, from e^(-|x|) so that exp never overflows.
@inline(__always)
func sigmoid8(_ x: Float8) -> Float8 {
    let negative = x .< 0
    let e = exp8(x.replacing(with: -x, where: .!negative))  // e^(-|x|)
    return (Float8(repeating: 1) / (1 + e)).replacing(with: e / (1 + e), where: negative)
}

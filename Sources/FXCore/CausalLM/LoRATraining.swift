#if canImport(Glibc)
import Glibc
#endif

/// One training sequence of a causal language model: its ids, and for each position the id it should predict
/// next (-1: no loss there, e.g. the prompt of a conversation).
public struct CausalSequence: Sendable, Equatable {
    public var ids: [Int32]
    public var labels: [Int32]

    public init(ids: [Int32], labels: [Int32]) {
        precondition(ids.count == labels.count)
        self.ids = ids
        self.labels = labels
    }

    /// Positions that carry a loss.
    public var trained: Int { labels.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }
}

/// Floats owned by a training pass, reused from one batch to the next (grown, never shrunk).
final class FloatStore {
    private(set) var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var capacity = 1

    deinit { pointer.deallocate() }

    /// Room for `n` floats; what was there is lost when it grows.
    @discardableResult
    func reserve(_ n: Int) -> UnsafeMutablePointer<Float> {
        if n > capacity {
            pointer.deallocate()
            pointer = .allocate(capacity: n)
            capacity = n
        }
        return pointer
    }
}

/// LoRA training of a frozen Llama model: the forward pass over packed sequences (each from position 0, attending
/// only within itself) keeping what the backward pass needs, the loss on the positions that carry one, and the
/// backward pass, which adds the adapters' gradients. The base's weights get no gradient; the output projection
/// runs only on the positions with a loss. One pass per thread: it owns its activations and its adapters' copy.
final class LoRATrainingPass {
    let model: LlamaModel
    let adapters: LoRAAdapters
    /// Dropout on the adapters' inputs (off for validation).
    var training = true
    /// Draws this batch's dropout masks; the backward pass draws the same ones again.
    var dropoutSeed: UInt64 = 0

    /// What one layer keeps from the forward pass: its input, the rotated queries and keys, the values, the
    /// attention's output, the residual after attention, the feed-forward's gate and up projections, the two
    /// norms' inverse scales, and each adapter's product with its input.
    private final class Saved {
        let x = FloatStore(), q = FloatStore(), k = FloatStore(), v = FloatStore(), mixed = FloatStore(), middle = FloatStore()
        let gate = FloatStore(), up = FloatStore(), inverse1 = FloatStore(), inverse2 = FloatStore()
        let u = LoRATrainingPass.groups.map { _ in FloatStore() }
    }
    private let saved: [Saved]
    private let residual = FloatStore(), normed = FloatStore(), dropped = FloatStore(), activation = FloatStore()
    private let scores = FloatStore(), scoreGradients = FloatStore(), cosines = FloatStore(), sines = FloatStore()
    private let dx = FloatStore(), dh = FloatStore(), dGate = FloatStore(), dUp = FloatStore(), dMixed = FloatStore()
    private let dq = FloatStore(), dk = FloatStore(), dv = FloatStore(), loraGradient = FloatStore(), dLoRA = FloatStore()
    private let stackedA = FloatStore(), stackedGradient = FloatStore()
    private let logits = FloatStore(), headRows = FloatStore(), headGradient = FloatStore(), headInverse = FloatStore()
    private var starts: [Int] = [], lengths: [Int] = []

    init(_ model: LlamaModel, _ adapters: LoRAAdapters) {
        self.model = model
        self.adapters = adapters
        saved = (0..<model.config.layers).map { _ in Saved() }
    }

    private var config: LlamaModel.Config { model.config }
    private var scale: Float { adapters.settings.scale }

    /// Forward, loss and (with `backward`) backward over `batch`, packed; the gradients are of the summed loss
    /// times `lossScale` (1 / the positions with a loss in the whole step, for the mean). Returns the summed
    /// loss in nats and the positions counted.
    func run(_ batch: [CausalSequence], lossScale: Float, backward: Bool) -> (nats: Double, count: Int) {
        let m = batch.reduce(0) { $0 + $1.ids.count }
        guard m > 0 else { return (0, 0) }
        prepare(batch)
        forward(batch.flatMap(\.ids))
        let labels = batch.flatMap(\.labels)
        let loss = head(labels, lossScale: lossScale, backward: backward)
        if backward && loss.count > 0 { self.backward() }
        return loss
    }

    private var rows: Int { starts.last.map { $0 + lengths.last! } ?? 0 }

    private func prepare(_ batch: [CausalSequence]) {
        let c = config, m = batch.reduce(0) { $0 + $1.ids.count }, r = adapters.settings.rank
        lengths = batch.map(\.ids.count)
        starts = []
        var s = 0
        for n in lengths { starts.append(s); s += n }
        for layer in saved {
            for (store, width) in [(layer.x, c.width), (layer.q, c.queryWidth), (layer.k, c.kvWidth), (layer.v, c.kvWidth),
                                   (layer.mixed, c.queryWidth), (layer.middle, c.width), (layer.gate, c.feedForward),
                                   (layer.up, c.feedForward), (layer.inverse1, 1), (layer.inverse2, 1)] {
                store.reserve(m * width)
            }
            for (g, group) in Self.groups.enumerated() { layer.u[g].reserve(m * r * group.count) }
        }
        let widest = max(c.width, c.queryWidth, c.feedForward)
        for (store, width) in [(residual, c.width), (normed, c.width), (dropped, widest), (activation, c.feedForward),
                               (dx, c.width), (dh, c.width), (dGate, c.feedForward), (dUp, c.feedForward), (dMixed, c.queryWidth),
                               (dq, c.queryWidth), (dk, c.kvWidth), (dv, c.kvWidth), (loraGradient, 3 * r), (dLoRA, widest)] {
            store.reserve(m * width)
        }
        stackedA.reserve(3 * r * widest)
        stackedGradient.reserve(3 * r * widest)
        let longest = lengths.max() ?? 0
        scores.reserve(longest * longest)
        scoreGradients.reserve(longest * longest)
        let pairs = c.ropeDims / 2
        let cs = cosines.reserve(m * pairs), sn = sines.reserve(m * pairs)
        var row = 0
        for n in lengths {
            for p in 0..<n {
                for i in 0..<pairs {
                    let angle = Float(p) * model.inverseFrequencies[i]
                    cs[row * pairs + i] = cos(angle)
                    sn[row * pairs + i] = sin(angle)
                }
                row += 1
            }
        }
    }

    // MARK: Forward

    private func forward(_ ids: [Int32]) {
        let c = config, m = ids.count, w = c.width, ff = c.feedForward
        let x = residual.pointer, h = normed.pointer
        model.embeddings.withUnsafeBufferPointer { e in
            for (r, id) in ids.enumerated() { (x + r * w).update(from: e.baseAddress! + Int(id) * w, count: w) }
        }
        for (l, block) in model.blocks.enumerated() {
            let s = saved[l]
            s.x.pointer.update(from: x, count: m * w)
            rmsNorm(x, block.attentionNorm, into: h, inverse: s.inverse1.pointer, rows: m)
            for (t, out) in [(LoRATarget.q, s.q.pointer), (.k, s.k.pointer), (.v, s.v.pointer)] { project(h, m, block.weight(t), t, into: out) }
            loraForward(0, layer: l, input: h, rows: m, into: [s.q.pointer, s.k.pointer, s.v.pointer])
            rotate(s.q.pointer, rows: m, heads: c.heads, inverse: false)
            rotate(s.k.pointer, rows: m, heads: c.kvHeads, inverse: false)
            for (start, n) in zip(starts, lengths) { attend(s, start: start, count: n) }
            project(s.mixed.pointer, m, block.output, .o, into: x, accumulate: true)
            loraForward(1, layer: l, input: s.mixed.pointer, rows: m, into: [x])
            s.middle.pointer.update(from: x, count: m * w)
            rmsNorm(x, block.feedForwardNorm, into: h, inverse: s.inverse2.pointer, rows: m)
            for (t, out) in [(LoRATarget.gate, s.gate.pointer), (.up, s.up.pointer)] { project(h, m, block.weight(t), t, into: out) }
            loraForward(2, layer: l, input: h, rows: m, into: [s.gate.pointer, s.up.pointer])
            let act = activation.pointer
            act.update(from: s.gate.pointer, count: m * ff)
            swiGLU(act, s.up.pointer, m * ff)
            project(act, m, block.down, .down, into: x, accumulate: true)
            loraForward(3, layer: l, input: act, rows: m, into: [x])
        }
    }

    /// out (rows x outputs) = input · Wᵀ (+ out).
    private func project(_ input: UnsafePointer<Float>, _ rows: Int, _ weight: [Float], _ t: LoRATarget,
                         into out: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let (inputs, outputs) = t.shape(config)
        weight.withUnsafeBufferPointer { wb in
            gemm(rows, outputs, inputs, input, inputs, wb.baseAddress!, inputs, transposeB: true, out, outputs, beta: accumulate ? 1 : 0)
        }
    }

    /// dInput (rows x inputs) (+)= dOut · W.
    private func projectBack(_ dOut: UnsafePointer<Float>, _ rows: Int, _ weight: [Float], _ t: LoRATarget,
                             into dInput: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let (inputs, outputs) = t.shape(config)
        weight.withUnsafeBufferPointer { wb in
            gemm(rows, inputs, outputs, dOut, outputs, wb.baseAddress!, inputs, dInput, inputs, beta: accumulate ? 1 : 0)
        }
    }

    /// The projections that read the same input, in `Saved.u`'s order: their adapters share one dropout mask
    /// and one product with their A matrices stacked (the input is read once).
    static let groups: [[LoRATarget]] = [[.q, .k, .v], [.o], [.gate, .up], [.down]]

    /// A group's adapted targets (with the pointers given for each target of the group) and their A stacked.
    private func active<T>(_ group: Int, layer l: Int, _ items: [T]) -> [(LoRATarget, T, Parameter, Parameter)] {
        zip(Self.groups[group], items).compactMap { t, item in
            guard let pa = adapters.a[l][t.index], let pb = adapters.b[l][t.index] else { return nil }
            return (t, item, pa, pb)
        }
    }

    /// A's of the group's adapters, one under the other (rank·count x inputs).
    private func stack(_ targets: [(LoRATarget, some Any, Parameter, Parameter)]) -> UnsafeMutablePointer<Float> {
        let out = stackedA.pointer
        var offset = 0
        for (_, _, pa, _) in targets {
            pa.value.values.withUnsafeBufferPointer { (out + offset).update(from: $0.baseAddress!, count: $0.count) }
            offset += pa.value.values.count
        }
        return out
    }

    /// The adapters' share of a group: out_t += s · dropout(input)·A_tᵀ·B_tᵀ, keeping u = dropout(input)·[A]ᵀ.
    private func loraForward(_ group: Int, layer l: Int, input: UnsafePointer<Float>, rows m: Int, into outs: [UnsafeMutablePointer<Float>]) {
        let targets = active(group, layer: l, outs)
        guard !targets.isEmpty else { return }
        let inputs = targets[0].0.shape(config).inputs, r = adapters.settings.rank, width = r * targets.count
        let a = stack(targets), source = dropout(group, layer: l, input, count: m * inputs), u = saved[l].u[group].pointer
        gemm(m, width, inputs, source, inputs, a, inputs, transposeB: true, u, width)
        for (j, (t, out, _, pb)) in targets.enumerated() {
            let outputs = t.shape(config).outputs
            pb.value.values.withUnsafeBufferPointer { gemm(m, outputs, r, u + j * r, width, $0.baseAddress!, r, transposeB: true, out, outputs, alpha: scale, beta: 1) }
        }
    }

    /// The dropout mask of a group's input in this batch (nil when there is none).
    private func dropoutMask(_ group: Int, layer l: Int) -> DropoutMask? {
        let p = adapters.settings.dropout
        guard training && p > 0 else { return nil }
        return DropoutMask(base: dropoutSeed &+ UInt64(l * 4 + group) &* 0xD1B5_4A32_D192_ED03, rate: p)
    }

    /// The group's input after dropout (the input itself when there is none).
    private func dropout(_ group: Int, layer l: Int, _ input: UnsafePointer<Float>, count: Int) -> UnsafePointer<Float> {
        guard let mask = dropoutMask(group, layer: l) else { return input }
        mask.apply(input, count: count, into: dropped.pointer, adding: false)
        return UnsafePointer(dropped.pointer)
    }

    /// out = x / sqrt(mean(x²) + ε) ⊙ weight row by row, keeping each row's 1 / sqrt(mean(x²) + ε).
    private func rmsNorm(_ x: UnsafePointer<Float>, _ weight: [Float], into out: UnsafeMutablePointer<Float>, inverse: UnsafeMutablePointer<Float>, rows: Int) {
        let w = config.width, eps = config.epsilon
        weight.withUnsafeBufferPointer { g in
            for r in 0..<rows {
                let row = x + r * w, o = out + r * w
                var total: Float = 0
                for j in 0..<w { total += row[j] * row[j] }
                let inv = 1 / (total / Float(w) + eps).squareRoot()
                inverse[r] = inv
                for j in 0..<w { o[j] = g[j] * (row[j] * inv) }
            }
        }
    }

    /// The norm again from its kept inverse scales (the backward pass needs its output as the adapters' input).
    private func renorm(_ x: UnsafePointer<Float>, _ weight: [Float], into out: UnsafeMutablePointer<Float>, inverse: UnsafePointer<Float>, rows: Int) {
        let w = config.width
        weight.withUnsafeBufferPointer { g in
            for r in 0..<rows {
                let inv = inverse[r], row = x + r * w, o = out + r * w
                for j in 0..<w { o[j] = g[j] * (row[j] * inv) }
            }
        }
    }

    /// dx += the gradient through the norm of dOut (the norm's weight is frozen).
    private func rmsNormBack(_ dOut: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ weight: [Float], inverse: UnsafePointer<Float>,
                             rows: Int, into dx: UnsafeMutablePointer<Float>) {
        let w = config.width
        weight.withUnsafeBufferPointer { g in
            for r in 0..<rows {
                let inv = inverse[r], d = dOut + r * w, row = x + r * w, o = dx + r * w
                var dot: Float = 0
                for j in 0..<w { dot += d[j] * g[j] * row[j] }
                let k = inv * inv * dot / Float(w)
                for j in 0..<w { o[j] += inv * (d[j] * g[j] - row[j] * k) }
            }
        }
    }

    /// Rotary positions in adjacent pairs (`inverse`: the transposed turn, for the backward pass).
    private func rotate(_ m: UnsafeMutablePointer<Float>, rows: Int, heads: Int, inverse: Bool) {
        let hd = config.headDim, pairs = config.ropeDims / 2, width = heads * hd
        let sign: Float = inverse ? -1 : 1
        for r in 0..<rows {
            let cs = cosines.pointer + r * pairs, sn = sines.pointer + r * pairs
            for head in 0..<heads {
                let p = m + r * width + head * hd
                for i in 0..<pairs {
                    let a = p[2 * i], b = p[2 * i + 1], s = sign * sn[i]
                    p[2 * i] = a * cs[i] - b * s
                    p[2 * i + 1] = a * s + b * cs[i]
                }
            }
        }
    }

    /// Causal attention within one sequence (rows start..<start+count), every head.
    private func attend(_ s: Saved, start: Int, count n: Int) {
        let c = config, hd = c.headDim, qw = c.queryWidth, kvw = c.kvWidth, group = c.heads / c.kvHeads
        let scale = 1 / Float(hd).squareRoot(), p = scores.pointer
        for head in 0..<c.heads {
            let g = head / group
            let q = s.q.pointer + start * qw + head * hd, k = s.k.pointer + start * kvw + g * hd, v = s.v.pointer + start * kvw + g * hd
            gemm(n, n, hd, q, qw, k, kvw, transposeB: true, p, n, alpha: scale)
            softmaxRows(p, rows: n, cols: n, causalOffset: 0)
            gemm(n, hd, n, p, n, v, kvw, s.mixed.pointer + start * qw + head * hd, qw)
        }
    }

    /// x = silu(x) ⊙ up.
    private func swiGLU(_ x: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ count: Int) {
        var i = 0
        let raw = UnsafeMutableRawPointer(x), u = UnsafeRawPointer(up)
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)
            raw.storeBytes(of: silu8(v) * u.loadUnaligned(fromByteOffset: i * 4, as: Float8.self), toByteOffset: i * 4, as: Float8.self)
            i += 8
        }
        while i < count { x[i] = x[i] / (1 + exp(-x[i])) * up[i]; i += 1 }
    }

    // MARK: Loss

    /// The output projection and softmax cross-entropy on the positions with a label, in chunks of 64 rows; with
    /// `backward`, dx gets the gradient through the final norm (zero on the other rows).
    private func head(_ labels: [Int32], lossScale: Float, backward: Bool) -> (nats: Double, count: Int) {
        let c = config, w = c.width, vocabulary = c.vocabulary, m = labels.count
        let wanted = labels.indices.filter { labels[$0] >= 0 }
        if backward { dx.pointer.update(repeating: 0, count: m * w) }
        guard !wanted.isEmpty else { return (0, 0) }
        let chunk = 64
        let normedRows = headRows.reserve(chunk * w), inverse = headInverse.reserve(chunk), out = logits.reserve(chunk * vocabulary)
        let dNormed = headGradient.reserve(chunk * w), gathered = dLoRA.pointer
        var nats = 0.0
        let projection = model.outputWeight ?? model.embeddings
        projection.withUnsafeBufferPointer { pw in
            for first in stride(from: 0, to: wanted.count, by: chunk) {
                    let rows = Array(wanted[first..<min(first + chunk, wanted.count)])
                    for (i, r) in rows.enumerated() { (gathered + i * w).update(from: residual.pointer + r * w, count: w) }
                    rmsNorm(gathered, model.finalNorm, into: normedRows, inverse: inverse, rows: rows.count)
                    gemm(rows.count, vocabulary, w, normedRows, w, pw.baseAddress!, w, transposeB: true, out, vocabulary)
                    for (i, r) in rows.enumerated() {
                        let row = out + i * vocabulary, target = Int(labels[r])
                        let top = maximum(row, vocabulary), logit = row[target]
                        map8(row, vocabulary) { exp8($0 - top) }
                        let total = sum(row, vocabulary)
                        nats += Double(log(total)) + Double(top - logit)
                        if backward {
                            let k = lossScale / total
                            map8(row, vocabulary) { $0 * k }
                            row[target] -= lossScale
                        }
                    }
                    guard backward else { continue }
                    gemm(rows.count, w, vocabulary, out, vocabulary, pw.baseAddress!, w, dNormed, w)
                    let dRows = dh.pointer
                    dRows.update(repeating: 0, count: rows.count * w)
                    rmsNormBack(dNormed, gathered, model.finalNorm, inverse: inverse, rows: rows.count, into: dRows)
                    for (i, r) in rows.enumerated() { (dx.pointer + r * w).update(from: dRows + i * w, count: w) }
            }
        }
        return (nats, wanted.count)
    }

    // MARK: Backward

    private func backward() {
        let c = config, m = rows, ff = c.feedForward
        let x = dx.pointer, h = normed.pointer
        for l in model.blocks.indices.reversed() {
            let block = model.blocks[l], s = saved[l]
            // The feed-forward: x_out = middle + down(silu(gate) ⊙ up).
            let act = activation.pointer
            act.update(from: s.gate.pointer, count: m * ff)
            swiGLU(act, s.up.pointer, m * ff)
            let dAct = dGate.pointer
            projectBack(x, m, block.down, .down, into: dAct, accumulate: false)
            loraBackward(3, layer: l, dOuts: [x], input: act, rows: m, into: dAct)
            swiGLUBack(dAct, dUp.pointer, s.gate.pointer, s.up.pointer, m * ff)
            renorm(s.middle.pointer, block.feedForwardNorm, into: h, inverse: s.inverse2.pointer, rows: m)
            projectBack(dAct, m, block.gate, .gate, into: dh.pointer, accumulate: false)
            projectBack(dUp.pointer, m, block.up, .up, into: dh.pointer, accumulate: true)
            loraBackward(2, layer: l, dOuts: [dAct, dUp.pointer], input: h, rows: m, into: dh.pointer)
            rmsNormBack(dh.pointer, s.middle.pointer, block.feedForwardNorm, inverse: s.inverse2.pointer, rows: m, into: x)
            // Attention: middle = x_in + o(attention(q, k, v)).
            projectBack(x, m, block.output, .o, into: dMixed.pointer, accumulate: false)
            loraBackward(1, layer: l, dOuts: [x], input: s.mixed.pointer, rows: m, into: dMixed.pointer)
            dk.pointer.update(repeating: 0, count: m * c.kvWidth)
            dv.pointer.update(repeating: 0, count: m * c.kvWidth)
            for (start, n) in zip(starts, lengths) { attendBack(s, start: start, count: n) }
            rotate(dq.pointer, rows: m, heads: c.heads, inverse: true)
            rotate(dk.pointer, rows: m, heads: c.kvHeads, inverse: true)
            renorm(s.x.pointer, block.attentionNorm, into: h, inverse: s.inverse1.pointer, rows: m)
            // The first layer's input is the frozen embeddings: its gradient is not needed.
            if l > 0 {
                projectBack(dq.pointer, m, block.query, .q, into: dh.pointer, accumulate: false)
                projectBack(dk.pointer, m, block.key, .k, into: dh.pointer, accumulate: true)
                projectBack(dv.pointer, m, block.value, .v, into: dh.pointer, accumulate: true)
            }
            loraBackward(0, layer: l, dOuts: [dq.pointer, dk.pointer, dv.pointer], input: h, rows: m, into: dh.pointer, inputGradient: l > 0)
            if l > 0 { rmsNormBack(dh.pointer, s.x.pointer, block.attentionNorm, inverse: s.inverse1.pointer, rows: m, into: x) }
        }
    }

    /// The adapters' gradients in a group (B_t += s · dOut_tᵀ·u_t, A_t += s · (dOut_t·B_t)ᵀ·dropout(input)) and,
    /// with `inputGradient`, their share of the input's gradient (dInput += dropout'(s · Σ_t dOut_t·B_t·A_t)).
    private func loraBackward(_ group: Int, layer l: Int, dOuts: [UnsafeMutablePointer<Float>], input: UnsafePointer<Float>, rows m: Int,
                              into dInput: UnsafeMutablePointer<Float>, inputGradient: Bool = true) {
        let targets = active(group, layer: l, dOuts)
        guard !targets.isEmpty else { return }
        let inputs = targets[0].0.shape(config).inputs, r = adapters.settings.rank, width = r * targets.count
        let u = saved[l].u[group].pointer, g = loraGradient.pointer
        for (j, (t, dOut, _, pb)) in targets.enumerated() {
            let outputs = t.shape(config).outputs
            pb.gradient.values.withUnsafeMutableBufferPointer { gemm(outputs, r, m, dOut, outputs, transposeA: true, u + j * r, width, $0.baseAddress!, r, alpha: scale, beta: 1) }
            pb.value.values.withUnsafeBufferPointer { gemm(m, r, outputs, dOut, outputs, $0.baseAddress!, r, g + j * r, width) }
        }
        let source = dropout(group, layer: l, input, count: m * inputs), dA = stackedGradient.pointer
        gemm(width, inputs, m, g, width, transposeA: true, source, inputs, dA, inputs, alpha: scale)
        for (j, (_, _, pa, _)) in targets.enumerated() {
            pa.gradient.values.withUnsafeMutableBufferPointer { ga in
                let from = dA + j * r * inputs
                for i in 0..<ga.count { ga[i] += from[i] }
            }
        }
        guard inputGradient else { return }
        let a = stack(targets)
        guard let mask = dropoutMask(group, layer: l) else {
            gemm(m, inputs, width, g, width, a, inputs, dInput, inputs, alpha: scale, beta: 1)
            return
        }
        let d = dLoRA.pointer
        gemm(m, inputs, width, g, width, a, inputs, d, inputs, alpha: scale)
        mask.apply(d, count: m * inputs, into: dInput, adding: true)
    }

    /// From dAct (the gradient of silu(gate) ⊙ up): dGate in place of dAct, and dUp; eight at a time.
    private func swiGLUBack(_ dAct: UnsafeMutablePointer<Float>, _ dUp: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>,
                            _ up: UnsafePointer<Float>, _ count: Int) {
        let d = UnsafeMutableRawPointer(dAct), du = UnsafeMutableRawPointer(dUp), g = UnsafeRawPointer(gate), u = UnsafeRawPointer(up)
        var i = 0
        while i + 8 <= count {
            let x = g.loadUnaligned(fromByteOffset: i * 4, as: Float8.self), grad = d.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)
            let sigmoid = sigmoid8(x)
            du.storeBytes(of: grad * x * sigmoid, toByteOffset: i * 4, as: Float8.self)
            let upValues = u.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)
            d.storeBytes(of: grad * upValues * sigmoid * (1 + x * (1 - sigmoid)), toByteOffset: i * 4, as: Float8.self)
            i += 8
        }
        while i < count {
            let x = gate[i], sigmoid = 1 / (1 + exp(-x)), grad = dAct[i]
            dUp[i] = grad * x * sigmoid
            dAct[i] = grad * up[i] * sigmoid * (1 + x * (1 - sigmoid))
            i += 1
        }
    }

    /// The attention's backward pass within one sequence: scores and probabilities again from the kept queries
    /// and keys; dq (written), dk and dv (added: the query heads of a group share them).
    private func attendBack(_ s: Saved, start: Int, count n: Int) {
        let c = config, hd = c.headDim, qw = c.queryWidth, kvw = c.kvWidth, group = c.heads / c.kvHeads
        let scale = 1 / Float(hd).squareRoot(), p = scores.pointer, dp = scoreGradients.pointer
        for head in 0..<c.heads {
            let g = head / group
            let q = s.q.pointer + start * qw + head * hd, k = s.k.pointer + start * kvw + g * hd, v = s.v.pointer + start * kvw + g * hd
            let dO = dMixed.pointer + start * qw + head * hd
            gemm(n, n, hd, q, qw, k, kvw, transposeB: true, p, n, alpha: scale)
            softmaxRows(p, rows: n, cols: n, causalOffset: 0)
            gemm(n, hd, n, p, n, transposeA: true, dO, qw, dv.pointer + start * kvw + g * hd, kvw, beta: 1)
            gemm(n, n, hd, dO, qw, v, kvw, transposeB: true, dp, n)
            for i in 0..<n {
                let pr = p + i * n, dr = dp + i * n
                var dot: Float = 0
                for j in 0...i { dot += pr[j] * dr[j] }
                for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
                if i + 1 < n { (dr + i + 1).update(repeating: 0, count: n - i - 1) }
            }
            gemm(n, hd, n, dp, n, k, kvw, dq.pointer + start * qw + head * hd, qw, alpha: scale)
            gemm(n, hd, n, dp, n, transposeA: true, q, qw, dk.pointer + start * kvw + g * hd, kvw, alpha: scale, beta: 1)
        }
    }
}

/// A dropout mask drawn from a seed: value i is kept, times 1 / (1 - rate), when its 16-bit draw is at least
/// rate · 2¹⁶; a 64-bit hash of (base + i / 4) gives the draws of four values, so drawing it again (the backward
/// pass) gives the same mask without keeping it.
struct DropoutMask {
    let base: UInt64, threshold: UInt32, keep: Float

    init(base: UInt64, rate: Float) {
        self.base = base
        threshold = UInt32((Double(rate) * 65536).rounded())
        keep = 1 / (1 - rate)
    }

    /// The multiplier of value i: keep or 0.
    @inline(__always)
    func scale(at i: Int) -> Float {
        var hash = SplitMix64(seed: base &+ UInt64(i >> 2))
        return UInt32(truncatingIfNeeded: hash.next() >> (16 * UInt64(i & 3))) & 0xFFFF >= threshold ? keep : 0
    }

    /// The multipliers of values i..<i+8, i a multiple of 8.
    @inline(__always)
    func scales8(at i: Int) -> Float8 {
        var first = SplitMix64(seed: base &+ UInt64(i >> 2)), second = SplitMix64(seed: base &+ UInt64(i >> 2) &+ 1)
        let draws = unsafeBitCast(SIMD2<UInt64>(first.next(), second.next()), to: SIMD8<UInt16>.self)
        // All ones where a draw is below the threshold (arithmetic, not a lane-by-lane comparison).
        let dropped = (SIMD8<Int32>(truncatingIfNeeded: draws) &- SIMD8(repeating: Int32(threshold))) &>> 31
        return unsafeBitCast(~dropped & SIMD8(repeating: Int32(bitPattern: keep.bitPattern)), to: Float8.self)
    }

    /// out[i] = (or, `adding`, +=) value i's multiplier · values[i], for i < count.
    func apply(_ values: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>, adding: Bool) {
        let source = UnsafeRawPointer(values), target = UnsafeMutableRawPointer(out)
        var i = 0
        while i + 8 <= count {
            var v = source.loadUnaligned(fromByteOffset: i * 4, as: Float8.self) * scales8(at: i)
            if adding { v += target.loadUnaligned(fromByteOffset: i * 4, as: Float8.self) }
            target.storeBytes(of: v, toByteOffset: i * 4, as: Float8.self)
            i += 8
        }
        while i < count {
            let v = values[i] * scale(at: i)
            out[i] = adding ? out[i] + v : v
            i += 1
        }
    }
}

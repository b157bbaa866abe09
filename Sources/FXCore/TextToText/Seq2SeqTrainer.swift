import COpenBLAS
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Training an encoder-decoder on pairs of ids: batches by token count, AdamW with warm-up then inverse-square-root
/// decay, for a number of epochs or a wall-clock budget, scoring a validation set (loss and greedy BLEU) after
/// each epoch and keeping the best model. With several threads each batch is split between copies of the
/// network, one per thread, whose gradients are summed before the update (data parallelism: every part of a
/// step runs in parallel, not only the matrix products); one thread is bit-for-bit reproducible.
public struct Seq2SeqTrainer {
    public var threads = 1
    public var epochs = 30
    public var lr = 1e-3
    public var warmup = 400
    public var batchTokens = 2500
    /// Seconds after which training stops (nil: none).
    public var maxTime: Double?
    public var seed: UInt64 = 1
    /// A progress line on stderr.
    public var progress = false
    /// fx-train --log: a record per epoch.
    public var log: TrainingLog?
    /// Pairs of the validation set decoded for BLEU at each evaluation (the loss uses them all).
    public var validBLEUPairs = 500

    public init() {}

    public struct Report {
        public var steps = 0
        public var epochs = 0.0
        public var seconds = 0.0
        public var tokens = 0
        public var finalLoss: Float = .nan
        public var validLoss: [Float] = []
        public var validBLEU: [Double] = []
        /// The epoch whose model was kept (with a validation set), 1-based; fractional when time ran out.
        public var bestEpoch = 0.0
        public var outOfTime = false
        public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
    }

    public func train(_ model: Seq2SeqModel, on data: Seq2SeqData, valid: (data: Seq2SeqData, references: [String])? = nil) -> Report {
        let network = model.network
        let parameters = network.parameters
        let optimizer = AdamW(parameters, lr: lr, warmup: warmup)
        var rng = SplitMix64(seed: seed)
        var report = Report()
        let started = monotonicSeconds()
        var line = StepProgress(started: started, epochs: epochs, maxTime: maxTime)
        var recentLoss: [Float] = []
        var best: (bleu: Double, values: [[Float]])?
        var status = ""

        openblas_set_num_threads(1)
        let replicas = [network] + (1..<max(threads, 1)).map { network.copy(seed: seed &+ UInt64($0)) }
        let results = UnsafeMutableBufferPointer<(loss: Float, tokens: Int)>.allocate(capacity: replicas.count)
        defer { results.deallocate() }
        /// One step's gradients (the mean over the batch's target tokens) in `network`'s parameters; the mean loss.
        func gradients(_ indices: [Int]) -> Float {
            if replicas.count == 1 { return network.lossAndGradients(data.batch(indices)).loss }
            let parts = (0..<replicas.count).map { t in stride(from: t, to: indices.count, by: replicas.count).map { indices[$0] } }
            concurrently(replicas.count) { t in
                results[t] = parts[t].isEmpty ? (0, 0) : replicas[t].lossAndGradients(data.batch(parts[t]))
            }
            let total = Float(max(results.reduce(0) { $0 + $1.tokens }, 1))
            let weights = results.map { Float($0.tokens) / total }
            mergeGradients(parameters, replicas.dropFirst().map(\.parameters), weights: weights)
            return zip(results, weights).reduce(0) { $0 + $1.0.loss * $1.1 }
        }
        /// The replicas take the updated values.
        func share() { for other in replicas.dropFirst() { copyValues(parameters, to: other.parameters) } }

        func evaluate(_ epoch: Double) {
            guard let valid else { return }
            network.setTraining(false)
            var total: Double = 0, count = 0
            for indices in valid.data.sequentialBatches(tokens: batchTokens) {
                let (loss, n) = network.loss(valid.data.batch(indices))
                total += Double(loss) * Double(n)
                count += n
            }
            // Greedy BLEU, the pairs shared between the threads' copies of the network.
            let pairs = min(valid.data.count, validBLEUPairs)
            var outputs = [[Int32]](repeating: [], count: pairs)
            outputs.withUnsafeMutableBufferPointer { out in
                concurrently(replicas.count) { t in
                    let mine = Array(stride(from: t, to: pairs, by: replicas.count))
                    let ids = replicas[t].generate(mine.map { Array(valid.data.source($0)) }, beam: 1, start: BPETokenizer.start,
                                                   end: BPETokenizer.end, maxLength: Seq2SeqModel.outputLimit)
                    for (i, o) in zip(mine, ids) { out[i] = o }
                    replicas[t].setTraining(true)
                }
            }
            var metrics = TextMetrics()
            for (i, ids) in outputs.enumerated() { metrics.add(hypothesis: model.tokenizer.decode(ids), reference: valid.references[i]) }
            network.setTraining(true)
            let bleu = metrics.bleu
            report.validLoss.append(Float(total / Double(max(count, 1))))
            report.validBLEU.append(bleu)
            status = " | valid loss \(Float(total / Double(max(count, 1)))) BLEU \(String(format1: bleu))"
            if best == nil || bleu > best!.bleu {
                best = (bleu, parameters.map(\.value.values))
                report.bestEpoch = epoch
            }
        }


        var meter = EpochMeter()
        func logEpoch() {
            let (loss, rate) = meter.finish()
            log?.epoch(report.epochs, loss: loss, lr: optimizer.rate(at: optimizer.step), speed: ("tokens_per_s", rate),
                       valid: valid == nil ? nil : report.validBLEU.last.map { ("valid_bleu", $0) })
        }
        for r in replicas { r.setTraining(true) }
        training: for epoch in 1...max(epochs, 1) {
            let batches = data.batches(tokens: batchTokens, &rng)
            for (k, indices) in batches.enumerated() {
                if let maxTime, monotonicSeconds() - started >= maxTime {
                    report.outOfTime = true
                    report.epochs = Double(epoch - 1) + Double(k) / Double(batches.count)
                    break training
                }
                let loss = gradients(indices)
                optimizer.update()
                share()
                report.steps += 1
                let tokens = indices.reduce(0) { $0 + data.source($1).count + data.target($1).count + 1 }
                report.tokens += tokens
                meter.add(loss: loss, items: tokens)
                recentLoss.append(loss)
                if recentLoss.count > 50 { recentLoss.removeFirst() }
                if progress {
                    line.show(step: report.steps, epoch: Double(epoch - 1) + Double(k + 1) / Double(batches.count), count: report.tokens,
                              unit: "tokens", loss: mean(recentLoss), lr: Float(optimizer.rate(at: optimizer.step)), status: status)
                }
            }
            report.epochs = Double(epoch)
            evaluate(Double(epoch))
            logEpoch()
        }
        if report.outOfTime {
            evaluate(report.epochs)
            logEpoch()
        }
        if progress { printProgressLine("") }
        report.seconds = monotonicSeconds() - started
        report.finalLoss = mean(recentLoss)
        if let best {
            for (p, values) in zip(parameters, best.values) { p.value.values = values }
        }
        network.setTraining(false)
        return report
    }

    private func mean(_ values: [Float]) -> Float { values.isEmpty ? .nan : values.reduce(0, +) / Float(values.count) }
}

extension Seq2SeqModel {
    /// The most ids generated for a source of `n` ids: 1.5 n + 10.
    public static func outputLimit(_ n: Int) -> Int { n * 3 / 2 + 10 }
}

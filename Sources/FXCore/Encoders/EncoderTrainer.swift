import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// An encoder with a classification head on its pooled vector: softmax over the labels, or for multi-label
/// targets one sigmoid per label (one-vs-all). The forward and backward passes of fine-tuning.
public final class EncoderClassifier {
    public let network: BertEncoder
    public let head: Linear
    public let pooling: Pooling
    public let multiLabel: Bool
    let dropout: Dropout
    /// Train the head alone (the encoder's parameters are left out).
    public let frozen: Bool

    public init(network: BertEncoder, head: Linear, pooling: Pooling, multiLabel: Bool, frozen: Bool, seed: UInt64) {
        self.network = network
        self.head = head
        self.pooling = pooling
        self.multiLabel = multiLabel
        self.frozen = frozen
        dropout = Dropout(rate: network.settings.dropout, seed: seed)
    }

    public var parameters: [Parameter] { (frozen ? [] : network.parameters) + head.parameters }

    /// Another thread's copy: the same values, its dropout drawn from `seed` (a frozen encoder is shared).
    public func copy(seed: UInt64) -> EncoderClassifier {
        var rng = SplitMix64(seed: 0)
        let other = Linear("classifier", inputs: head.weight.value.cols, outputs: head.weight.value.rows, &rng)
        other.weight.value = head.weight.value
        other.bias!.value = head.bias!.value
        return EncoderClassifier(network: frozen ? network : network.copy(seed: seed), head: other, pooling: pooling, multiLabel: multiLabel, frozen: frozen, seed: seed ^ 0xD0)
    }

    public func setTraining(_ on: Bool) {
        network.setTraining(on)
        dropout.training = on
    }

    /// The mean loss over the batch's sequences; adds every trainable parameter's gradient. `pooled`: the
    /// pooled vectors when the encoder is frozen and they were computed once.
    public func lossAndGradients(_ ids: [Int32], lengths: [Int], labels: [[Int32]], pooled: Matrix? = nil) -> Float {
        let features = pooled ?? pooling(network.forward(ids, lengths: lengths), lengths: lengths)
        let scores = head.forward(dropout.forward(features))
        let (loss, dScores) = classificationLoss(scores, labels: labels, multiLabel: multiLabel)
        let dFeatures = dropout.backward(head.backward(dScores))
        if !frozen && pooled == nil { network.backward(pooling.backward(dFeatures, lengths: lengths), ids: ids, lengths: lengths) }
        return loss
    }

    /// Each sequence's label scores (probabilities), without keeping anything: safe from several threads.
    public func scores(_ ids: [Int32], lengths: [Int]) -> Matrix {
        scores(pooled: pooling(network.apply(ids, lengths: lengths), lengths: lengths))
    }

    public func scores(pooled: Matrix) -> Matrix {
        var s = head.apply(pooled)
        if multiLabel {
            for i in s.values.indices { s.values[i] = 1 / (1 + expf(-s.values[i])) }
        } else {
            let (rows, cols) = (s.rows, s.cols)
            s.values.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: rows, cols: cols, causalOffset: nil) }
        }
        return s
    }
}

/// The mean loss over the rows and its gradient with respect to the scores: softmax cross-entropy against each
/// row's first label, or with `multiLabel` the sum over labels of the sigmoid's binary cross-entropy.
func classificationLoss(_ scores: Matrix, labels: [[Int32]], multiLabel: Bool) -> (loss: Float, gradient: Matrix) {
    guard multiLabel else {
        let (loss, gradient, _) = SoftmaxCrossEntropy()(scores, targets: labels.map { $0[0] })
        return (loss, gradient)
    }
    var gradient = Matrix(rows: scores.rows, cols: scores.cols)
    var total: Double = 0
    let inverse = 1 / Float(max(scores.rows, 1))
    for r in 0..<scores.rows {
        var want = [Float](repeating: 0, count: scores.cols)
        for l in labels[r] { want[Int(l)] = 1 }
        for c in 0..<scores.cols {
            let s = scores[r, c]
            // log(1 + e^s) - y·s, computed without overflow.
            total += Double(max(s, 0) - s * want[c] + log1pf(expf(-abs(s))))
            gradient[r, c] = (1 / (1 + expf(-s)) - want[c]) * inverse
        }
    }
    return (Float(total) * inverse, gradient)
}

/// Fine-tuning an encoder and a new classification head: AdamW with warm-up then linear decay, batches of
/// `batchSize` texts, each split between one copy of the network per thread whose gradients are summed; the
/// validation accuracy after each epoch keeps the best model and stops training after `patience` epochs without
/// improvement. With `freeze`, the pooled vectors are computed once and the head alone is trained.
public struct EncoderTrainer {
    public var threads = 1
    public var epochs = 5
    public var lr = 2e-4
    /// The share of the steps spent warming up.
    public var warmupShare = 0.1
    public var batchSize = 32
    public var maxTime: Double?
    public var seed: UInt64 = 1
    public var freeze = false
    public var patience = 2
    /// The global gradient norm above which gradients are scaled down (0: never).
    public var clip: Float = 0
    public var progress = false
    /// fx-train --log: a record per epoch.
    public var log: TrainingLog?

    public init() {}

    public struct Report {
        public var steps = 0
        public var epochs = 0.0
        public var seconds = 0.0
        public var examples = 0
        public var finalLoss: Float = .nan
        public var validAccuracy: [Double] = []
        public var bestEpoch = 0.0
        public var outOfTime = false
        public var examplesPerSecond: Double { seconds > 0 ? Double(examples) / seconds : 0 }
    }

    /// Trains `model`'s encoder (unless frozen) and its head (`model.head`, set) on texts and their label ids.
    public func train(_ model: EncoderModel, texts: [String], labels: [[Int32]],
                      valid: (texts: [String], labels: [[Int32]])? = nil) -> Report {
        let classifier = EncoderClassifier(network: model.network, head: model.head!, pooling: model.pooling,
                                           multiLabel: model.multiLabel, frozen: freeze, seed: seed)
        let started = monotonicSeconds()
        let ids = texts.map(model.ids)
        let validIds = valid?.texts.map(model.ids)
        // Frozen: every text's pooled vector, once.
        func pool(_ ids: [[Int32]]) -> [[Float]] { batchedRows(ids, threads: threads) { model.pooling(model.network.apply($0, lengths: $1), lengths: $1) } }
        let pooled = freeze ? pool(ids) : nil
        let validPooled = freeze ? validIds.map(pool) : nil
        let batchesPerEpoch = (texts.count + batchSize - 1) / batchSize
        let parameters = classifier.parameters
        let optimizer = AdamW(parameters, lr: lr, warmup: Int(Double(batchesPerEpoch * epochs) * warmupShare))
        optimizer.totalSteps = batchesPerEpoch * epochs
        optimizer.beta2 = 0.999
        optimizer.eps = 1e-8
        optimizer.clip = clip
        var rng = SplitMix64(seed: seed)
        var report = Report()
        var line = StepProgress(started: started, epochs: epochs, maxTime: maxTime), recentLoss: [Float] = [], status = ""
        var best: (accuracy: Double, values: [[Float]])?
        var sinceBest = 0

        let replicas = [classifier] + (1..<max(threads, 1)).map { classifier.copy(seed: seed &+ UInt64($0)) }
        let losses = UnsafeMutableBufferPointer<Float>.allocate(capacity: replicas.count)
        defer { losses.deallocate() }
        func gradients(_ batch: [Int]) -> Float {
            let parts = (0..<replicas.count).map { t in stride(from: t, to: batch.count, by: replicas.count).map { batch[$0] } }
            forEachBatch(parts, threads: replicas.count) { t, part in
                guard !part.isEmpty else { losses[t] = 0; return }
                let rows = pooled.map { p in Matrix(rows: part.count, cols: p[0].count, values: part.flatMap { p[$0] }) }
                losses[t] = replicas[t].lossAndGradients(part.flatMap { ids[$0] }, lengths: part.map { ids[$0].count },
                                                         labels: part.map { labels[$0] }, pooled: rows)
            }
            let weights = parts.map { Float($0.count) / Float(batch.count) }
            mergeGradients(parameters, replicas.dropFirst().map(\.parameters), weights: weights)
            return zip(losses, weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
        func share() { for other in replicas.dropFirst() { copyValues(parameters, to: other.parameters) } }
        func evaluate(_ epoch: Double) {
            guard let valid, let validIds else { return }
            let scores = validPooled.map { $0.map { classifier.scores(pooled: Matrix(rows: 1, cols: $0.count, values: $0)).values } }
                ?? batchedRows(validIds, threads: threads) { classifier.scores($0, lengths: $1) }
            var right = 0
            for (s, gold) in zip(scores, valid.labels) {
                let top = s.indices.max { s[$0] < s[$1] }!
                if gold.contains(Int32(top)) { right += 1 }
            }
            let accuracy = Double(right) / Double(max(scores.count, 1))
            report.validAccuracy.append(accuracy)
            status = " | valid accuracy \(String(format1: accuracy * 100))"
            if best == nil || accuracy > best!.accuracy {
                best = (accuracy, parameters.map(\.value.values))
                report.bestEpoch = epoch
                sinceBest = 0
            } else {
                sinceBest += 1
            }
        }

        var meter = EpochMeter()
        func logEpoch() {
            let (loss, rate) = meter.finish()
            log?.epoch(report.epochs, loss: loss, lr: optimizer.rate(at: optimizer.step), speed: ("examples_per_s", rate),
                       valid: valid == nil ? nil : report.validAccuracy.last.map { ("valid_accuracy", $0) })
        }
        for r in replicas { r.setTraining(true) }
        training: for epoch in 1...max(epochs, 1) {
            var order = Array(texts.indices)
            order.shuffle(using: &rng)
            for k in 0..<batchesPerEpoch {
                if let maxTime, monotonicSeconds() - started >= maxTime {
                    report.outOfTime = true
                    report.epochs = Double(epoch - 1) + Double(k) / Double(batchesPerEpoch)
                    break training
                }
                let batch = Array(order[(k * batchSize)..<min((k + 1) * batchSize, order.count)])
                let loss = gradients(batch)
                recentLoss.append(loss)
                meter.add(loss: loss, items: batch.count)
                if recentLoss.count > 20 { recentLoss.removeFirst() }
                optimizer.update()
                share()
                report.steps += 1
                report.examples += batch.count
                if progress {
                    line.show(step: report.steps, epoch: Double(epoch - 1) + Double(k + 1) / Double(batchesPerEpoch), count: report.examples,
                              unit: "examples", loss: recentLoss.reduce(0, +) / Float(recentLoss.count), lr: Float(optimizer.rate(at: optimizer.step)), status: status)
                }
            }
            report.epochs = Double(epoch)
            for r in replicas { r.setTraining(false) }
            evaluate(Double(epoch))
            logEpoch()
            for r in replicas { r.setTraining(true) }
            if valid != nil && sinceBest >= patience { break }
        }
        if report.outOfTime {
            for r in replicas { r.setTraining(false) }
            evaluate(report.epochs)
            logEpoch()
        }
        if progress { printProgressLine("") }
        report.seconds = monotonicSeconds() - started
        report.finalLoss = recentLoss.isEmpty ? .nan : recentLoss.reduce(0, +) / Float(recentLoss.count)
        if let best { for (p, values) in zip(parameters, best.values) { p.value.values = values } }
        classifier.setTraining(false)
        return report
    }
}

import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Labeled examples read once from the stream and kept compactly as ids, for training every epoch.
public final class TrainingData {
    public let tokenizer: Tokenizer
    /// Distinct words in order of first appearance, and how often each occurred.
    public private(set) var words: [String] = []
    public private(set) var wordCounts: [Int] = []
    private var wordIds: [String: Int32] = [:]
    public private(set) var labels: [String] = []
    public private(set) var labelCounts: [Int] = []
    private var labelIds: [String: Int32] = [:]
    /// Per example: token ids (into `words`) and label ids, flattened.
    private(set) var tokens: [Int32] = []
    private(set) var tokenEnds: [Int] = []
    private(set) var targets: [Int32] = []
    private(set) var targetEnds: [Int] = []
    public private(set) var hasMultiLabel = false
    /// The inputs as text too (for models with their own tokenizer), when `keepTexts` is set before adding.
    public var keepTexts = false
    public private(set) var texts: [String] = []
    /// Set before adding: each input's stable hash with this seed (fx-pair --holdout's), for fx-train --tune's
    /// validation slice.
    public var hashSeed: UInt64?
    public private(set) var inputHashes: [UInt64] = []
    private var targetWordCount = 0
    private var distinctTargetTexts = Set<String>()

    public init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    public var count: Int { tokenEnds.count }

    /// Adds one pair record: `input` a string, `target` a string or an array of strings.
    public func add(_ record: Record, inputField: String = "input", targetField: String = "target") throws {
        guard let i = record.index(of: inputField) else { throw FXError.data("no field '\(inputField)'") }
        guard let t = record.index(of: targetField) else { throw FXError.data("no field '\(targetField)'") }
        let targetNames: [String]
        switch record.value(at: t) {
        case .string(let s): targetNames = [s]
        case .array(let items) where items.allSatisfy({ $0.stringValue != nil }) && !items.isEmpty:
            targetNames = items.map { $0.stringValue! }
            hasMultiLabel = true
        case .number(let n): targetNames = [n]
        case let other: throw FXError.data("field '\(targetField)' is \(other.typeName), not a string or an array of strings")
        }
        var scratch: [UInt8] = []
        let ok: Bool? = record.withStringBytes(at: i, scratch: &scratch) { bytes in
            if let hashSeed {
                var hash = StableHash(seed: hashSeed)
                hash.combine(bytes)
                inputHashes.append(hash.value)
            }
            tokenizer.forEachToken(in: bytes) { token, _ in
                let word = String(decoding: token, as: UTF8.self)
                if let id = wordIds[word] {
                    wordCounts[Int(id)] += 1
                    tokens.append(id)
                } else {
                    let id = Int32(words.count)
                    wordIds[word] = id
                    words.append(word)
                    wordCounts.append(1)
                    tokens.append(id)
                }
            }
            return true
        }
        guard ok != nil else { throw FXError.data("field '\(inputField)' is \(record.value(at: i).typeName), not a string") }
        if keepTexts { texts.append(record.string(at: i)!) }
        tokenEnds.append(tokens.count)
        for name in targetNames {
            if let id = labelIds[name] {
                labelCounts[Int(id)] += 1
                targets.append(id)
            } else {
                labelIds[name] = Int32(labels.count)
                labels.append(name)
                labelCounts.append(1)
                targets.append(Int32(labels.count - 1))
            }
            if distinctTargetTexts.count <= 100_000 { distinctTargetTexts.insert(name) }
            targetWordCount += name.split(separator: " ").count
        }
        targetEnds.append(targets.count)
    }

    /// Whether the targets look like free text (translations) rather than labels: at least 20 examples, more than
    /// half of the targets distinct and more than 2 words long on average. fx-train then trains a transformer.
    public var hasFreeTextTargets: Bool {
        let n = targets.count
        guard n >= 20 else { return false }
        return Double(labels.count) / Double(n) > 0.5 && Double(targetWordCount) / Double(n) > 2
    }

    /// Each example's label ids.
    public var exampleLabels: [[Int32]] { (0..<count).map { Array(targets[targetRange($0)]) } }
    /// Each example's first label id.
    public var firstLabels: [Int32] { (0..<count).map { targets[targetRange($0)].first ?? -1 } }

    func tokenRange(_ example: Int) -> Range<Int> { (example == 0 ? 0 : tokenEnds[example - 1])..<tokenEnds[example] }
    func targetRange(_ example: Int) -> Range<Int> { (example == 0 ? 0 : targetEnds[example - 1])..<targetEnds[example] }
}

/// Examples as feature rows and label ids of one model.
struct FeaturizedData {
    var features: [Int32] = []
    var featureEnds: [Int] = []
    var labels: [Int32] = []
    var labelEnds: [Int] = []
    var count: Int { featureEnds.count }
    var tokens = 0

    func featureRange(_ i: Int) -> Range<Int> { (i == 0 ? 0 : featureEnds[i - 1])..<featureEnds[i] }
    func labelRange(_ i: Int) -> Range<Int> { (i == 0 ? 0 : labelEnds[i - 1])..<labelEnds[i] }

    init() {}

    /// The examples at `indices`, in that order.
    func subset(_ indices: [Int]) -> FeaturizedData {
        var out = FeaturizedData()
        for i in indices {
            out.features += features[featureRange(i)]
            out.featureEnds.append(out.features.count)
            out.labels += labels[labelRange(i)]
            out.labelEnds.append(out.labels.count)
        }
        out.tokens = count > 0 ? tokens * indices.count / count : 0
        return out
    }

    /// The feature rows of `data`'s examples (those at `examples`, in that order, when given) for `model`.
    init(_ data: TrainingData, model: TextModel, examples: [Int]? = nil) {
        let modelWord = data.words.map { model.wordIndex[$0] ?? -1 }
        let hashes = data.words.map { w in var w = w; return w.withUTF8 { tokenHash($0) } }
        let modelLabel = data.labels.map { model.labelIndex[$0] ?? -1 }
        var ids: [Int32] = [], hs: [UInt64] = []
        for e in examples ?? Array(0..<data.count) {
            ids.removeAll(keepingCapacity: true)
            hs.removeAll(keepingCapacity: true)
            let range = data.tokenRange(e)
            for t in range {
                let w = Int(data.tokens[t])
                ids.append(modelWord[w])
                hs.append(hashes[w])
            }
            tokens += range.count
            let slice = data.tokens[range]
            model.settings.appendFeatures(ids: ids, hashes: hs, words: { data.words[Int(slice[slice.startIndex + $0])] }, into: &features)
            featureEnds.append(features.count)
            for t in data.targetRange(e) where modelLabel[Int(data.targets[t])] >= 0 { labels.append(modelLabel[Int(data.targets[t])]) }
            labelEnds.append(labels.count)
        }
    }
}

/// fx-train's optimisation: SGD with a linearly decaying learning rate over all epochs, Hogwild threads.
public struct Trainer {
    public var epochs = 40
    public var lr = 0.5
    public var threads = 1
    public var seed: UInt64 = 0
    public var negatives = 5
    public var patience: Int?
    /// Progress on stderr (percent, words/sec/thread, lr, loss, ETA), like fastText.
    public var progress = false
    /// Where the divergence guard says what it did (a line on stderr).
    public var note: (String) -> Void = { _ in }
    /// fx-train --log: a record per epoch.
    public var log: TrainingLog?
    /// Training stops before an epoch that would start at or after this time (`monotonicSeconds()`).
    public var deadline: Double?
    /// An epoch whose loss diverges is run again from its start at half the rate (its start copied each epoch);
    /// when false, training stops there instead (fx-train --tune's trials, where the copy would cost more than
    /// the epoch).
    public var restartsDivergedEpochs = true

    public init() {}

    /// The default starting learning rate: min(1, 3.5 / sqrt(n)), n the output rows each example updates (its
    /// labels for ova and softmax, 1 + negatives for ns, the mean tree depth for hs). The gradient that reaches
    /// the input rows sums over those outputs, so a rate that suits 6 labels diverges or lands badly with 50;
    /// chosen on the validation splits of five datasets with 13 to 50 labels (bench/README.md).
    public static func defaultRate(_ model: TextModel, negatives: Int) -> Double {
        defaultRate(loss: model.loss, labels: model.labels.count, negatives: negatives)
    }

    public static func defaultRate(loss: Loss, labels: Int, negatives: Int) -> Double {
        let outputs: Double
        switch loss {
        case .ova, .softmax: outputs = Double(labels)
        case .ns: outputs = Double(1 + negatives)
        case .hs: outputs = log2(Double(max(labels, 2)))
        }
        return min(1, 3.5 / outputs.squareRoot())
    }

    /// What training reports.
    public struct Report {
        public var epochsRun = 0
        public var bestEpoch = 0
        public var validAccuracy: [Double] = []
        public var seconds = 0.0
        /// The mean loss of the last epoch.
        public var finalLoss = 0.0
        /// The learning rate training ended at (lower than the starting one after the guard backed it off).
        public var lr = 0.0
        /// Stopped at `deadline` before the last epoch.
        public var outOfTime = false
    }

    func train(_ model: TextModel, on data: FeaturizedData, valid: FeaturizedData?) -> Report {
        var report = Report()
        let start = monotonicSeconds()
        let n = data.count
        guard n > 0 else { return report }
        let threads = max(1, min(self.threads, n))
        let totalSteps = Double(epochs) * Double(n)
        // Per thread, 16 apart (no false sharing): steps done, and the loss summed over this epoch's steps.
        let counters = UnsafeMutablePointer<Int>.allocate(capacity: threads * 16)
        let losses = UnsafeMutablePointer<Double>.allocate(capacity: threads * 16)
        defer { counters.deallocate(); losses.deallocate() }
        for i in 0..<(threads * 16) { counters[i] = 0; losses[i] = 0 }
        var order = Array(0..<n)
        var best: (accuracy: Double, input: [Float], output: [Float])?
        var sinceBest = 0
        let loss = model.loss
        var lastPrint = start
        var savedInput = [Float](repeating: 0, count: restartsDivergedEpochs ? model.input.count : 0)
        var savedOutput = [Float](repeating: 0, count: restartsDivergedEpochs ? model.output.count : 0)
        var guardState = DivergenceGuard(lr: lr, segment: max(100, n / threads / 10), initialLoss: initialLoss(model, data))
        var lastSegment = 0.0

        var epoch = 0
        while epoch < epochs {
            if let deadline, monotonicSeconds() >= deadline {
                report.outOfTime = true
                break
            }
            var shuffler = SplitMix64(seed: StableHash.mix(seed &+ UInt64(epoch)))
            order.shuffle(using: &shuffler)
            let epochStart = monotonicSeconds()
            // The epoch's starting point, to return to if it diverges: copied into buffers allocated once.
            if restartsDivergedEpochs {
                savedInput.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: model.input) }
                savedOutput.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: model.output) }
            }
            let stepsBefore = (0..<threads).map { counters[$0 * 16] }
            for t in 0..<threads { losses[t * 16] = 0 }
            let peak = guardState.lr
            let diverged = model.input.withUnsafeMutableBufferPointer { inputBuffer in
                model.output.withUnsafeMutableBufferPointer { outputBuffer in
                    let input = inputBuffer.baseAddress!, output = outputBuffer.baseAddress!
                    let weightsCopy = model.weights
                    return weightsCopy.withUnsafeBufferPointer { weightsBuffer in
                    let weights = weightsBuffer.baseAddress!
                    let stop = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
                    stop.pointee = false
                    defer { stop.deallocate() }
                    let work = { (t: Int) in
                        var rng = SplitMix64(seed: StableHash.mix(self.seed &+ UInt64(epoch * 7919 + t)))
                        let buffers = StepBuffers(model)
                        defer { buffers.deallocate() }
                        var segmentLoss = 0.0, segmentSteps = 0
                        data.features.withUnsafeBufferPointer { features in
                            data.labels.withUnsafeBufferPointer { labels in
                                var i = t
                                while i < n && !stop.pointee {
                                    var done = 0
                                    for k in 0..<threads { done += counters[k * 16] }
                                    let rate = Float(peak * max(0, 1 - Double(done) / totalSteps))
                                    let e = order[i]
                                    let f = UnsafeBufferPointer(rebasing: features[data.featureRange(e)])
                                    let l = UnsafeBufferPointer(rebasing: labels[data.labelRange(e)])
                                    if !f.isEmpty && !l.isEmpty {
                                        let value = Double(self.step(model, loss, f, l, rate, input, output, buffers, weights, &rng))
                                        losses[t * 16] += value
                                        segmentLoss += value
                                        segmentSteps += 1
                                        if !value.isFinite { lastSegment = .nan; stop.pointee = true }
                                    }
                                    counters[t * 16] += 1
                                    if t == 0 && segmentSteps == guardState.segment {
                                        lastSegment = segmentLoss / Double(segmentSteps)
                                        if guardState.diverges(lastSegment) { stop.pointee = true }
                                        segmentLoss = 0
                                        segmentSteps = 0
                                    }
                                    if t == 0 && self.progress {
                                        let now = monotonicSeconds()
                                        if now - lastPrint > 0.25 {
                                            lastPrint = now
                                            self.printProgress(done: done, total: totalSteps, tokensPerExample: Double(data.tokens) / Double(n),
                                                               threads: threads, elapsed: now - start, lr: Double(rate),
                                                               loss: losses[0] / Double(max(counters[0] - stepsBefore[0], 1)))
                                        }
                                    }
                                    i += threads
                                }
                            }
                        }
                    }
                    concurrently(threads, work)
                    return stop.pointee
                  }
                }
            }
            var epochLoss = 0.0, epochSteps = 0
            for t in 0..<threads { epochLoss += losses[t * 16]; epochSteps += counters[t * 16] - stepsBefore[t] }
            epochLoss /= Double(max(epochSteps, 1))
            if diverged || guardState.diverges(epochLoss) {
                guard restartsDivergedEpochs else {
                    report.finalLoss = .nan
                    break
                }
                model.input.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: savedInput) }
                model.output.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: savedOutput) }
                for t in 0..<threads { counters[t * 16] = stepsBefore[t] }
                if let line = guardState.backOff(epoch: epoch + 1, loss: diverged ? lastSegment : epochLoss) {
                    if progress { printError("") }
                    note(line)
                    continue
                }
                note("training diverged at every learning rate down to \(Float(guardState.lr)): the model is the one before epoch \(epoch + 1)")
                break
            }
            report.finalLoss = epochLoss
            report.epochsRun = epoch + 1
            epoch += 1
            var done = 0
            for t in 0..<threads { done += counters[t * 16] }
            let speed = ("examples_per_s", Double(epochSteps) / max(monotonicSeconds() - epochStart, 1e-9))
            let lrNow = guardState.lr * max(0, 1 - Double(done) / totalSteps)
            let accuracy = valid.map { Self.accuracy(model, $0) }
            log?.epoch(Double(epoch), loss: epochLoss, lr: lrNow, speed: speed, valid: accuracy.map { ("valid_accuracy", $0) })
            if let accuracy {
                report.validAccuracy.append(accuracy)
                if best == nil || accuracy > best!.accuracy {
                    best = (accuracy, model.input, model.output)
                    report.bestEpoch = epoch
                    sinceBest = 0
                } else {
                    sinceBest += 1
                    if let patience, sinceBest >= patience { break }
                }
            }
        }
        if let best, report.bestEpoch != report.epochsRun {
            model.input = best.input
            model.output = best.output
        }
        if progress { printError("") }
        report.lr = guardState.lr
        report.seconds = monotonicSeconds() - start
        return report
    }

    /// The mean loss of the model as it is, on up to 200 examples (steps at learning rate 0 change nothing).
    private func initialLoss(_ model: TextModel, _ data: FeaturizedData) -> Double {
        let buffers = StepBuffers(model)
        defer { buffers.deallocate() }
        var rng = SplitMix64(seed: seed)
        var total = 0.0, count = 0
        model.input.withUnsafeMutableBufferPointer { input in
            model.output.withUnsafeMutableBufferPointer { output in
                model.weights.withUnsafeBufferPointer { weights in
                    data.features.withUnsafeBufferPointer { features in
                        data.labels.withUnsafeBufferPointer { labels in
                            for e in 0..<min(data.count, 200) {
                                let f = UnsafeBufferPointer(rebasing: features[data.featureRange(e)])
                                let l = UnsafeBufferPointer(rebasing: labels[data.labelRange(e)])
                                guard !f.isEmpty && !l.isEmpty else { continue }
                                total += Double(step(model, model.loss, f, l, 0, input.baseAddress!, output.baseAddress!, buffers, weights.baseAddress!, &rng))
                                count += 1
                            }
                        }
                    }
                }
            }
        }
        return count > 0 ? total / Double(count) : .infinity
    }

    /// One SGD step on one example; returns its loss.
    @inline(__always)
    private func step(_ model: TextModel, _ loss: Loss, _ features: UnsafeBufferPointer<Int32>, _ labels: UnsafeBufferPointer<Int32>,
                      _ lr: Float, _ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                      _ buffers: StepBuffers, _ weights: UnsafePointer<Float>, _ rng: inout SplitMix64) -> Float {
        let dim = model.dim
        let hidden = buffers.hidden, grad = buffers.grad, scores = buffers.scores
        for k in 0..<dim { hidden[k] = 0; grad[k] = 0 }
        var total: Float = 0
        for f in features {
            let row = input + Int(f) * dim
            let w = weights[Int(f)]
            total += w
            for k in 0..<dim { hidden[k] += w * row[k] }
        }
        let inv = 1 / total
        for k in 0..<dim { hidden[k] *= inv }

        var lossValue: Float = 0
        /// Binary logistic on output row `row` toward `target`; accumulates the gradient and updates the row.
        func binary(_ row: Int, _ target: Bool) -> Float {
            let w = output + row * dim
            let score = 1 / (1 + expf(-dot(w, hidden, dim)))
            let alpha = lr * ((target ? 1 : 0) - score)
            for k in 0..<dim { grad[k] += alpha * w[k]; w[k] += alpha * hidden[k] }
            return target ? -logf(max(score, 1e-8)) : -logf(max(1 - score, 1e-8))
        }
        switch loss {
        case .softmax:
            let target = Int(labels[labels.count == 1 ? 0 : Int.random(in: 0..<labels.count, using: &rng)])
            let m = model.labels.count
            var top = -Float.infinity
            for j in 0..<m { scores[j] = dot(output + j * dim, hidden, dim); top = max(top, scores[j]) }
            var sum: Float = 0
            for j in 0..<m { scores[j] = expf(scores[j] - top); sum += scores[j] }
            for j in 0..<m {
                let p = scores[j] / sum
                let alpha = lr * ((j == target ? 1 : 0) - p)
                let w = output + j * dim
                for k in 0..<dim { grad[k] += alpha * w[k]; w[k] += alpha * hidden[k] }
            }
            lossValue = -logf(max(scores[target] / sum, 1e-8))
        case .ova:
            for label in 0..<model.labels.count { lossValue += binary(label, labels.contains(Int32(label))) }
        case .ns:
            let target = Int(labels[labels.count == 1 ? 0 : Int.random(in: 0..<labels.count, using: &rng)])
            lossValue = binary(target, true)
            let table = model.negatives
            for _ in 0..<negatives {
                var negative = target
                while negative == target && model.labels.count > 1 { negative = Int(table[Int.random(in: 0..<table.count, using: &rng)]) }
                lossValue += binary(negative, false)
            }
        case .hs:
            let target = Int(labels[labels.count == 1 ? 0 : Int.random(in: 0..<labels.count, using: &rng)])
            let path = model.paths[target], code = model.codes[target]
            for (node, branch) in zip(path, code) { lossValue += binary(Int(node), branch) }
        }
        for k in 0..<dim { grad[k] *= inv }
        for f in features {
            let row = input + Int(f) * dim
            let w = weights[Int(f)]
            for k in 0..<dim { row[k] += w * grad[k] }
        }
        return lossValue
    }

    /// Top-1 accuracy: the best label is one of the example's labels.
    static func accuracy(_ model: TextModel, _ data: FeaturizedData) -> Double {
        guard data.count > 0 else { return 0 }
        var correct = 0
        for e in 0..<data.count {
            let features = Array(data.features[data.featureRange(e)])
            if let best = model.predict(features: features, k: 1).first, data.labels[data.labelRange(e)].contains(Int32(best.label)) {
                correct += 1
            }
        }
        return Double(correct) / Double(data.count)
    }

    private func printProgress(done: Int, total: Double, tokensPerExample: Double, threads: Int, elapsed: Double, lr: Double, loss: Double) {
        let fraction = min(1, Double(done) / total)
        let wordsPerSecond = Double(done) * tokensPerExample / max(elapsed, 1e-6) / Double(threads)
        let eta = fraction > 0 ? Int(elapsed / fraction - elapsed) : 0
        var line = "Progress: \(String(format1: fraction * 100))% words/sec/thread: \(Int(wordsPerSecond)) "
        line += "lr: \(Float(lr)) loss: \(Float(loss)) "
        line += "ETA: \(eta / 3600)h\(eta / 60 % 60)m\(eta % 60)s"
        printProgressLine(line)
    }
}

/// Watches the training loss and backs the learning rate off when it diverges. The loss is averaged over
/// segments of `segment` steps (a tenth of an epoch per thread) and over each epoch. Training has diverged when
/// that mean is not finite, or has climbed above `tolerance` x `reference` (the loss of the model as training
/// began, lowered to the first segment's mean once that is known) and above `floor` nats per example. The epoch is then run
/// again from its start at half the learning rate, at most `maxBackOffs` times. Noise in a loss that has fallen
/// far (small data, a late epoch, a model that starts from a trained one) stays below those levels.
struct DivergenceGuard {
    var lr: Double
    let segment: Int
    var reference: Double
    var segments = 0
    var backOffs = 0
    static let maxBackOffs = 12, floor = 1.0, tolerance = 1.5

    /// The highest mean loss that is not divergence.
    var limit: Double { max(Self.tolerance * reference, Self.floor) }

    init(lr: Double, segment: Int, initialLoss: Double) {
        self.lr = lr
        self.segment = segment
        reference = initialLoss.isFinite ? initialLoss : .infinity
    }

    mutating func diverges(_ meanLoss: Double) -> Bool {
        guard meanLoss.isFinite, meanLoss <= limit else { return true }
        if segments == 0 { reference = min(reference, meanLoss) }
        segments += 1
        return false
    }

    /// Halves the learning rate and says so, or nil when it was halved too often already.
    mutating func backOff(epoch: Int, loss: Double) -> String? {
        guard backOffs < Self.maxBackOffs else { return nil }
        backOffs += 1
        let old = lr
        lr /= 2
        let why = loss.isFinite ? "loss \(Float(loss)), over \(Float(limit)), \(Self.tolerance) x where it started" : "loss not finite"
        return "training diverged in epoch \(epoch) (\(why)): learning rate \(Float(old)) -> \(Float(lr)), epoch \(epoch) again from its start"
    }
}

/// One training thread's scratch for `Trainer.step`: the hidden vector, its gradient, and the output scores.
struct StepBuffers {
    let hidden: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>

    init(_ model: TextModel) {
        hidden = .allocate(capacity: model.dim)
        grad = .allocate(capacity: model.dim)
        scores = .allocate(capacity: max(model.labels.count, 1))
    }

    func deallocate() {
        hidden.deallocate()
        grad.deallocate()
        scores.deallocate()
    }
}

/// Seconds from a monotonic clock.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

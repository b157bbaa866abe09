import Dispatch

extension LlamaModel {
    /// The training sequences of an example. A conversation is rendered by the model's chat template turn by
    /// turn, as generation renders it: each assistant turn's tokens (its text and the template's end of turn)
    /// carry the loss; the system message, the user turns and the template's own tokens do not. It is cut to
    /// `maxLength` tokens (`cut` says so). A document is learned whole, with the end-of-text token after it, in
    /// pieces of `maxLength` tokens. Sequences with nothing left to learn are left out.
    public func trainingSequences(_ example: CausalTrainingExample, maxLength: Int) throws -> (sequences: [CausalSequence], cut: Bool) {
        var ids: [Int32] = [], learned: [Bool] = []
        switch example {
        case .document(let text):
            ids = encode(text) + (eosToken.map { [$0] } ?? [])
            learned = [Bool](repeating: true, count: ids.count)
        case .chat(let messages):
            var done: [UInt8] = []
            for a in messages.indices where messages[a].role == "assistant" {
                let before = Array(try prompt(Array(messages[..<a]), addGenerationPrompt: true).utf8)
                let through = Array(try prompt(Array(messages[...a]), addGenerationPrompt: false).utf8)
                guard before.starts(with: done), through.starts(with: before) else {
                    throw FXError.data("the chat template does not render this conversation turn by turn (an earlier turn changes when a later one is added)")
                }
                let context = String(decoding: before[done.count...], as: UTF8.self), reply = String(decoding: through[before.count...], as: UTF8.self)
                let contextIds = done.isEmpty ? encode(context) : tokenizer.encode(context), replyIds = tokenizer.encode(reply)
                ids += contextIds + replyIds
                learned += [Bool](repeating: false, count: contextIds.count) + [Bool](repeating: true, count: replyIds.count)
                done = through
            }
        }
        var sequences: [CausalSequence] = []
        let isDocument = { if case .document = example { return true } else { return false } }()
        for start in stride(from: 0, to: ids.count, by: maxLength) {
            let end = min(start + maxLength, ids.count)
            var labels = [Int32](repeating: -1, count: end - start)
            for j in start..<(end - 1) where learned[j + 1] { labels[j - start] = ids[j + 1] }
            let sequence = CausalSequence(ids: Array(ids[start..<end]), labels: labels)
            if sequence.trained > 0 { sequences.append(sequence) }
            if !isDocument { break }
        }
        return (sequences, !isDocument && ids.count > maxLength)
    }
}

/// LoRA fine-tuning of a causal language model: AdamW on the adapters (betas 0.9/0.999, no weight decay,
/// gradients clipped to norm 1, as transformers' Trainer), linear warm-up (`warmup` steps, at most a tenth of
/// the run's steps, counted after the first step when `maxTime` bounds the run) then linear decay to 0 at the end
/// of the epochs or of `maxTime`, whichever comes first. Each step takes about `batchTokens` tokens of shuffled
/// examples, packed without padding; the step's examples are dealt to one copy of the adapters per thread, which
/// runs them in pieces of at most `pieceTokens` tokens and whose gradients are summed. The loss is the mean over
/// the step's positions that carry one.
public struct CausalTrainer {
    public var threads = 1
    public var epochs = 3
    public var lr = 2e-3
    public var warmup = 30
    public var batchTokens = 1024
    /// Tokens one copy runs through the network at once (its activations' memory: about 0.7 MB a token).
    public var pieceTokens = 512
    public var maxTime: Double?
    public var seed: UInt64 = 1
    public var patience = 3
    public var progress = false
    public var log: TrainingLog?
    /// Validation sequences: their loss is measured at each evaluation.
    public var valid: [CausalSequence] = []
    /// A score of the adapters at each evaluation (higher is better: chrF of generated replies), which then
    /// keeps the best instead of the validation loss.
    public var score: ((LoRAAdapters) -> Double)?
    /// Where each evaluation is reported when there is no progress line.
    public var note: ((String) -> Void)?
    /// Evaluations per run, evenly spaced over the epochs or the time budget (with `valid` or `score`).
    public var evaluations = 4

    public init() {}

    public struct Report {
        public var steps = 0, epochs = 0.0, seconds = 0.0, tokens = 0, examples = 0
        public var finalLoss: Float = .nan
        public var scores: [Double] = []
        public var validLosses: [Double] = []
        public var bestAt = 0.0
        public var outOfTime = false
        /// Stopped by Ctrl-C (`Interruption`), after a complete step.
        public var interrupted = false
        public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
    }

    public func train(_ model: LlamaModel, _ adapters: LoRAAdapters, on data: [CausalSequence]) -> Report {
        let started = monotonicSeconds()
        var rng = SplitMix64(seed: seed)
        let totalTokens = data.reduce(0) { $0 + $1.ids.count }
        let stepsPerEpoch = max(1, (totalTokens + batchTokens - 1) / batchTokens)
        let plannedSteps = stepsPerEpoch * max(epochs, 1)
        let parameters = adapters.parameters
        let optimizer = AdamW(parameters, lr: lr, warmup: min(warmup, max(plannedSteps / 10, 1)))
        optimizer.beta2 = 0.999
        optimizer.eps = 1e-8
        optimizer.weightDecay = 0
        optimizer.clip = 1
        let copies = [adapters] + (1..<max(threads, 1)).map { _ in adapters.copy() }
        let passes = copies.map { LoRATrainingPass(model, $0) }
        var report = Report()
        var line = StepProgress(started: started, epochs: epochs, maxTime: maxTime), recent: [Float] = [], status = ""
        var best: (score: Double, values: [[Float]])?, sinceBest = 0, nextEvaluation = 1
        var meter = EpochMeter(), evaluatedAt = -1
        let evaluating = !valid.isEmpty || score != nil
        let nats = UnsafeMutableBufferPointer<Double>.allocate(capacity: passes.count)
        nats.initialize(repeating: 0)
        defer { nats.deallocate() }

        /// The share of the run done: of the planned steps, or of the time budget when that ends first.
        func progressShare() -> Double {
            let bySteps = Double(report.steps) / Double(plannedSteps)
            guard let maxTime else { return bySteps }
            return max(bySteps, (monotonicSeconds() - started) / maxTime)
        }
        func rate() -> Double {
            if optimizer.step < optimizer.warmup { return lr * Double(optimizer.step + 1) / Double(optimizer.warmup) }
            return lr * max(0, 1 - progressShare())
        }
        func step(_ batch: [Int]) -> Float {
            // Deal the examples to the copies, longest first, each to the one with the fewest tokens so far.
            var parts = [[Int]](repeating: [], count: passes.count), load = [Int](repeating: 0, count: passes.count)
            for i in batch.sorted(by: { data[$0].ids.count > data[$1].ids.count }) {
                let t = load.indices.min { load[$0] < load[$1] }!
                parts[t].append(i)
                load[t] += data[i].ids.count
            }
            let trained = batch.reduce(0) { $0 + data[$1].trained }
            let scale = 1 / Float(max(trained, 1))
            let dropoutSeed = rng.next()
            for t in nats.indices { nats[t] = 0 }
            let busy = parts.indices.filter { !parts[$0].isEmpty }
            forEachBatch(busy.map { [$0] }, threads: busy.count) { _, one in
                let t = one[0]
                passes[t].dropoutSeed = dropoutSeed &+ UInt64(t) << 48
                for piece in pieces(parts[t]) {
                    passes[t].dropoutSeed &+= 0x9E37_79B9
                    nats[t] += passes[t].run(piece.map { data[$0] }, lossScale: scale, backward: true).nats
                }
            }
            mergeGradients(parameters, copies.dropFirst().map(\.parameters), weights: [Float](repeating: 1, count: copies.count))
            return Float(nats.reduce(0, +) / Double(max(trained, 1)))
        }
        func pieces(_ part: [Int]) -> [[Int]] { self.pieces(part.map { data[$0].ids.count }).map { $0.map { part[$0] } } }
        func evaluateNow() {
            let (loss, speed) = meter.finish()
            evaluatedAt = report.steps
            guard evaluating else {
                log?.epoch(report.epochs, loss: loss, lr: rate(), speed: ("tokens_per_s", speed))
                return
            }
            var score = 0.0
            status = " |"
            if !valid.isEmpty {
                let validLoss = meanLoss(valid, passes)
                report.validLosses.append(validLoss)
                score = -validLoss
                status += " valid loss \(Float(validLoss))"
            }
            if let measure = self.score {
                score = measure(adapters)
                status += " chrF \(String(format1: score))"
            }
            report.scores.append(score)
            if !progress { note?("step \(report.steps), epoch \(String(format1: report.epochs)):\(status.dropFirst())") }
            log?.epoch(report.epochs, loss: loss, lr: rate(), speed: ("tokens_per_s", speed),
                       valid: self.score != nil ? ("valid_chrf", score) : ("valid_loss", -score))
            if best == nil || score > best!.score {
                best = (score, parameters.map(\.value.values))
                report.bestAt = report.epochs
                sinceBest = 0
            } else {
                sinceBest += 1
            }
        }

        training: for epoch in 1...max(epochs, 1) {
            var order = Array(data.indices)
            order.shuffle(using: &rng)
            var batches: [[Int]] = [], n = 0
            for i in order {
                if batches.isEmpty || n >= batchTokens { batches.append([]); n = 0 }
                batches[batches.count - 1].append(i)
                n += data[i].ids.count
            }
            for (k, batch) in batches.enumerated() {
                if let maxTime, monotonicSeconds() - started >= maxTime {
                    report.outOfTime = true
                    break training
                }
                if Interruption.requested {
                    report.interrupted = true
                    break training
                }
                optimizer.fixedRate = rate()
                let loss = step(batch)
                optimizer.update()
                for other in copies.dropFirst() { copyValues(parameters, to: other.parameters) }
                let tokens = batch.reduce(0) { $0 + data[$1].ids.count }
                report.steps += 1
                if report.steps == 1, let maxTime {
                    // A time budget shorter than the epochs: the warm-up is at most a tenth of the steps it allows
                    // at the first step's pace, so that a run of minutes is not mostly warm-up.
                    let affordable = maxTime / max(monotonicSeconds() - started, 1e-9)
                    optimizer.warmup = max(1, min(optimizer.warmup, Int(affordable / 10)))
                }
                report.tokens += tokens
                report.examples += batch.count
                report.epochs = Double(epoch - 1) + Double(k + 1) / Double(batches.count)
                meter.add(loss: loss, items: tokens)
                recent.append(loss)
                if recent.count > 20 { recent.removeFirst() }
                if progress {
                    line.show(step: report.steps, epoch: report.epochs, count: report.tokens, unit: "tokens",
                              loss: recent.reduce(0, +) / Float(recent.count), lr: Float(optimizer.fixedRate ?? 0), status: status)
                }
                if progressShare() >= Double(nextEvaluation) / Double(max(evaluations, 1)) {
                    nextEvaluation = Int(progressShare() * Double(max(evaluations, 1))) + 1
                    evaluateNow()
                    if evaluating && sinceBest >= patience { break training }
                }
            }
        }
        if report.steps > 0 && evaluatedAt != report.steps { evaluateNow() }
        if progress { printProgressLine("") }
        report.seconds = monotonicSeconds() - started
        report.finalLoss = recent.isEmpty ? .nan : recent.reduce(0, +) / Float(recent.count)
        if let best { for (p, values) in zip(parameters, best.values) { p.value.values = values } }
        return report
    }

    /// Positions of consecutive sequences of `lengths`, in pieces of at most `pieceTokens` tokens (a longer
    /// sequence alone).
    func pieces(_ lengths: [Int]) -> [[Int]] {
        var out: [[Int]] = [], n = 0
        for (i, length) in lengths.enumerated() {
            if out.isEmpty || n + length > pieceTokens { out.append([]); n = 0 }
            out[out.count - 1].append(i)
            n += length
        }
        return out
    }

    /// The mean loss per position of `data` (dropout off), its pieces dealt to the passes' threads.
    func meanLoss(_ data: [CausalSequence], _ passes: [LoRATrainingPass]) -> Double {
        let batches = pieces(data.map(\.ids.count))
        let totals = UnsafeMutableBufferPointer<(Double, Int)>.allocate(capacity: passes.count)
        totals.initialize(repeating: (0, 0))
        defer { totals.deallocate() }
        forEachBatch(batches, threads: passes.count) { t, piece in
            passes[t].training = false
            let (nats, count) = passes[t].run(piece.map { data[$0] }, lossScale: 0, backward: false)
            passes[t].training = true
            totals[t] = (totals[t].0 + nats, totals[t].1 + count)
        }
        let (nats, count) = totals.reduce((0.0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        return nats / Double(max(count, 1))
    }
}

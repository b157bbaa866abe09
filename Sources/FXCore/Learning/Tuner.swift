#if canImport(Glibc)
import Glibc
#endif

/// fx-train --tune SECONDS: the linear model chooses its own settings on held-out pairs, within a time budget.
///
/// Trials train on the pairs outside a validation slice (or on all of them when the user gives --valid) and are
/// scored by accuracy on the slice. The search is successive halving in brackets: a bracket's candidates (the
/// first bracket starts with the defaults) train on a quarter, a sixteenth or a sixty-fourth of the training pairs
/// (at least 500), and the best third of them goes up a rung, four times the pairs, to all of them. Candidates are
/// drawn around the best trial of the highest rung so far (each setting moved with probability 1/2, by a step that
/// shrinks as the budget is spent) or, with a probability that falls from 1/2 to 1/10, anywhere in the space, as
/// fastText's autotune draws them. A trial predicted (from the trials so far) not to fit in what is left is not
/// started, and one still running when the budget ends is dropped, so the search ends within its budget. Rounds
/// follow from the results before them, so one thread and one seed give the same trials when the budget allows
/// the same number. The choice: the best trial of the highest rung reached.
public struct Tuner {
    /// The settings the search moves; those the user gave stay fixed.
    public enum Knob: String, CaseIterable, Sendable { case lr, epochs, dim, wordNgrams = "word-ngrams", charNgrams = "char-ngrams", loss, buckets }

    /// One point of the search space.
    public struct Candidate: Hashable, Sendable {
        public var lr: Double
        public var epochs: Int
        public var features: FeatureSettings
        public var loss: Loss

        /// The settings as fx-train options, to paste back.
        public var options: String {
            let f = features
            return "--lr \(Float(lr)) --epochs \(epochs) --dim \(f.dim) --word-ngrams \(f.wordNgrams) --minn \(f.minn) --maxn \(f.maxn) --loss \(loss.rawValue) --buckets \(f.buckets)"
        }

        var json: [JSONMember] {
            [JSONMember("lr", JSONValue(Double(Float(lr)))), JSONMember("epochs", JSONValue(epochs)), JSONMember("dim", JSONValue(features.dim)),
             JSONMember("word_ngrams", JSONValue(features.wordNgrams)), JSONMember("minn", JSONValue(features.minn)),
             JSONMember("maxn", JSONValue(features.maxn)), JSONMember("loss", .string(loss.rawValue)), JSONMember("buckets", JSONValue(features.buckets))]
        }
    }

    public struct Trial: Sendable {
        public var candidate: Candidate
        public var accuracy: Double
        public var seconds: Double
        /// The rung of successive halving: trained on `Result.rungSizes[rung]` pairs.
        public var rung: Int
    }

    public struct Result: Sendable {
        public var best: Trial
        /// The first trial: the settings fx-train would have used.
        public var defaults: Trial?
        public var trials: [Trial]
        public var dropped = 0
        public var seconds = 0.0
        public var rungSizes: [Int] = []
        public var validPairs = 0

        /// The search, for the model's metadata.
        public var json: JSONValue {
            .object([JSONMember("seconds", JSONValue(Double(Float(seconds)))), JSONMember("valid_pairs", JSONValue(validPairs)),
                     JSONMember("rung_pairs", .array(rungSizes.map { JSONValue($0) })),
                     JSONMember("chosen", .string(best.candidate.options)), JSONMember("dropped", JSONValue(dropped)),
                     JSONMember("trials", .array(trials.map { t in
                         .object(t.candidate.json + [JSONMember("pairs", JSONValue(rungSizes[t.rung])), JSONMember("accuracy", JSONValue(Double(Float(t.accuracy)))),
                                                    JSONMember("seconds", JSONValue(Double(Float(t.seconds))))])
                     }))])
        }
    }

    /// The search's budget in seconds (the final training comes after it).
    public var seconds: Double
    /// Trials run at once, each on one thread.
    public var threads = 1
    public var seed: UInt64 = 0
    public var fixed: Set<Knob> = []
    /// The search stops after this many trials even with time left (small datasets).
    public var maxTrials = 120
    public var negatives = 5
    public var progress = false

    public init(seconds: Double) { self.seconds = seconds }

    /// Which pairs form the validation slice: per label (an example's first), the fraction `max(10%, 200 pairs)`
    /// (at most half) with the lowest stable hash of the input (fx-pair --holdout's), so the same pairs land in
    /// it whatever the order, the threads or the run, and a rare label keeps pairs on both sides.
    public static func validationSlice(hashes: [UInt64], labels: [Int32]) -> [Bool] {
        let n = hashes.count
        let fraction = min(0.5, max(0.1, 200 / Double(max(n, 1))))
        var groups: [Int32: [Int]] = [:]
        for (i, label) in labels.enumerated() { groups[label, default: []].append(i) }
        // Each label's members by hash; its share of the slice by largest remainders, so the slice holds
        // fraction x n pairs, at least one of each label with two and never all of them.
        let members = groups.values.filter { $0.count >= 2 }.map { $0.sorted { (hashes[$0], $0) < (hashes[$1], $1) } }
            .sorted { hashes[$0[0]] < hashes[$1[0]] }
        let quotas = members.map { fraction * Double($0.count) }
        var takes = quotas.map { Int($0) }
        let total = Int((fraction * Double(n)).rounded(.up))
        for k in members.indices.sorted(by: { quotas[$0] - Double(takes[$0]) > quotas[$1] - Double(takes[$1]) })
        where takes.reduce(0, +) < total { takes[k] += 1 }
        var valid = [Bool](repeating: false, count: n)
        for (group, take) in zip(members, takes) {
            for i in group.prefix(min(group.count - 1, max(1, take))) { valid[i] = true }
        }
        return valid
    }

    /// Searches from `start` (the defaults, with the user's settings) on `trainCount` training pairs and
    /// `validCount` validation pairs. `featurize(settings, n, v)` gives the first `n` training pairs (in a stable
    /// random order: a rung trains on the first of them) and the first `v` validation pairs as feature rows of a
    /// model's settings; `makeModel` a fresh model.
    func search(start: Candidate, trainCount: Int, validCount: Int, labelCount: Int, vocabularySize: Int, multiLabel: Bool,
                model makeModel: (Candidate) -> TextModel,
                featurize: (FeatureSettings, Int, Int) -> (train: FeaturizedData, valid: FeaturizedData)) -> Result {
        let started = monotonicSeconds(), deadline = started + seconds
        var rng = SplitMix64(seed: StableHash.mix(seed &+ 0x7475_6E65))
        var trials: [Trial] = [], tried: Set<Candidate> = [], dropped = 0
        var secondsPerUnit: [Double] = []
        let losses: [Loss] = multiLabel ? [.ova, .ns] : labelCount > 2 ? [.ova, .softmax, .ns, .hs] : [.ova, .softmax]
        // Rungs of successive halving: the first trainCount / 4^(rungs - r) pairs, the last rung all of them;
        // the smallest at least 500 pairs, 3 rungs above it at most. The lower rungs score on part of the
        // validation pairs (twice their training pairs, at least 2,000): enough to rank, and quick.
        var rungCount = 0
        while rungCount < 3 && trainCount >> (2 * (rungCount + 1)) >= 500 { rungCount += 1 }
        let sizes = (0...rungCount).map { trainCount >> (2 * (rungCount - $0)) }
        let validSizes = (0...rungCount).map { $0 == rungCount ? validCount : min(validCount, max(2000, 2 * sizes[$0])) }

        var cache: [(key: FeatureSettings, rung: Int, data: (train: FeaturizedData, valid: FeaturizedData))] = []
        /// Feature rows of all the training pairs, measured for the settings featurized so far.
        var featureRows: [FeatureSettings: Double] = [:]
        func data(_ f: FeatureSettings, _ rung: Int) -> (train: FeaturizedData, valid: FeaturizedData) {
            let key = Self.featureKey(f)
            if let hit = cache.first(where: { $0.key == key && $0.rung == rung }) { return hit.data }
            let made = featurize(key, sizes[rung], validSizes[rung])
            featureRows[key] = Double(made.train.features.count) * Double(trainCount) / Double(max(sizes[rung], 1))
            cache.append((key, rung, made))
            if cache.count > 4 { cache.removeFirst() }  // featurized pairs can be large (character n-grams)
            return made
        }
        let first = data(start.features, 0).train
        /// Feature rows of all the training pairs: measured, or estimated from the first settings' words (word
        /// n-grams in proportion, character n-grams about 5 per word and length).
        func rows(_ f: FeatureSettings) -> Double {
            if let known = featureRows[Self.featureKey(f)] { return known }
            let words = Double(first.tokens) * Double(trainCount) / Double(max(first.count, 1))
            let chars = f.minn > 0 ? words * Double(f.maxn - f.minn + 1) * 5 : 0
            return words * Double(f.wordNgrams) + chars
        }

        /// Work of a trial, for predicting its time: epochs x (feature rows + output rows) x dim, and the model's
        /// rows made once, about a quarter as dear per float.
        func units(_ c: Candidate, _ rung: Int) -> Double {
            let outputs: Double
            switch c.loss {
            case .ova, .softmax: outputs = Double(labelCount)
            case .ns: outputs = Double(1 + negatives)
            case .hs: outputs = log2(Double(max(labelCount, 2)))
            }
            let share = Double(sizes[rung]) / Double(max(trainCount, 1))
            let modelRows = Double(c.features.buckets + vocabularySize)
            let perEpoch = share * (rows(c.features) + Double(trainCount) * outputs)
            return (Double(c.epochs) * perEpoch + modelRows / 4) * Double(c.features.dim)
        }
        func predicted(_ c: Candidate, _ rung: Int) -> Double? {
            guard !secondsPerUnit.isEmpty else { return nil }
            return secondsPerUnit.sorted()[secondsPerUnit.count / 2] * units(c, rung)
        }
        func run(_ c: Candidate, _ rung: Int, _ pairs: (train: FeaturizedData, valid: FeaturizedData)) -> Trial? {
            let t0 = monotonicSeconds()
            let model = makeModel(c)
            model.setInverseDocumentFrequencies(pairs.train)
            var trainer = Trainer()
            (trainer.epochs, trainer.lr, trainer.threads, trainer.seed, trainer.negatives) = (c.epochs, c.lr, 1, seed, negatives)
            trainer.deadline = deadline
            trainer.restartsDivergedEpochs = false
            let report = trainer.train(model, on: pairs.train, valid: nil)
            guard !report.outOfTime else { return nil }
            return Trial(candidate: c, accuracy: Trainer.accuracy(model, pairs.valid), seconds: monotonicSeconds() - t0, rung: rung)
        }
        /// The candidates' trials on one rung, `threads` at a time. Those predicted not to fit in the time left, or
        /// to cost more than 4 times the defaults on the rung (a budget spent on few dear trials finds little), are
        /// not started.
        func evaluate(_ pool: [Candidate], _ rung: Int) -> [Trial] {
            var done: [Trial] = []
            var queue = pool[...]
            while !queue.isEmpty && monotonicSeconds() < deadline && trials.count + done.count + dropped < maxTrials {
                var batch: [Candidate] = []
                while batch.count < threads, let c = queue.popFirst() {
                    if let p = predicted(c, rung), monotonicSeconds() + p > deadline || p > 4 * predicted(start, rung)! { continue }
                    batch.append(c)
                }
                if batch.isEmpty { break }
                let inputs = batch.map { data($0.features, rung) }
                var results = [Trial?](repeating: nil, count: batch.count)
                results.withUnsafeMutableBufferPointer { out in
                    concurrently(batch.count) { i in out[i] = run(batch[i], rung, inputs[i]) }
                }
                for (c, result) in zip(batch, results) {
                    guard let trial = result else { dropped += 1; continue }
                    done.append(trial)
                    secondsPerUnit.append(trial.seconds / max(units(c, rung), 1))
                }
                if progress, let best = Self.best(trials + done) {
                    let left = max(0, deadline - monotonicSeconds())
                    printProgressLine("tune: trial \(trials.count + done.count), best valid accuracy \(String(format1: best.accuracy * 100))% on \(sizes[best.rung]) pairs (\(best.candidate.options)), \(Int(left)) s left")
                }
            }
            return done
        }

        // Brackets: candidates (the defaults first, then around the best so far or anywhere) on the smallest rung;
        // the best third goes up a rung, four times the pairs, to the last.
        var bracket = 0
        while monotonicSeconds() < deadline && trials.count + dropped < maxTrials {
            let spent = (monotonicSeconds() - started) / seconds
            let width = rungCount == 0 ? threads : max(threads, (9 + threads - 1) / threads * threads)
            var pool: [Candidate] = bracket == 0 ? [start] : []
            var attempts = 0
            while pool.count < width && attempts < 50 * width {
                attempts += 1
                var c = propose(around: Self.best(trials)?.candidate ?? start, spent: spent, losses: losses, &rng)
                c.lr = Self.threeDigits(c.lr)
                if tried.contains(c) || pool.contains(c) { continue }
                pool.append(c)
            }
            if pool.isEmpty { break }
            tried.formUnion(pool)
            for rung in 0...rungCount {
                let done = evaluate(pool, rung)
                trials += done
                if done.isEmpty || rung == rungCount { break }
                var next = done.sorted { $0.accuracy > $1.accuracy }.prefix(max(1, done.count / 3)).map(\.candidate)
                // The defaults go up with the first bracket's best: a yardstick on every rung.
                if bracket == 0 && !next.contains(start) && done.contains(where: { $0.candidate == start }) { next.append(start) }
                pool = next
            }
            bracket += 1
        }
        if progress { printProgressLine("") }
        let chosen = Self.best(trials) ?? Trial(candidate: start, accuracy: 0, seconds: 0, rung: 0)
        return Result(best: chosen, defaults: trials.last { $0.candidate == start && $0.rung == chosen.rung }, trials: trials, dropped: dropped,
                      seconds: monotonicSeconds() - started, rungSizes: sizes)
    }

    /// The best trial on the highest rung reached.
    static func best(_ trials: [Trial]) -> Trial? {
        guard let top = trials.map(\.rung).max() else { return nil }
        return trials.filter { $0.rung == top }.max { $0.accuracy < $1.accuracy }
    }

    /// `x` to three significant digits, so a candidate reads as it prints and repeats are recognised.
    static func threeDigits(_ x: Double) -> Double {
        guard x > 0 && x.isFinite else { return x }
        let unit = pow(10, (log10(x)).rounded(.down) - 2)
        return Double(Float((x / unit).rounded() * unit))
    }

    /// Feature rows do not depend on the dimension: one featurization serves every dim.
    static func featureKey(_ f: FeatureSettings) -> FeatureSettings {
        var key = f
        key.dim = 1
        return key
    }

    static let dims = [16, 24, 32, 48, 64, 96, 128, 192, 256]
    static let charNgrams = [(0, 0), (2, 4), (3, 5), (3, 6), (2, 5), (4, 6)]
    static let bucketChoices = [1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 20, 1 << 21]
    /// Buckets x dim at most: 64 MB of floats per model (the default's size).
    static let maxBucketParameters = 1 << 24

    /// A candidate near `best` (or, early on more often, anywhere), the fixed settings kept.
    func propose(around best: Candidate, spent: Double, losses: [Loss], _ rng: inout SplitMix64) -> Candidate {
        let free = Knob.allCases.filter { !fixed.contains($0) }
        guard !free.isEmpty else { return best }
        let explore = Double.random(in: 0..<1, using: &rng) < max(0.1, 0.5 * (1 - spent))
        let radius = explore ? 1.0 : max(0.2, 1 - 0.8 * spent)
        var c = best
        var moved = free.filter { _ in explore || Bool.random(using: &rng) }
        if moved.isEmpty { moved = [free[Int.random(in: 0..<free.count, using: &rng)]] }
        func gaussian() -> Double {
            let u = Double.random(in: Double.ulpOfOne..<1, using: &rng), v = Double.random(in: 0..<1, using: &rng)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        func step<T: Equatable>(_ list: [T], from value: T, by spread: Int) -> T {
            let i = list.firstIndex(of: value) ?? list.count / 2
            let j = explore ? Int.random(in: 0..<list.count, using: &rng)
                : min(list.count - 1, max(0, i + (Bool.random(using: &rng) ? 1 : -1) * Int.random(in: 1...max(1, spread), using: &rng)))
            return list[j]
        }
        let spread = max(1, Int((2 * radius).rounded()))
        for knob in moved {
            switch knob {
            case .lr:
                c.lr = explore ? exp(Double.random(in: log(0.05)...log(2.0), using: &rng)) : min(3, max(0.02, c.lr * exp(0.7 * radius * gaussian())))
            case .epochs:
                c.epochs = explore ? Int(exp(Double.random(in: log(5.0)...log(100.0), using: &rng))) : min(150, max(3, Int((Double(c.epochs) * exp(0.6 * radius * gaussian())).rounded())))
            case .dim:
                c.features.dim = step(Self.dims, from: c.features.dim, by: spread)
            case .wordNgrams:
                c.features.wordNgrams = explore ? Int.random(in: 1...4, using: &rng) : min(4, max(1, c.features.wordNgrams + (Bool.random(using: &rng) ? 1 : -1)))
            case .charNgrams:
                let pairs = Self.charNgrams.map { [$0.0, $0.1] }
                let p = step(pairs, from: [c.features.minn, c.features.maxn], by: spread)
                (c.features.minn, c.features.maxn) = (p[0], p[1])
            case .loss:
                c.loss = losses[Int.random(in: 0..<losses.count, using: &rng)]
            case .buckets:
                c.features.buckets = step(Self.bucketChoices, from: c.features.buckets, by: spread)
            }
        }
        if !fixed.contains(.buckets) {
            while c.features.buckets > Self.bucketChoices[0] && c.features.buckets * c.features.dim > Self.maxBucketParameters { c.features.buckets /= 2 }
        }
        return c
    }
}

/// The last steps of fx-pair: holdout split, de-duplication, statistics, output format.
public final class PairWriter {
    public struct Settings {
        /// The share of pairs that get `"split": "test"`; nil adds no split.
        public var holdout: Double?
        public var dedupe = false
        public var stats = false
        public var seed: UInt64 = 0
        public var format: PairFormat = .fx
        public var formatSettings = PairFormat.Settings()
        public init() {}
    }

    /// What `--stats` reports.
    public struct Stats {
        public var pairs = 0
        public var emptyInputs = 0
        public var duplicateInputs = 0
        public var duplicatePairsDropped = 0
        /// Per target: pairs in train (or in all, without holdout) and in test.
        public var perTarget: [String: (train: Int, test: Int)] = [:]
    }

    private let settings: Settings
    private let output: Output
    private var seenPairs = Set<UInt64>()
    private var seenInputs = Set<UInt64>()
    private var scratch: [UInt8] = []
    public private(set) var stats = Stats()

    private static let train = JSONValue.string("train").encoded
    private static let test = JSONValue.string("test").encoded

    public init(_ settings: Settings, output: Output) {
        self.settings = settings
        self.output = output
    }

    /// Writes one pair record (fields `input` and `target` present and checked).
    public func write(_ pair: Record) throws {
        var record = pair
        guard let i = record.index(of: "input"), let t = record.index(of: "target") else {
            throw FXError.data("a pair needs 'input' and 'target'")
        }
        var inputHash = StableHash(seed: settings.seed)
        var isEmpty = true
        _ = record.withStringBytes(at: i, scratch: &scratch) { bytes in
            inputHash.combine(bytes)
            isEmpty = bytes.isBlank
        }
        let inputKey = inputHash.value
        if settings.dedupe {
            var pairHash = StableHash(seed: inputKey)
            record.withRawValue(at: t) { pairHash.combine($0) }
            if !seenPairs.insert(pairHash.value).inserted {
                stats.duplicatePairsDropped += 1
                return
            }
        }
        var isTest = false
        if let fraction = settings.holdout {
            isTest = StableHash.unitInterval(inputKey) < fraction
            record.setRaw("split", isTest ? Self.test : Self.train)
        }
        if settings.stats { count(record, target: t, inputKey: inputKey, isEmpty: isEmpty, isTest: isTest) }
        settings.format.apply(to: &record, settings.formatSettings)
        try output.write(record)
    }

    private func count(_ record: Record, target t: Int, inputKey: UInt64, isEmpty: Bool, isTest: Bool) {
        stats.pairs += 1
        if isEmpty { stats.emptyInputs += 1 }
        if !seenInputs.insert(inputKey).inserted { stats.duplicateInputs += 1 }
        let labels: [String]
        if let s = record.string(at: t) {
            labels = [s]
        } else if case .array(let items) = record.value(at: t) {
            labels = items.compactMap(\.stringValue)
        } else {
            labels = []
        }
        for label in labels {
            var c = stats.perTarget[label] ?? (0, 0)
            if isTest { c.test += 1 } else { c.train += 1 }
            stats.perTarget[label] = c
        }
    }

    /// The statistics as lines for stderr: a summary, then targets by count (the 30 most frequent when there are more).
    public func statsReport() -> [String] {
        let s = stats
        var lines = ["\(s.pairs) pairs, \(s.perTarget.count) distinct targets, \(s.emptyInputs) empty inputs, \(s.duplicateInputs) duplicate inputs"
            + (settings.dedupe ? ", \(s.duplicatePairsDropped) duplicate pairs dropped" : "")]
        let sorted = s.perTarget.sorted { a, b in
            let ca = a.value.train + a.value.test, cb = b.value.train + b.value.test
            return ca != cb ? ca > cb : a.key < b.key
        }
        let shown = sorted.prefix(30)
        let width = min(40, max(6, shown.map { $0.key.count }.max() ?? 6))
        func pad(_ text: String, _ n: Int, left: Bool = false) -> String {
            let cut = text.count > n ? String(text.prefix(n - 1)) + "…" : text
            let fill = String(repeating: " ", count: max(0, n - cut.count))
            return left ? cut + fill : fill + cut
        }
        if settings.holdout != nil {
            lines.append(pad("target", width, left: true) + pad("train", 9) + pad("test", 9))
            for (label, c) in shown { lines.append(pad(label, width, left: true) + pad(String(c.train), 9) + pad(String(c.test), 9)) }
        } else {
            lines.append(pad("target", width, left: true) + pad("pairs", 9))
            for (label, c) in shown { lines.append(pad(label, width, left: true) + pad(String(c.train), 9)) }
        }
        if sorted.count > shown.count { lines.append("... and \(sorted.count - shown.count) more targets") }
        return lines
    }
}

/// fx-pair's whole run: every input item to pairs, then through the writer.
///
/// JSON Lines records are renamed; documents are table rows (`.csv`/`.tsv`, or `--table`), halves of parallel
/// text (`--parallel`), or else labeled by their folder.
public struct PairingJob {
    public var source = PairSource()
    /// The two language suffixes (or folder names) of parallel text.
    public var parallel: (source: String, target: String)?
    /// Read every document as a table with this delimiter, whatever its name.
    public var tableDelimiter: UInt8?
    public var writer = PairWriter.Settings()
    /// Threads for the per-item work; pairs are written in input order. `--dedupe`, `--stats` and parallel text
    /// carry state from one item to the next, and run on one.
    public var threads = 1

    public init() {}

    public func run(_ tool: ToolRun, files: [String]) throws {
        var parallelText = parallel.map { ParallelText(source: $0.source, target: $0.target) }
        let threads = self.writer.dedupe || self.writer.stats || parallel != nil ? 1 : self.threads
        let pipeline = OrderedParallel(threads: threads, output: tool.output, policy: tool.policy) { PairWriter(self.writer, output: $0) }
        let writer = pipeline.workers[0]
        try tool.run {
            try pipeline.forEach(tool.inputs, files) { writer, item, place in
                switch item {
                case .record(let record):
                    try writer.write(source.pair(fromRecord: record))
                case .document(let document):
                    if parallelText != nil {
                        try parallelText!.add(document)
                    } else if let delimiter = tableDelimiter ?? Table.delimiter(forPath: document.path) {
                        try source.pairs(fromTable: document, delimiter: delimiter, place: place, policy: tool.policy) { pair, rowPlace in
                            do { try writer.write(pair) } catch let error as FXError { try tool.policy.handle(error.placed(at: rowPlace)) }
                        }
                    } else {
                        try writer.write(source.pair(fromDocument: document))
                    }
                }
            }
            try parallelText?.forEachPair(policy: tool.policy) { pair, place in
                do { try writer.write(pair) } catch let error as FXError { try tool.policy.handle(error.placed(at: place)) }
            }
            if self.writer.stats {
                let report = writer.statsReport()
                printError("\(tool.name): " + report[0])
                for line in report.dropFirst() { printError("  " + line) }
            }
        }
    }
}

/// fx-mask's whole run.
extension Masker {
    /// Masks every document of `files` on `threads` threads, writing the examples in input order (the same bytes
    /// with any number of threads), and returns the summary line.
    public static func run(_ settings: Settings, _ tool: ToolRun, files: [String], threads: Int) throws -> String {
        let pipeline = OrderedParallel(threads: threads, output: tool.output, policy: tool.policy) { Masker(settings, output: $0) }
        try pipeline.forEachRecord(tool.inputs, files) { masker, record in try masker.mask(record) }
        return pipeline.workers[0].summary(pipeline.workers.map(\.stats).reduce(Stats(), +))
    }
}

import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The frame every tool runs in: records to stdout through one buffer, errors to stderr as `tool: place: reason`,
/// exit statuses as DESIGN.md says, and a broken pipe downstream ending the run quietly with 0.
public struct ToolRun {
    public let name: String
    public let output: Output
    public let policy: ErrorPolicy
    public let inputs: InputReader
    public let quiet: Bool

    public init(name: String, common: CommonOptions, input: InputOptions) {
        signal(SIGPIPE, SIG_IGN)
        self.name = name
        self.output = Output()
        self.policy = ErrorPolicy(common.onError, tool: name)
        self.inputs = InputReader(policy: policy, lines: input.lines, jsonLines: input.jsonl, maxMemberBytes: input.maxMemberBytes)
        self.quiet = common.quiet
    }

    /// A summary or warning line on stderr, unless `-q`.
    public func note(_ line: String) {
        if !quiet { printError("\(name): \(line)") }
    }

    /// The closing summary: stdout is flushed first, so a closed pipe ends the run quietly before anything is said.
    public func summary(_ line: String) throws {
        try output.flush()
        note(line)
    }

    /// Runs `body`, flushes stdout, reports skipped members and records, and maps errors to exit statuses.
    public func run(_ body: () throws -> Void) throws {
        AtomicFile.installSignalCleanup()
        do {
            try body()
            try output.flush()
        } catch is BrokenPipe {
            throw ExitCode.success
        } catch let error as FXError {
            do { try output.flush() } catch is BrokenPipe { throw ExitCode.success } catch {}
            printError("\(name): \(error)")
            throw ExitCode(error.status.rawValue)
        }
        if inputs.binarySkipped > 0 {
            note("skipped \(inputs.binarySkipped) binary member\(inputs.binarySkipped == 1 ? "" : "s")")
        }
        if policy.skipped > 0 {
            printError("\(name): skipped \(policy.skipped) bad record\(policy.skipped == 1 ? "" : "s")")
            throw ExitCode(ExitStatus.dataError.rawValue)
        }
    }
}

extension ToolRun {
    /// Reads records in groups of `size` and processes each group at once (models that work in batches).
    /// The records read before a bad one (a line that is not JSON, or one `read` rejects) are processed before it
    /// is reported, so output keeps input order.
    public func forEachGroup<T>(_ files: [String], size: Int = 1024, read: (Record) throws -> T,
                                process: ([(record: Record, value: T)]) throws -> Void) throws {
        var group: [(record: Record, value: T)] = []
        func flush() throws {
            let taken = group
            group = []
            try process(taken)
        }
        do {
            try inputs.forEachRecord(files) { record, _ in
                do {
                    group.append((record, try read(record)))
                } catch let error as FXError where error.kind == .data {
                    try flush()
                    throw error
                }
                if group.count >= size { try flush() }
            }
        } catch let error as FXError where error.kind == .data {
            try flush()
            throw error
        }
        try flush()
    }
}

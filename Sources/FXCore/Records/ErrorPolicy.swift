import Dispatch

/// What a tool does with a bad record: stop at the first (`fail`), or report each and go on (`skip`).
public final class ErrorPolicy {
    public enum Mode: String, CaseIterable, Sendable {
        case fail, skip
    }

    public let mode: Mode
    public let tool: String
    /// Bad records reported and passed over so far.
    public private(set) var skipped = 0

    public init(_ mode: Mode, tool: String) {
        self.mode = mode
        self.tool = tool
    }

    private let lock = DispatchSemaphore(value: 1)
    /// Set while records are worked on in parallel (`OrderedParallel`): under skip, data errors go there, to be
    /// reported in input order with `report`.
    var deferred: ((FXError) -> Void)?

    /// Throws `error` under `fail`, and for anything that is not a data error; under `skip`, reports it and counts it.
    public func handle(_ error: FXError) throws {
        guard mode == .skip, error.kind == .data else { throw error }
        if let deferred { deferred(error); return }
        try report(error)
    }

    /// `handle`, never deferred.
    func report(_ error: FXError) throws {
        guard mode == .skip, error.kind == .data else { throw error }
        lock.wait()
        defer { lock.signal() }
        skipped += 1
        printError("\(tool): \(error)")
    }
}

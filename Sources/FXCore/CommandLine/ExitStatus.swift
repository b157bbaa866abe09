/// The exit statuses every fx tool uses; DESIGN.md and man/fx.7 document them.
public enum ExitStatus: Int32, Sendable {
    /// Everything read was written.
    case success = 0
    /// Bad input data: invalid JSON or UTF-8, a missing field, a label that cannot be found.
    case dataError = 1
    /// A usage error: bad options or arguments (ArgumentParser's validation exits with it too).
    case usage = 64
    /// An I/O error: a missing file, an unreadable or corrupt archive, a full disk.
    case ioError = 74
}

/// An error that ends a tool (or, with `--on-error skip`, one record) with a message naming the place.
public struct FXError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case data, io, usage }

    public var kind: Kind
    /// Where it happened, e.g. `corpus.jsonl:17`, or `news.tar.gz:sport/a.txt`; empty when nowhere in particular.
    public var place: String
    public var reason: String

    public init(_ kind: Kind, _ reason: String, at place: String = "") {
        self.kind = kind
        self.reason = reason
        self.place = place
    }

    public static func data(_ reason: String, at place: String = "") -> FXError { FXError(.data, reason, at: place) }
    public static func io(_ reason: String, at place: String = "") -> FXError { FXError(.io, reason, at: place) }
    public static func usage(_ reason: String) -> FXError { FXError(.usage, reason) }

    public var status: ExitStatus {
        switch kind {
        case .data: return .dataError
        case .io: return .ioError
        case .usage: return .usage
        }
    }

    public var description: String { place.isEmpty ? reason : "\(place): \(reason)" }

    /// The same error, placed at `place` unless it already names one.
    public func placed(at place: @autoclosure () -> String) -> FXError {
        if !self.place.isEmpty { return self }
        var copy = self
        copy.place = place()
        return copy
    }
}

/// Thrown when stdout's reader has gone away (`| head`): the tool ends quietly with status 0.
public struct BrokenPipe: Error {
    public init() {}
}

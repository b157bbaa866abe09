#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte sink on a file descriptor, written through one large buffer with write(2).
///
/// EPIPE (the reader went away, `| head`) becomes `BrokenPipe`, which the tool runner turns into a quiet exit 0;
/// any other failure (a full disk) is an I/O error.
public final class Output {
    public let fd: Int32
    public let name: String
    private var buffer: [UInt8] = []
    private let capacity: Int

    public init(fd: Int32 = 1, name: String = "<stdout>", capacity: Int = 1 << 20) {
        self.fd = fd
        self.name = name
        self.capacity = capacity
        if fd >= 0 { buffer.reserveCapacity(capacity + 4096) }
    }

    /// A sink that keeps everything written to it in memory until `discardPending()` (a worker's share of the output).
    public static func memory() -> Output { Output(fd: -1, name: "<memory>", capacity: Int.max) }

    /// Bytes written and not yet flushed.
    public var pending: Int { buffer.count }

    /// Copies the pending bytes `range` to `other`.
    public func copyPending(_ range: Range<Int>, to other: Output) throws {
        try buffer.withUnsafeBufferPointer { try other.write(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// Drops the pending bytes, keeping the buffer's capacity.
    public func discardPending() { buffer.removeAll(keepingCapacity: true) }

    /// Appends bytes, flushing when the buffer is full.
    @inline(__always)
    public func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { try flush() }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { try write($0) }
    }

    public func write(_ string: String) throws {
        var s = string
        try s.withUTF8 { try write($0) }
    }

    /// Lets an encoder append to the pending bytes in place; flushes when the buffer is full.
    @inline(__always)
    public func append(_ body: (inout [UInt8]) throws -> Void) throws {
        try body(&buffer)
        if buffer.count >= capacity { try flush() }
    }

    public func flush() throws {
        guard fd >= 0 else { return }
        var offset = 0
        defer {
            if offset > 0 && offset < buffer.count { buffer.removeFirst(offset) } else if offset >= buffer.count { buffer.removeAll(keepingCapacity: true) }
        }
        try buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n >= 0 { offset += n; continue }
                switch errno {
                case EINTR: continue
                case EPIPE: throw BrokenPipe()
                default: throw FXError.io("write failed: \(errnoText())", at: name)
                }
            }
        }
    }
}

/// Writes a line to stderr at once (warnings, summaries); failures to write there are ignored.
public func printError(_ line: String) {
    var s = line
    if !s.hasSuffix("\n") { s += "\n" }
    s.withUTF8 { buf in
        var offset = 0
        while offset < buf.count {
            let n = Glibc.write(2, buf.baseAddress! + offset, buf.count - offset)
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
        }
    }
}

/// Rewrites the progress line at the bottom of the terminal (stderr) with `line`; an empty line clears it.
public func printProgressLine(_ line: String) {
    var bytes = Array(("\r" + line + "\u{1B}[K").utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
}

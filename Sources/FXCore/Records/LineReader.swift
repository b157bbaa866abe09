#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into lines on 0x0A, as swift-nio-extras' LineBasedFrameDecoder does.
///
/// One reused buffer; a `\r` before the newline is dropped, a UTF-8 byte order mark at the start is skipped,
/// a last line without newline is still a line, and a line may be of any length (the buffer grows).
public final class LineReader {
    private let source: ByteSource
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0          // first byte not yet handed out
    private var end = 0            // one past the last byte read
    private var scanned = 0        // bytes from `start` already searched for a newline
    private var atEOF = false
    private var atStart = true
    /// The number of the line last handed out, counting from 1 and counting blank lines.
    public private(set) var lineNumber = 0

    public init(_ source: ByteSource, capacity: Int = 1 << 20) {
        self.source = source
        self.buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next line without its terminator, valid until the next call; nil at the end.
    public func next() throws -> UnsafeBufferPointer<UInt8>? {
        while true {
            let base = buffer.baseAddress!
            if end > start + scanned {
                let from = base + start + scanned
                if let hit = memchr(from, 0x0A, end - start - scanned) {
                    let nl = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                    var lineEnd = nl
                    if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                    let line = slice(start, lineEnd)
                    start = nl + 1
                    scanned = 0
                    lineNumber += 1
                    return line
                }
                scanned = end - start
            }
            if atEOF {
                if start < end {
                    var lineEnd = end
                    if buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                    let line = slice(start, lineEnd)
                    start = end
                    lineNumber += 1
                    return line
                }
                return nil
            }
            try fill()
        }
    }

    private func slice(_ from: Int, _ to: Int) -> UnsafeBufferPointer<UInt8> {
        var from = from
        if atStart {
            atStart = false
            if to - from >= 3 && buffer[from] == 0xEF && buffer[from + 1] == 0xBB && buffer[from + 2] == 0xBF { from += 3 }
        }
        return UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self) + from, count: to - from)
    }

    private func fill() throws {
        if start > 0 {
            let pending = end - start
            if pending > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, pending) }
            start = 0
            end = pending
        }
        if end == buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        if n == 0 { atEOF = true } else { end += n }
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// True when the bytes are only spaces, tabs and carriage returns (a blank line).
    @inlinable
    public var isBlank: Bool {
        for b in self where b != 0x20 && b != 0x09 && b != 0x0D { return false }
        return true
    }
}

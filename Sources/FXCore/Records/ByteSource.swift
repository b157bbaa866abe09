#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Something that fills a caller's buffer with the next bytes of a stream: a file, stdin, an archive member.
public protocol ByteSource: AnyObject {
    /// Copies up to `buffer.count` bytes into `buffer`; returns 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// The text of `errno` as strerror gives it.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// A file descriptor read with read(2), retrying on EINTR.
public final class FileSource: ByteSource {
    public let fd: Int32
    public let name: String
    private let owned: Bool

    /// Opens `path` for reading; `-` means stdin.
    public init(path: String) throws {
        if path == "-" {
            fd = 0
            name = "<stdin>"
            owned = false
            return
        }
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        if fd < 0 { throw FXError.io(errnoText(), at: path) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw FXError.io("is a directory", at: path)
        }
        self.fd = fd
        self.name = path
        self.owned = true
    }

    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        self.owned = false
    }

    deinit {
        if owned { close(fd) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw FXError.io(errnoText(), at: name)
        }
    }
}

/// A source that first replays bytes already read (a peek at the start of a stream), then reads on.
public final class ReplaySource: ByteSource {
    private var pending: [UInt8]
    private var offset = 0
    private let rest: ByteSource

    public init(prefix: [UInt8], rest: ByteSource) {
        self.pending = prefix
        self.rest = rest
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if offset < pending.count {
            let n = min(buffer.count, pending.count - offset)
            pending.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
            }
            offset += n
            if offset == pending.count { pending = []; offset = 0 }
            return n
        }
        return try rest.read(into: buffer)
    }
}

/// A source over bytes already in memory.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        if n > 0 {
            bytes.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
            }
            offset += n
        }
        return n
    }
}

extension ByteSource {
    /// Reads until `count` bytes are there or the stream ends.
    public func readUpTo(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        try out.withUnsafeMutableBytes { raw in
            while filled < count {
                let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
                if n == 0 { break }
                filled += n
            }
        }
        out.removeSubrange(filled...)
        return out
    }

    /// Reads the whole rest of the stream; more than `limit` bytes is a data error.
    public func readAll(limit: Int, name: @autoclosure () -> String) throws -> [UInt8] {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            if out.count + n > limit {
                throw FXError.data("larger than --max-member-bytes (\(limit) bytes)", at: name())
            }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

/// Whether `path` names a directory.
func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
}

/// The size in bytes of a regular file; an I/O error when there is none at `path`.
func fileSize(_ path: String) throws -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else { throw FXError.io(errnoText(), at: path) }
    guard (info.st_mode & S_IFMT) == S_IFREG else { throw FXError.io("not a regular file", at: path) }
    return Int(info.st_size)
}

/// Creates the directory `path` (and its parents) unless it exists.
func makeDirectory(_ path: String) throws {
    if isDirectory(path) { return }
    let parent = EncoderModel.folder(of: path)
    if parent != path && parent != "." && parent != "/" { try makeDirectory(parent) }
    guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw FXError.io("cannot create the folder: \(errnoText())", at: path) }
}

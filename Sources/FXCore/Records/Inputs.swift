#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A text document: an archive member, a file in a folder, a plain-text input (or one of its lines).
public struct Document {
    /// The member's path inside its archive or folder, or the file's name.
    public var path: String
    public var text: String
    /// The line number, when documents are taken one per line (`--lines`).
    public var line: Int?

    public init(path: String, text: String, line: Int? = nil) {
        self.path = path
        self.text = text
        self.line = line
    }

    /// The document as a record: `{"path", "text"}` (and `"line"` with `--lines`).
    public var record: Record {
        var members = [JSONMember("path", .string(path))]
        if let line { members.append(JSONMember("line", JSONValue(line))) }
        members.append(JSONMember("text", .string(text)))
        return Record(members)
    }
}

/// What an input yields: records from JSON Lines, documents from everything else.
public enum InputItem {
    case record(Record)
    case document(Document)

    /// The item as a record; a document becomes `{"path", "text"}`.
    public var record: Record {
        switch self {
        case .record(let r): return r
        case .document(let d): return d.record
        }
    }
}

/// What an input's first bytes say it is.
public enum InputKind: Equatable, Sendable {
    case archive
    case jsonLines
    case text

    /// Detects the kind from the first bytes (64 KiB are enough; an ISO 9660 image needs 32 KiB + 6).
    public static func detect(_ p: [UInt8]) -> InputKind {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            p.count >= offset + magic.count && Array(p[offset..<(offset + magic.count)]) == magic
        }
        let magics: [[UInt8]] = [
            [0x1F, 0x8B],                          // gzip
            Array("BZh".utf8),                     // bzip2
            [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00],  // xz
            [0x28, 0xB5, 0x2F, 0xFD],              // zstd
            [0x04, 0x22, 0x4D, 0x18],              // lz4
            [0x02, 0x21, 0x4C, 0x18],              // lz4, legacy
            [0x5D, 0x00, 0x00],                    // lzma
            Array("PK\u{03}\u{04}".utf8), Array("PK\u{05}\u{06}".utf8),  // zip
            [0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C],  // 7z
            Array("!<arch>\n".utf8),               // ar, .deb
            Array("070701".utf8), Array("070702".utf8), Array("070707".utf8), [0xC7, 0x71], [0x71, 0xC7],  // cpio
            Array("Rar!".utf8),
        ]
        if magics.contains(where: { starts($0) }) { return .archive }
        if starts(Array("ustar".utf8), at: 257) || starts(Array("CD001".utf8), at: 32769) { return .archive }
        var i = 0
        if starts([0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < p.count, p[i] == 0x20 || p[i] == 0x09 || p[i] == 0x0A || p[i] == 0x0D { i += 1 }
        if i < p.count, p[i] == UInt8(ascii: "{") { return .jsonLines }
        return .text
    }

    /// Whether the first line of `p` that is not blank closes every bracket it opens before its newline: a JSON
    /// Lines record does, a pretty-printed JSON document (`{` alone, or `{"name": "x",`) does not. A first line
    /// without a newline in `p` (a long record, or a truncated one) counts as closing: the parser judges it.
    public static func firstLineCloses(_ p: [UInt8]) -> Bool {
        var depth = 0, inString = false, escaped = false, started = false
        for c in p {
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch c {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; started = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case 0x0A: if started { return depth <= 0 }
            default: break
            }
            if started && depth <= 0 { return true }
        }
        return true
    }
}

/// Reads every input a tool is given and hands each record or document to the tool, in order.
///
/// Inputs are detected by content: JSON Lines, anything libarchive reads (archives, compressed streams,
/// archives inside archives), or plain text. A folder is walked like an archive, in name order.
public final class InputReader {
    public var maxMemberBytes: Int
    /// Plain text gives one document per line instead of one per file.
    public var lines: Bool
    /// Every top-level input is JSON Lines, whatever its first bytes (`--jsonl`).
    public var jsonLines: Bool
    public let policy: ErrorPolicy
    /// Members and files skipped because they are not UTF-8 text.
    public private(set) var binarySkipped = 0

    /// Set by `OrderedParallel` while it reads: each line of JSON Lines goes here as it is (with the input's name
    /// and the line number), for its workers to check and parse with `parse(line:)`; nil: lines are parsed as
    /// they are read.
    var unparsedLines: ((UnsafeBufferPointer<UInt8>, String, Int) throws -> Void)?

    private static let peekSize = 1 << 16
    private static let maxNesting = 4
    private var scratch: [UInt8] = []

    public init(policy: ErrorPolicy, lines: Bool = false, jsonLines: Bool = false, maxMemberBytes: Int = 64 << 20) {
        self.policy = policy
        self.lines = lines
        self.jsonLines = jsonLines
        self.maxMemberBytes = maxMemberBytes
    }

    /// Calls `body` with each item of each input (stdin when `paths` is empty) and its place, e.g. `a.jsonl:17`.
    ///
    /// Data errors, from reading or from `body`, go through the error policy; I/O errors and BrokenPipe end the run.
    public func forEach(_ paths: [String], _ body: (InputItem, String) throws -> Void) throws {
        for path in paths.isEmpty ? ["-"] : paths {
            if path != "-" && isDirectory(path) {
                try walk(directory: path, body)
            } else {
                let source = try FileSource(path: path)
                try read(source, name: source.name, path: path == "-" ? "-" : path, topLevel: true, depth: 0, body)
            }
        }
    }

    /// Calls `body` with each item of one stream (a pipe, bytes in memory), detected like any input.
    public func forEach(source: ByteSource, name: String, _ body: (InputItem, String) throws -> Void) throws {
        try read(source, name: name, path: name, topLevel: true, depth: 0, body)
    }

    /// Calls `body` with each record of each input: documents become `{"path", "text"}` records.
    public func forEachRecord(_ paths: [String], _ body: (inout Record, String) throws -> Void) throws {
        try forEach(paths) { item, place in
            var record = item.record
            try body(&record, place)
        }
    }

    private func walk(directory: String, _ body: (InputItem, String) throws -> Void) throws {
        guard let dir = opendir(directory) else { throw FXError.io(errnoText(), at: directory) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names.sorted() {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: try walk(directory: path, body)
            case S_IFREG:
                let source = try FileSource(path: path)
                try read(source, name: path, path: path, topLevel: false, depth: 0, body)
            default: continue
            }
        }
    }

    /// Reads one stream: `name` names it in messages, `path` is the document path it gives.
    private func read(_ raw: ByteSource, name: String, path: String, topLevel: Bool, depth: Int,
                      _ body: (InputItem, String) throws -> Void) throws {
        let head = try raw.readUpTo(Self.peekSize)
        if head.isEmpty { return }
        let source = ReplaySource(prefix: head, rest: raw)
        var kind = jsonLines && topLevel && depth == 0 ? .jsonLines : InputKind.detect(head)
        let forced = jsonLines && topLevel && depth == 0
        if kind == .jsonLines && !forced && !InputKind.firstLineCloses(head) {
            // A JSON document, pretty-printed over several lines: a document in a folder or an archive, an error
            // at the top level, where the user gave it as records.
            guard !topLevel else {
                try policy.handle(.data("a JSON document, not JSON Lines: one object per line expected (--jsonl reads it as JSON Lines)", at: "\(name):1"))
                return
            }
            kind = .text
        }
        if kind == .jsonLines && !topLevel && !Self.namesJSONLines(path) { kind = .text }
        switch kind {
        case .archive where depth < Self.maxNesting:
            let archive = try ArchiveReader(source, name: name)
            while let entry = try archive.next() {
                guard entry.isRegularFile else { continue }
                if let size = entry.size, size > maxMemberBytes, !Self.namesJSONLines(entry.path) {
                    try policy.handle(.data("member larger than --max-member-bytes (\(size) > \(maxMemberBytes) bytes)", at: "\(name):\(entry.path)"))
                    continue
                }
                let raw = archive.isRawStream
                let memberPath = raw ? Self.strippingCompression(path) : entry.path
                try read(archive.data(), name: raw ? name : "\(name):\(entry.path)", path: memberPath,
                         topLevel: raw && topLevel, depth: depth + 1, body)
            }
        case .jsonLines:
            try readJSONLines(source, name: name, body)
        case .text, .archive:
            if lines && topLevel {
                try readTextLines(source, name: name, path: path, body)
                return
            }
            let bytes = try readMember(source, name: name)
            guard let text = textIfUTF8(bytes) else {
                binarySkipped += 1
                return
            }
            if lines {
                var n = 0
                for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                    n += 1
                    let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
                    if trimmed.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                    try deliver(.document(Document(path: path, text: String(trimmed), line: n)), "\(name):\(n)", body)
                }
            } else {
                try deliver(.document(Document(path: path, text: text)), name, body)
            }
        }
    }

    private func readMember(_ source: ByteSource, name: String) throws -> [UInt8] {
        do {
            return try source.readAll(limit: maxMemberBytes, name: name)
        } catch let error as FXError where error.kind == .data {
            try policy.handle(error)
            return []
        }
    }

    /// The text of a member, or nil when it holds a NUL byte or is not UTF-8 (a binary member).
    /// A byte order mark and trailing white space are dropped.
    private func textIfUTF8(_ bytes: [UInt8]) -> String? {
        if bytes.contains(0) || !bytes.isValidUTF8 { return nil }
        var start = 0, end = bytes.count
        if end >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { start = 3 }
        while end > start, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    private func readTextLines(_ source: ByteSource, name: String, path: String, _ body: (InputItem, String) throws -> Void) throws {
        let reader = LineReader(source)
        while let line = try reader.next() {
            if line.isBlank { continue }
            let place = "\(name):\(reader.lineNumber)"
            if let bad = firstInvalidUTF8(line) {
                try policy.handle(.data("invalid UTF-8 at column \(bad + 1)", at: place))
                continue
            }
            try deliver(.document(Document(path: path, text: String(decoding: line, as: UTF8.self), line: reader.lineNumber)), place, body)
        }
    }

    private func readJSONLines(_ source: ByteSource, name: String, _ body: (InputItem, String) throws -> Void) throws {
        let reader = LineReader(source)
        while let line = try reader.next() {
            if line.isBlank { continue }
            if let unparsedLines {
                try unparsedLines(line, name, reader.lineNumber)
                continue
            }
            let place = "\(name):\(reader.lineNumber)"
            let record: Record
            do {
                record = try Self.parse(line: line)
            } catch let error as FXError {
                try policy.handle(error.placed(at: place))
                continue
            }
            try deliver(.record(record), place, body)
        }
    }

    /// A line of JSON Lines as a record; invalid UTF-8 or JSON is a data error (without its place).
    static func parse(line: UnsafeBufferPointer<UInt8>) throws -> Record {
        if let bad = firstInvalidUTF8(line) { throw FXError.data("invalid UTF-8 at column \(bad + 1)") }
        do {
            return try Record(parsing: line)
        } catch let error as JSONSyntaxError {
            throw FXError.data(error.description)
        }
    }

    private func deliver(_ item: InputItem, _ place: String, _ body: (InputItem, String) throws -> Void) throws {
        do {
            try body(item, place)
        } catch let error as FXError where error.kind == .data {
            try policy.handle(error.placed(at: place))
        }
    }

    static func namesJSONLines(_ path: String) -> Bool {
        path.hasSuffix(".jsonl") || path.hasSuffix(".ndjson") || path.hasSuffix(".json")
    }

    /// `corpus.jsonl.gz` -> `corpus.jsonl`: the name of what a single compressed stream holds.
    static func strippingCompression(_ path: String) -> String {
        for suffix in [".gz", ".tgz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".z", ".Z"] where path.hasSuffix(suffix) {
            return String(path.dropLast(suffix.count)) + (suffix == ".tgz" ? ".tar" : "")
        }
        return path
    }
}

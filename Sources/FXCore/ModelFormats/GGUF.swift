#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// GGUF, llama.cpp's model file (versions 2 and 3; all little-endian):
//
//     "GGUF" | version u32 | tensor count u64 | key/value count u64
//     key/value pairs:  key (string) | value type u32 | value
//     tensor table:     name (string) | n_dims u32 | ne0 ... u64 each | ggml type u32 | offset u64
//     padding to the alignment (`general.alignment`, default 32), then the data section; each tensor's offset,
//     from the section's start, is a multiple of the alignment.
//
// A string is a u64 byte count and UTF-8 bytes; an array is an element type u32, a u64 count and the elements.
// Shapes are in ggml's order: ne0, the contiguous (innermost) dimension, first.

/// The type codes of GGUF metadata values.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8, array = 9
    case uint64 = 10, int64 = 11, float64 = 12

    /// Bytes a value of this type takes at least (a string its length, an array its element type and count).
    var minimumSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }
}

/// A metadata value. Every unsigned integer type reads as `uint`, every signed one as `int`, float32 and float64 as
/// `float`; `GGUFFile.valueType(_:)` says which type the file used.
public enum GGUFValue: Sendable, Equatable {
    case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String), array([GGUFValue])

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// An integer value (signed or unsigned) that fits an Int.
    public var int: Int? {
        switch self {
        case .uint(let v): return Int(exactly: v)
        case .int(let v): return Int(exactly: v)
        default: return nil
        }
    }

    /// A number: a float, or an integer as a Double.
    public var double: Double? {
        switch self {
        case .float(let v): return v
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        default: return nil
        }
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var array: [GGUFValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// An array whose elements are all strings.
    public var strings: [String]? { elements(\.string) }
    /// An array whose elements are all integers that fit an Int.
    public var ints: [Int]? { elements(\.int) }
    /// An array whose elements are all numbers.
    public var doubles: [Double]? { elements(\.double) }

    private func elements<T>(_ get: (GGUFValue) -> T?) -> [T]? {
        guard case .array(let items) = self else { return nil }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = get(item) else { return nil }
            out.append(v)
        }
        return out
    }
}

/// One entry of a GGUF file's tensor table.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    /// In ggml's order: ne0, the contiguous (innermost) dimension, first; at most 4 dimensions, each at least 1
    /// (none for a scalar, which llama.cpp allows).
    public let shape: [Int]
    /// Where its bytes start, from the start of the data section.
    public let offset: Int

    /// Values in the tensor.
    public var count: Int { shape.reduce(1, *) }
    /// Values in a row (ne0).
    public var rowLength: Int { shape.first ?? 1 }
    /// Rows: the values of all dimensions after the first.
    public var rowCount: Int { shape.dropFirst().reduce(1, *) }
    /// Bytes of one row: ne0 / block size blocks.
    public var rowByteCount: Int { rowLength / type.blockSize * type.typeSize }
    /// Bytes of the whole tensor.
    public var byteCount: Int { rowByteCount * rowCount }
}

/// A GGUF file, mapped read-only with mmap(2): its metadata and tensor table parsed and checked when opened, its
/// tensors read (and dequantized to Float32) from the mapping on demand, never copied whole.
///
/// Everything a malformed file can get wrong is a data error naming the file: bad magic, an unsupported version,
/// a truncated header, string, array or table, a count larger than the bytes left could hold, an unknown value or
/// tensor type, more than 4 dimensions, a zero or overflowing dimension, a row length that is not a multiple of its
/// type's block size, misaligned, overlapping or out-of-file tensor data, duplicate keys or tensor names.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    public let alignment: Int
    /// Every key/value pair.
    public let metadata: [String: GGUFValue]
    /// The keys in file order.
    public let keys: [String]
    /// The tensor table, in file order.
    public let tensors: [GGUFTensorInfo]
    /// Where the data section starts in the file.
    public let dataOffset: Int

    private let valueTypes: [String: GGUFValueType]
    private let index: [String: Int]
    private let mapping: UnsafeRawBufferPointer

    /// Opens and maps `path`, then parses and checks its header, metadata and tensor table.
    public init(path: String) throws {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        if fd < 0 { throw FXError.io(errnoText(), at: path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FXError.io(errnoText(), at: path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FXError.io((info.st_mode & S_IFMT) == S_IFDIR ? "is a directory" : "not a regular file (GGUF files are mapped)", at: path)
        }
        let size = Int(info.st_size)
        var mapping = UnsafeRawBufferPointer(start: nil, count: 0)
        if size > 0 {
            let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let base, base != MAP_FAILED else { throw FXError.io("cannot map: \(errnoText())", at: path) }
            mapping = UnsafeRawBufferPointer(start: base, count: size)
        }
        let parsed: Parsed
        do {
            parsed = try Parsed(mapping, path: path)
        } catch {
            if let base = mapping.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), size) }
            throw error
        }
        self.path = path
        self.mapping = mapping
        version = parsed.version
        alignment = parsed.alignment
        metadata = parsed.metadata
        keys = parsed.keys
        valueTypes = parsed.valueTypes
        tensors = parsed.tensors
        index = parsed.index
        dataOffset = parsed.dataOffset
    }

    deinit {
        if let base = mapping.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), mapping.count) }
    }

    /// The tensor called `name`, if the file has one.
    public func tensor(_ name: String) -> GGUFTensorInfo? {
        index[name].map { tensors[$0] }
    }

    /// The type the file stores `key`'s value as; for an array, the type of its elements.
    public func valueType(_ key: String) -> GGUFValueType? { valueTypes[key] }

    /// The tensor's bytes in the mapping (valid while this file is alive).
    public func rawBytes(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + info.offset
        precondition(info.offset >= 0 && start + info.byteCount <= mapping.count, "tensor '\(info.name)' is not in \(path)")
        return UnsafeRawBufferPointer(rebasing: mapping[start..<(start + info.byteCount)])
    }

    /// The tensor `name` dequantized to Float32, in memory order (ne0 fastest), exactly as gguf-py's `dequantize`.
    public func floats(_ name: String) throws -> [Float] {
        guard let info = tensor(name) else { throw FXError.data("no tensor '\(name)'", at: path) }
        return try [Float](unsafeUninitializedCapacity: info.count) { buffer, initialized in
            if let base = buffer.baseAddress { try dequantize(info, into: base) }
            initialized = info.count
        }
    }

    /// The tensor dequantized into `output`, which holds `info.count` floats.
    public func dequantize(_ info: GGUFTensorInfo, into output: UnsafeMutablePointer<Float>) throws {
        try dequantize(info, rows: 0..<info.rowCount, into: output)
    }

    /// Rows `rows` of the tensor (each `info.rowLength` values: one token's embedding, one output's weights)
    /// dequantized into `output`, which holds `rows.count * info.rowLength` floats.
    public func dequantize(_ info: GGUFTensorInfo, rows: Range<Int>, into output: UnsafeMutablePointer<Float>) throws {
        guard let own = index[info.name].map({ tensors[$0] }), own == info else {
            throw FXError.data("tensor '\(info.name)' is not in this file", at: path)
        }
        guard info.type.canDequantize else {
            throw FXError.data("tensor '\(info.name)' has type \(info.type.name) (\(info.type.rawValue)), which fx cannot dequantize", at: path)
        }
        guard rows.lowerBound >= 0, rows.upperBound <= info.rowCount else {
            throw FXError.data("tensor '\(info.name)' has \(info.rowCount) rows, not \(rows)", at: path)
        }
        guard !rows.isEmpty else { return }
        let bytes = rawBytes(info)
        guard let base = bytes.baseAddress else { return }
        GGMLDequantizer.run(info.type, base + rows.lowerBound * info.rowByteCount,
                            blocks: rows.count * (info.rowLength / info.type.blockSize), into: output)
    }
}

/// A GGUF file's header, metadata and tensor table, parsed from its bytes and checked.
private struct Parsed {
    var version = 0
    var alignment = 32
    var metadata: [String: GGUFValue] = [:]
    var keys: [String] = []
    var valueTypes: [String: GGUFValueType] = [:]
    var tensors: [GGUFTensorInfo] = []
    var index: [String: Int] = [:]
    var dataOffset = 0

    /// Arrays of arrays nest at most this deep (hostile nesting would otherwise exhaust the stack).
    static let maxNesting = 8

    init(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        var c = GGUFCursor(bytes: bytes, path: path)
        func bad(_ why: String) -> FXError { FXError.data(why, at: path) }

        let magic = try c.u32("the magic number")
        guard magic == 0x4655_4747 else { throw bad("not a GGUF file: bad magic (the file does not start with \"GGUF\")") }  // "GGUF"
        let v = try c.u32("the version")
        guard v == 2 || v == 3 else {
            if v.byteSwapped == 2 || v.byteSwapped == 3 { throw bad("a big-endian GGUF file: fx reads little-endian ones") }
            throw bad("unsupported GGUF version \(v): fx reads versions 2 and 3")
        }
        version = Int(v)
        let tensorCount = try c.count(minimumSize: 24, what: "tensors")
        let keyCount = try c.count(minimumSize: 13, what: "metadata keys")

        keys.reserveCapacity(keyCount)
        for i in 0..<keyCount {
            let key = try c.string("the key of metadata entry \(i)")
            let raw = try c.u32("the value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: raw) else { throw bad("metadata '\(key)' has an unknown value type \(raw)") }
            var elementType = type
            let value = try c.value(type, key: key, depth: 0, elementType: &elementType)
            guard metadata.updateValue(value, forKey: key) == nil else { throw bad("metadata key '\(key)' appears twice") }
            keys.append(key)
            valueTypes[key] = elementType
        }
        if let a = metadata["general.alignment"] {
            guard let n = a.int, n > 0, n <= 1 << 30, n & (n - 1) == 0 else {
                throw bad("general.alignment must be a power of two, not \(a)")
            }
            alignment = n
        }

        tensors.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try c.string("the name of tensor \(i)")
            let dims = try c.u32("the dimension count of tensor '\(name)'")
            guard dims <= 4 else { throw bad("tensor '\(name)' has \(dims) dimensions: GGUF tensors have at most 4") }
            var shape: [Int] = []
            var count = 1
            for d in 0..<Int(dims) {
                let n = try c.u64("dimension \(d) of tensor '\(name)'")
                guard n >= 1, n <= UInt64(Int.max) else { throw bad("tensor '\(name)' has dimension \(d) of \(n)") }
                let (product, overflow) = count.multipliedReportingOverflow(by: Int(n))
                guard !overflow else { throw bad("tensor '\(name)' has too many values: \(shape + [Int(n)])") }
                count = product
                shape.append(Int(n))
            }
            let rawType = try c.u32("the type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else { throw bad("tensor '\(name)' has an unknown ggml type \(rawType)") }
            guard (shape.first ?? 1) % type.blockSize == 0 else {
                throw bad("tensor '\(name)' of type \(type.name) has rows of \(shape.first ?? 1) values, not a multiple of its block size \(type.blockSize)")
            }
            let (bytes, overflow) = (count / type.blockSize).multipliedReportingOverflow(by: type.typeSize)
            guard !overflow else { throw bad("tensor '\(name)' has too many values: \(shape)") }
            let offset = try c.u64("the offset of tensor '\(name)'")
            guard offset <= UInt64(Int.max - bytes) else { throw bad("tensor '\(name)' has offset \(offset), past any file") }
            guard offset % UInt64(alignment) == 0 else {
                throw bad("tensor '\(name)' has offset \(offset), not a multiple of the alignment \(alignment)")
            }
            guard index.updateValue(tensors.count, forKey: name) == nil else { throw bad("tensor name '\(name)' appears twice") }
            tensors.append(GGUFTensorInfo(name: name, type: type, shape: shape, offset: Int(offset)))
        }

        let padding = (alignment - c.position % alignment) % alignment
        dataOffset = c.position + padding
        let dataSize = max(0, bytes.count - dataOffset)
        var end = 0, previous = ""
        for t in tensors.indices.sorted(by: { (tensors[$0].offset, $0) < (tensors[$1].offset, $1) }).map({ tensors[$0] }) {
            guard t.offset + t.byteCount <= dataSize else {
                throw bad("truncated GGUF file: tensor '\(t.name)' (\(t.type.name) \(t.shape), \(t.byteCount) bytes at data offset \(t.offset)) ends past the end of the file")
            }
            guard t.offset >= end else { throw bad("tensors '\(previous)' and '\(t.name)' overlap") }
            end = t.offset + t.byteCount
            previous = t.name
        }
    }
}

/// Reads little-endian values from a GGUF file's bytes, checking each against the bytes left.
private struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position = 0

    var left: Int { bytes.count - position }

    func truncated(_ what: String) -> FXError {
        FXError.data("truncated GGUF file: it ends inside \(what) (at byte \(position) of \(bytes.count))", at: path)
    }

    @inline(__always)
    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n <= left else { throw truncated(what()) }
    }

    @inline(__always)
    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return v
    }

    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try load(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try load(UInt64.self, what()) }

    /// A u64 count of things that take at least `minimumSize` bytes each, checked against the bytes left.
    mutating func count(minimumSize: Int, what: @autoclosure () -> String) throws -> Int {
        let n = try u64("the number of \(what())")
        guard n <= UInt64(left / minimumSize) else {
            throw FXError.data("the file claims \(n) \(what()), more than its \(left) remaining bytes could hold", at: path)
        }
        return Int(n)
    }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let n = try u64("the length of \(what())")
        guard n <= UInt64(left) else {
            throw FXError.data("\(what()) claims \(n) bytes, more than the \(left) left in the file (at byte \(position))", at: path)
        }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + Int(n))]), as: UTF8.self)
        position += Int(n)
        return s
    }

    /// A value of type `type`; for an array, `elementType` becomes its elements' type.
    mutating func value(_ type: GGUFValueType, key: String, depth: Int, elementType: inout GGUFValueType) throws -> GGUFValue {
        func what() -> String { depth == 0 ? "the value of '\(key)'" : "an element of '\(key)'" }
        switch type {
        case .uint8: return .uint(UInt64(try load(UInt8.self, what())))
        case .int8: return .int(Int64(try load(Int8.self, what())))
        case .uint16: return .uint(UInt64(try load(UInt16.self, what())))
        case .int16: return .int(Int64(try load(Int16.self, what())))
        case .uint32: return .uint(UInt64(try load(UInt32.self, what())))
        case .int32: return .int(Int64(try load(Int32.self, what())))
        case .uint64: return .uint(try load(UInt64.self, what()))
        case .int64: return .int(try load(Int64.self, what()))
        case .float32: return .float(Double(Float(bitPattern: try load(UInt32.self, what()))))
        case .float64: return .float(Double(bitPattern: try load(UInt64.self, what())))
        case .bool:
            let b = try load(UInt8.self, what())
            guard b <= 1 else { throw FXError.data("metadata '\(key)' has a bool of \(b) (0 or 1 expected)", at: path) }
            return .bool(b == 1)
        case .string: return .string(try string(what()))
        case .array:
            guard depth < Parsed.maxNesting else {
                throw FXError.data("metadata '\(key)' nests arrays deeper than \(Parsed.maxNesting)", at: path)
            }
            let raw = try u32("the element type of '\(key)'")
            guard let element = GGUFValueType(rawValue: raw) else {
                throw FXError.data("metadata '\(key)' is an array of an unknown value type \(raw)", at: path)
            }
            elementType = element
            let n = try count(minimumSize: element.minimumSize, what: "elements in '\(key)'")
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            var inner = element
            for _ in 0..<n { items.append(try value(element, key: key, depth: depth + 1, elementType: &inner)) }
            return .array(items)
        }
    }
}

/// Writes a GGUF version 3 file: metadata of every value type (arrays too), and tensors: Float32 values stored as
/// F32, F16 or BF16, or any type's raw bytes. Tensor data is aligned to `general.alignment` (32 unless set) and
/// padded after each tensor, as llama.cpp and gguf-py write it.
///
/// Without an explicit type, a value is stored as llama.cpp's keys expect: an unsigned integer as uint32 (uint64
/// when larger), a signed one as int32 (int64 when larger), a float as float32; an array's elements take one
/// type that holds them all (an empty array is an array of uint8). `set(_:_:as:)` picks the type; for an array,
/// the type of its elements. `GGUFFile.valueType(_:)` gives back the type a file used, so copying a file's
/// metadata keeps its types.
public struct GGUFWriter {
    private var entries: [(key: String, value: GGUFValue, type: GGUFValueType?)] = []
    private var pending: [(name: String, shape: [Int], type: GGMLType, bytes: [UInt8])] = []

    public init() {}

    /// Sets `key` (replacing an earlier value of the same key, in place).
    public mutating func set(_ key: String, _ value: GGUFValue) {
        set(key, value, as: nil)
    }

    /// Sets `key`, stored as `type` (for an array, the type of its elements); nil picks one (see the type's notes).
    public mutating func set(_ key: String, _ value: GGUFValue, as type: GGUFValueType?) {
        if let i = entries.firstIndex(where: { $0.key == key }) {
            entries[i] = (key, value, type)
        } else {
            entries.append((key, value, type))
        }
    }

    /// Adds a tensor from its raw bytes in `type`'s layout (`shape` in ggml order, ne0 first).
    public mutating func add(_ name: String, shape: [Int], type: GGMLType, bytes: [UInt8]) {
        pending.append((name, shape, type, bytes))
    }

    /// Adds a tensor of Float32 values, stored as F32, F16 (rounded to nearest even) or BF16 (rounded to nearest
    /// even, NaN kept quiet, as ggml does).
    public mutating func add(_ name: String, shape: [Int], floats: [Float], as type: GGMLType = .f32) {
        precondition(type == .f32 || type == .f16 || type == .bf16, "floats are stored as F32, F16 or BF16")
        var bytes = [UInt8](repeating: 0, count: floats.count * type.typeSize)
        bytes.withUnsafeMutableBytes { raw in
            for (i, v) in floats.enumerated() {
                switch type {
                case .f16: raw.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                case .bf16: raw.storeBytes(of: Self.bfloat16(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                default: raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                }
            }
        }
        pending.append((name, shape, type, bytes))
    }

    /// ggml's float to bfloat16: round to nearest even; a NaN stays a (quiet) NaN.
    static func bfloat16(_ v: Float) -> UInt16 {
        let bits = v.bitPattern
        if bits & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (bits >> 16) | 64) }
        return UInt16(truncatingIfNeeded: (UInt64(bits) + UInt64(0x7FFF + ((bits >> 16) & 1))) >> 16)
    }

    /// Writes the file atomically (temporary file, then rename). Values that do not fit their type, mixed arrays,
    /// bad shapes and byte counts that do not match them are data errors naming `path`.
    public func write(to path: String) throws {
        let header = try headerBytes(path: path), align = try alignment(path: path)
        try AtomicFile.write(path) { out in
            try out.write(header)
            for t in pending {
                try out.write(t.bytes)
                try out.write([UInt8](repeating: 0, count: Self.padding(t.bytes.count, align)))
            }
        }
    }

    /// The whole file's bytes (for small files and tests).
    public func bytes() throws -> [UInt8] {
        var out = try headerBytes(path: "<memory>")
        let align = try alignment(path: "<memory>")
        for t in pending {
            out += t.bytes
            out += [UInt8](repeating: 0, count: Self.padding(t.bytes.count, align))
        }
        return out
    }

    static func padding(_ n: Int, _ alignment: Int) -> Int { (alignment - n % alignment) % alignment }

    private func alignment(path: String) throws -> Int {
        guard let a = entries.first(where: { $0.key == "general.alignment" })?.value else { return 32 }
        guard let n = a.int, n > 0, n <= 1 << 30, n & (n - 1) == 0 else {
            throw FXError.data("general.alignment must be a power of two, not \(a)", at: path)
        }
        return n
    }

    /// Header, metadata, tensor table and the padding before the data section.
    private func headerBytes(path: String) throws -> [UInt8] {
        func bad(_ why: String) -> FXError { FXError.data(why, at: path) }
        let align = try alignment(path: path)
        var out: [UInt8] = []
        out += Array("GGUF".utf8)
        Self.put(UInt32(3), &out)
        Self.put(UInt64(pending.count), &out)
        Self.put(UInt64(entries.count), &out)
        for e in entries {
            Self.put(e.key, &out)
            if case .array(let items) = e.value {
                let element = try e.type ?? Self.elementType(items, key: e.key, path: path)
                Self.put(GGUFValueType.array.rawValue, &out)
                try Self.putArray(items, element: element, key: e.key, path: path, &out)
            } else {
                let type = e.type ?? Self.defaultType(e.value)
                Self.put(type.rawValue, &out)
                try Self.put(e.value, as: type, key: e.key, path: path, &out)
            }
        }
        var offset = 0
        var names = Set<String>()
        for t in pending {
            guard names.insert(t.name).inserted else { throw bad("tensor name '\(t.name)' appears twice") }
            guard t.shape.count <= 4, t.shape.allSatisfy({ $0 >= 1 }) else {
                throw bad("tensor '\(t.name)' has shape \(t.shape): GGUF tensors have at most 4 dimensions, each at least 1")
            }
            guard (t.shape.first ?? 1) % t.type.blockSize == 0 else {
                throw bad("tensor '\(t.name)' of type \(t.type.name) has rows of \(t.shape.first ?? 1) values, not a multiple of its block size \(t.type.blockSize)")
            }
            var count = 1
            for n in t.shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: n)
                guard !overflow else { throw bad("tensor '\(t.name)' has too many values: \(t.shape)") }
                count = p
            }
            let expected = count / t.type.blockSize * t.type.typeSize
            guard t.bytes.count == expected else {
                throw bad("tensor '\(t.name)' has \(t.bytes.count) bytes; \(t.type.name) \(t.shape) takes \(expected)")
            }
            Self.put(t.name, &out)
            Self.put(UInt32(t.shape.count), &out)
            for n in t.shape { Self.put(UInt64(n), &out) }
            Self.put(t.type.rawValue, &out)
            Self.put(UInt64(offset), &out)
            offset += t.bytes.count + Self.padding(t.bytes.count, align)
        }
        out += [UInt8](repeating: 0, count: Self.padding(out.count, align))
        return out
    }

    static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    static func put(_ s: String, _ out: inout [UInt8]) {
        put(UInt64(s.utf8.count), &out)
        out.append(contentsOf: s.utf8)
    }

    static func defaultType(_ v: GGUFValue) -> GGUFValueType {
        switch v {
        case .uint(let n): return n <= UInt64(UInt32.max) ? .uint32 : .uint64
        case .int(let n): return Int32(exactly: n) != nil ? .int32 : .int64
        case .float: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    /// One type for all of an array's elements.
    static func elementType(_ items: [GGUFValue], key: String, path: String) throws -> GGUFValueType {
        guard let first = items.first else { return .uint8 }
        var kinds = Set<GGUFValueType>()
        for item in items { kinds.insert(defaultType(item)) }
        if kinds.count == 1 { return defaultType(first) }
        if kinds.isSubset(of: [.uint32, .uint64]) { return .uint64 }
        if kinds.isSubset(of: [.uint32, .uint64, .int32, .int64, .float32]) {
            if kinds.contains(.float32) { return .float32 }
            // Signed and unsigned integers: int32 when every one fits, else int64 (when every one fits that).
            if items.allSatisfy({ v in v.int.map { Int32(exactly: $0) != nil } ?? false }) { return .int32 }
            if items.allSatisfy({ $0.int != nil }) { return .int64 }
        }
        throw FXError.data("metadata '\(key)' is an array of values that no one GGUF type holds", at: path)
    }

    static func putArray(_ items: [GGUFValue], element: GGUFValueType, key: String, path: String, _ out: inout [UInt8]) throws {
        put(element.rawValue, &out)
        put(UInt64(items.count), &out)
        for item in items {
            if element == .array {
                guard case .array(let inner) = item else { throw FXError.data("metadata '\(key)': an array of arrays holds \(item)", at: path) }
                try putArray(inner, element: try elementType(inner, key: key, path: path), key: key, path: path, &out)
            } else {
                try put(item, as: element, key: key, path: path, &out)
            }
        }
    }

    /// One scalar value stored as `type`.
    static func put(_ v: GGUFValue, as type: GGUFValueType, key: String, path: String, _ out: inout [UInt8]) throws {
        func misfit() -> FXError { FXError.data("metadata '\(key)': \(v) cannot be stored as \(type)", at: path) }
        func integer<T: FixedWidthInteger>(_: T.Type) throws {
            let n: T?
            switch v {
            case .uint(let u): n = T(exactly: u)
            case .int(let i): n = T(exactly: i)
            default: n = nil
            }
            guard let n else { throw misfit() }
            put(n, &out)
        }
        switch type {
        case .uint8: try integer(UInt8.self)
        case .int8: try integer(Int8.self)
        case .uint16: try integer(UInt16.self)
        case .int16: try integer(Int16.self)
        case .uint32: try integer(UInt32.self)
        case .int32: try integer(Int32.self)
        case .uint64: try integer(UInt64.self)
        case .int64: try integer(Int64.self)
        case .float32:
            guard let d = v.double else { throw misfit() }
            put(Float(d).bitPattern, &out)
        case .float64:
            guard let d = v.double else { throw misfit() }
            put(d.bitPattern, &out)
        case .bool:
            guard let b = v.bool else { throw misfit() }
            out.append(b ? 1 : 0)
        case .string:
            guard let s = v.string else { throw misfit() }
            put(s, &out)
        case .array:
            guard case .array(let items) = v else { throw misfit() }
            try putArray(items, element: try elementType(items, key: key, path: path), key: key, path: path, &out)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
/// shape and byte offsets (plus a `__metadata__` map of strings), then the raw little-endian tensor bytes.
public enum SafeTensors {
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", i32 = "I32", i64 = "I64"
        var size: Int {
            switch self {
            case .f16, .bf16: return 2
            case .f32, .i32: return 4
            case .i64: return 8
            }
        }
    }

    public struct Tensor {
        public var dtype: DType
        public var shape: [Int]
        public var bytes: [UInt8]

        /// Floats stored as F32 or F16 (the other types are read, not written).
        public init(_ values: [Float], shape: [Int], as dtype: DType = .f32) {
            precondition(dtype == .f32 || dtype == .f16, "floats are written as F32 or F16")
            self.dtype = dtype
            self.shape = shape
            switch dtype {
            case .f16:
                var out = [UInt8](repeating: 0, count: values.count * 2)
                out.withUnsafeMutableBytes { raw in
                    for (i, v) in values.enumerated() { raw.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: i * 2, as: UInt16.self) }
                }
                bytes = out
            default:
                bytes = values.withUnsafeBytes { Array($0) }
            }
        }

        public init(_ values: [Int32], shape: [Int]) {
            dtype = .i32
            self.shape = shape
            bytes = values.map(\.littleEndian).withUnsafeBytes { Array($0) }
        }

        public var floats: [Float] {
            bytes.withUnsafeBytes { raw in
                switch dtype {
                case .f16: return (0..<(raw.count / 2)).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
                case .f32:
                    #if _endian(little)
                    return [Float](unsafeUninitializedCapacity: raw.count / 4) { out, n in
                        UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count / 4 * 4)]))
                        n = raw.count / 4
                    }
                    #else
                    return (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
                    #endif
                case .bf16: return (0..<(raw.count / 2)).map { Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) << 16) }
                case .i32: return (0..<(raw.count / 4)).map { Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
                case .i64: return (0..<(raw.count / 8)).map { Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
                }
            }
        }

        public var ints: [Int32] {
            bytes.withUnsafeBytes { raw in (0..<(raw.count / 4)).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) } }
        }
    }

    /// Writes tensors (in name order) and metadata.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String], to out: Output) throws {
        var header: [JSONMember] = [JSONMember("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { JSONMember($0.key, .string($0.value)) }))]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header.append(JSONMember(name, .object([
                JSONMember("dtype", .string(t.dtype.rawValue)),
                JSONMember("shape", .array(t.shape.map { JSONValue($0) })),
                JSONMember("data_offsets", .array([JSONValue(offset), JSONValue(offset + t.bytes.count)])),
            ])))
            offset += t.bytes.count
        }
        var json = JSONValue.object(header).encoded
        while json.count % 8 != 0 { json.append(0x20) }  // the data starts 8-byte aligned
        var length = UInt64(json.count).littleEndian
        try out.write(withUnsafeBytes(of: &length) { Array($0) })
        try out.write(json)
        for name in names { try out.write(tensors[name]!.bytes) }
    }

    /// Reads a whole file: its tensors and metadata. A malformed file is a data error naming it.
    public static func read(_ path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let source = try FileSource(path: path)
        return try parse(try source.readAll(limit: Int.max, name: path), name: path)
    }

    /// The tensors and metadata of a whole file's bytes; `name` is the file's, for errors.
    public static func parse(_ bytes: [UInt8], name path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        func bad(_ why: String) -> FXError { FXError.data("not a safetensors model: \(why)", at: path) }
        guard bytes.count >= 8 else { throw bad("too short") }
        let length = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length > 1, length <= UInt64(bytes.count - 8) else { throw bad("bad header length") }
        let dataStart = 8 + Int(length)
        let header: JSONValue
        do {
            header = try bytes.withUnsafeBufferPointer { try JSONValue(parsing: UnsafeBufferPointer(rebasing: $0[8..<dataStart])) }
        } catch {
            throw bad("header is not JSON")
        }
        guard case .object(let members) = header else { throw bad("header is not an object") }
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        func whole(_ v: JSONValue) -> Int? { v.intValue.flatMap { $0 >= 0 ? $0 : nil } }
        for member in members {
            if member.key == "__metadata__" {
                if case .object(let entries) = member.value {
                    for e in entries { metadata[e.key] = e.value.stringValue }
                }
                continue
            }
            guard let dtypeName = member.value["dtype"]?.stringValue, let dtype = DType(rawValue: dtypeName),
                  case .array(let shapeValues)? = member.value["shape"], case .array(let offsets)? = member.value["data_offsets"],
                  offsets.count == 2, let begin = whole(offsets[0]), let end = whole(offsets[1])
            else { throw bad("tensor '\(member.key)' has a bad entry") }
            let shape = shapeValues.compactMap(whole)
            guard shape.count == shapeValues.count else { throw bad("tensor '\(member.key)' has a bad shape") }
            var size = dtype.size
            for n in shape {
                let (product, overflow) = size.multipliedReportingOverflow(by: n)
                guard !overflow else { throw bad("tensor '\(member.key)' does not fit the file") }
                size = product
            }
            guard end >= begin, dataStart + end <= bytes.count, size == end - begin else { throw bad("tensor '\(member.key)' does not fit the file") }
            var t = Tensor([Float](), shape: shape)
            t.dtype = dtype
            t.bytes = Array(bytes[(dataStart + begin)..<(dataStart + end)])
            tensors[member.key] = t
        }
        return (tensors, metadata)
    }
}

import Foundation
@testable import FXCore
import Testing

/// The GGUF reader and writer against gguf-py: dequantized values equal bit for bit (Tests/Fixtures/gguf, written by
/// Tests/Fixtures/gguf/make_reference.py, which documents the byte generator and the hash used here), a file gguf-py's
/// writer wrote, every tensor of the shipped SmolLM2 model, the writer's round trip, and hostile files as data errors.
@Suite struct GGUFTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures/gguf")
    /// `make models` fetches it.
    static let model = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A fresh folder for this test's files.
    static func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fx-gguf-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    // MARK: The generator, checksum and hash make_reference.py documents

    /// SplitMix64, as make_reference.py runs it.
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            return Self.mix(state)
        }
        static func mix(_ x: UInt64) -> UInt64 {
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// The float16 scale fields of each block, by type (make_reference.py's SCALE_FIELDS).
    static let scaleFields: [GGMLType: [Int]] = [
        .q4_0: [0], .q4_1: [0, 2], .q5_0: [0], .q5_1: [0, 2], .q8_0: [0],
        .q2_K: [80, 82], .q3_K: [108], .q4_K: [0, 2], .q5_K: [0, 2], .q6_K: [208],
    ]

    /// A tensor's pseudo-random bytes: SplitMix64 from seed 1000 + the type number, scale fields tamed, F16 finite.
    static func blockBytes(_ type: GGMLType, count: Int) -> [UInt8] {
        var rng = SplitMix64(state: 1000 + UInt64(type.rawValue))
        let n = count / type.blockSize * type.typeSize
        var bytes: [UInt8] = []
        while bytes.count < n { withUnsafeBytes(of: rng.next().littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.removeLast(bytes.count - n)
        func half(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        func setHalf(_ at: Int, _ h: UInt16) { bytes[at] = UInt8(h & 0xFF); bytes[at + 1] = UInt8(h >> 8) }
        for block in 0..<(count / type.blockSize) {
            for field in scaleFields[type] ?? [] {
                let at = block * type.typeSize + field, h = half(at)
                setHalf(at, (h & 0x8000) | (0x1C00 + (h & 0x1FFF)))
            }
        }
        if type == .f16 {
            for at in stride(from: 0, to: n, by: 2) where half(at) & 0x7C00 == 0x7C00 { setHalf(at, half(at) ^ 0x4000) }
        }
        return bytes
    }

    static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    /// The "mix64 sum" of make_reference.py: the sum of each value's bits times an odd multiplier for its index.
    struct Mix64Sum {
        var total: UInt64 = 0
        var index: UInt64 = 0
        mutating func add(_ values: UnsafeBufferPointer<Float>) {
            var t = total, i = index
            for v in values {
                i &+= 1
                t &+= UInt64(v.bitPattern) &* (SplitMix64.mix(i &* 0x9E37_79B9_7F4A_7C15) | 1)
            }
            total = t
            index = i
        }
        var hex: String { String(total, radix: 16).leftPadded(16) }
    }

    static func bits(_ hex: String) -> [UInt32] {
        let u = Array(hex.utf8)
        return stride(from: 0, to: u.count, by: 8).compactMap { UInt32(String(decoding: u[$0..<min($0 + 8, u.count)], as: UTF8.self), radix: 16) }
    }

    // MARK: Every type, bit for bit

    @Test("every dequantized type equals gguf-py's dequantize bit for bit, written by GGUFWriter and read back",
          arguments: [GGMLType.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K])
    func everyType(_ type: GGMLType) throws {
        let cases = try #require(try Self.json("blocks.json")["cases"] as? [[String: Any]])
        let c = try #require(cases.first { ($0["type_id"] as? Int) == Int(type.rawValue) }, "no reference for \(type.name)")
        #expect(c["type"] as? String == type.name)
        let shape = try #require(c["shape"] as? [Int])
        let count = shape.reduce(1, *)
        let bytes = Self.blockBytes(type, count: count)
        #expect(String(Self.fnv1a64(bytes), radix: 16).leftPadded(16) == c["bytes_fnv1a64"] as? String, "the byte generator differs from make_reference.py's")

        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/\(type.name).gguf"
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("test"))
        writer.add("t", shape: shape, type: type, bytes: bytes)
        try writer.write(to: path)
        let file = try GGUFFile(path: path)
        let info = try #require(file.tensor("t"))
        #expect(info.type == type && info.shape == shape && info.count == count && info.byteCount == bytes.count)
        #expect(Array(file.rawBytes(info)) == bytes)

        let got = try file.floats("t").map(\.bitPattern)
        let want = Self.bits(try #require(c["bits"] as? String))
        #expect(got.count == want.count)
        let wrong = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(wrong.isEmpty, "\(type.name): \(wrong.count) values differ, first at \(wrong.first.map { "\($0.offset): \(String($0.element.0, radix: 16)) != \(String($0.element.1, radix: 16))" } ?? "")")

        // One row alone equals the same row of the whole.
        var row = [Float](repeating: .nan, count: shape[0])
        try row.withUnsafeMutableBufferPointer { try file.dequantize(info, rows: 1..<2, into: $0.baseAddress!) }
        #expect(row.map(\.bitPattern) == Array(got[shape[0]..<(2 * shape[0])]))
    }

    // MARK: A file gguf-py wrote

    @Test("a file gguf-py's GGUFWriter wrote: every value type, arrays, nested arrays, F32/F16/BF16/Q8_0 tensors")
    func pythonWrittenFile() throws {
        let reference = try Self.json("pywriter.json")
        let file = try GGUFFile(path: Self.fixtures.appendingPathComponent("pywriter.gguf").path)
        #expect(file.version == 3 && file.alignment == 32)
        let metadata = try #require(reference["metadata"] as? [String: [String: Any]])
        #expect(Set(file.metadata.keys) == Set(metadata.keys))
        for (key, entry) in metadata where key != "t.nested" {  // gguf-py's reader flattens nested arrays
            let value = try #require(file.metadata[key], "\(key)")
            #expect(file.valueType(key).map { "\($0)".uppercased() } == entry["type"] as? String, "\(key)")
            #expect(Self.same(value, entry["value"] as Any), "\(key): \(value) != \(entry["value"] ?? "nil")")
        }
        #expect(file.metadata["t.nested"] == .array([.array([.int(1), .int(2)]), .array([.int(3)])]) && file.valueType("t.nested") == .array)
        #expect(file.metadata["t.strings"]?.strings == ["a", "", "Ġthe", "<|im_end|>"])
        #expect(file.metadata["t.ints"]?.ints == [1, -2, 3])
        #expect(file.metadata["t.floats"]?.doubles == [0.5, -1.25, 3])
        #expect(file.metadata["t.uint64"]?.int == nil && file.metadata["t.uint64"]?.double == 18e18)
        #expect(file.metadata["t.float32"]?.double == Double(Float(0.1)))
        let tensors = try #require(reference["tensors"] as? [[String: Any]])
        #expect(file.tensors.map(\.name) == tensors.map { $0["name"] as? String ?? "" })
        for t in tensors {
            let name = try #require(t["name"] as? String)
            let info = try #require(file.tensor(name))
            #expect(info.type.name == t["type"] as? String && info.shape == t["shape"] as? [Int], "\(name)")
            #expect(try file.floats(name).map(\.bitPattern) == Self.bits(try #require(t["bits"] as? String)), "\(name)")
        }
    }

    /// Whether a value read equals what gguf-py read (floats as their float64 bits).
    static func same(_ value: GGUFValue, _ json: Any) -> Bool {
        switch value {
        case .array(let items):
            guard let list = json as? [Any], list.count == items.count else { return false }
            return zip(items, list).allSatisfy { same($0, $1) }
        case .float(let d):
            guard let hex = (json as? [String: Any])?["f64bits"] as? String else { return false }
            return String(d.bitPattern, radix: 16).leftPadded(16) == hex
        case .string(let s): return json as? String == s
        case .bool(let b): return (json as? Bool) == b
        case .uint(let u): return (json as? NSNumber)?.uint64Value == u
        case .int(let i): return (json as? NSNumber)?.int64Value == i
        }
    }

    // MARK: The shipped model

    @Test("the shipped SmolLM2 GGUF: its metadata, and every tensor equal to gguf-py's dequantize bit for bit")
    func shippedModel() throws {
        guard FileManager.default.fileExists(atPath: Self.model) else {
            print("GGUFTests: \(Self.model) is missing (run `make models`); the shipped-model test is skipped")
            return
        }
        let started = Date()
        let file = try GGUFFile(path: Self.model)
        let opened = Date().timeIntervalSince(started)
        let m = file.metadata
        #expect(file.version == 3 && file.alignment == 32)
        #expect(m["general.architecture"]?.string == "llama")
        #expect(m["llama.block_count"]?.int == 30)
        #expect(m["llama.embedding_length"]?.int == 576)
        #expect(m["llama.attention.head_count"]?.int == 9)
        #expect(m["llama.attention.head_count_kv"]?.int == 3)
        #expect(m["llama.feed_forward_length"]?.int == 1536)
        #expect(m["llama.rope.freq_base"]?.double == 100_000)
        #expect(m["llama.attention.layer_norm_rms_epsilon"]?.double == Double(Float(1e-5)))
        #expect(m["tokenizer.ggml.model"]?.string == "gpt2")
        #expect(m["tokenizer.ggml.tokens"]?.strings?.count == 49152)
        #expect(m["tokenizer.ggml.token_type"]?.ints?.count == 49152)
        #expect(m["tokenizer.ggml.merges"]?.strings?.count == 48900)
        #expect(m["tokenizer.ggml.add_bos_token"]?.bool == false)
        #expect(m["tokenizer.chat_template"]?.string?.contains("<|im_start|>") == true)
        #expect(file.valueType("tokenizer.ggml.token_type") == .int32 && file.valueType("llama.block_count") == .uint32)
        #expect(file.keys.count == 33 && file.keys.first == "general.architecture")

        let reference = try #require(try Self.json("smollm2.json")["tensors"] as? [[String: Any]])
        #expect(file.tensors.map(\.name) == reference.map { $0["name"] as? String ?? "" })
        // 135M values: about 7 s in a debug build, 0.5 s in a release one.
        var buffer = [Float](repeating: 0, count: file.tensors.map(\.count).max() ?? 0)
        for t in reference {
            let name = try #require(t["name"] as? String)
            let info = try #require(file.tensor(name))
            #expect(info.type.name == t["type"] as? String && info.shape == t["shape"] as? [Int], "\(name)")
            var hash = Mix64Sum()
            try buffer.withUnsafeMutableBufferPointer { out in
                try file.dequantize(info, into: out.baseAddress!)
                hash.add(UnsafeBufferPointer(rebasing: out[0..<info.count]))
            }
            #expect(hash.hex == t["hash"] as? String, "\(name) (\(info.type.name) \(info.shape))")
        }
        print("GGUFTests: SmolLM2 opened in \(String(format: "%.3f", opened)) s; every tensor dequantized and hashed in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
    }

    // MARK: The writer

    @Test("GGUFWriter round trip: every value type, chosen and inferred, arrays of each, nested arrays, F32/F16/BF16 tensors, alignment")
    func writerRoundTrip() throws {
        var w = GGUFWriter()
        let typed: [(String, GGUFValue, GGUFValueType)] = [
            ("u8", .uint(255), .uint8), ("i8", .int(-128), .int8), ("u16", .uint(65535), .uint16), ("i16", .int(-32768), .int16),
            ("u32", .uint(4_294_967_295), .uint32), ("i32", .int(-2_147_483_648), .int32),
            ("u64", .uint(.max), .uint64), ("i64", .int(.min), .int64),
            ("f32", .float(0.25), .float32), ("f64", .float(0.1), .float64), ("b", .bool(true), .bool), ("s", .string("ü ✓ 🙂"), .string),
            ("a.u8", .array([.uint(1), .uint(2)]), .uint8), ("a.i16", .array([.int(-1), .int(2)]), .int16),
            ("a.f64", .array([.float(0.1), .float(-2)]), .float64), ("a.b", .array([.bool(false), .bool(true)]), .bool),
        ]
        for (k, v, t) in typed { w.set(k, v, as: t) }
        w.set("general.alignment", .uint(64))
        w.set("inferred.uint", .uint(7))
        w.set("inferred.big", .uint(1 << 40))
        w.set("inferred.int", .int(-7))
        w.set("inferred.float", .float(1.5))
        w.set("inferred.strings", .array([.string("a"), .string(""), .string("Ġthe")]))
        w.set("inferred.mixed", .array([.uint(1), .int(-1)]))
        w.set("inferred.nested", .array([.array([.uint(1), .uint(2)]), .array([.string("x")])]))
        w.set("inferred.empty", .array([]))
        w.set("replaced", .string("first"))
        w.set("replaced", .string("second"))
        let values: [Float] = [0, -0.0, 1, -2.5, 3.14159, 1e-8, 65504, 70000, .infinity, -.infinity, 1.0 / 3, 2.7182817]
        w.add("f32", shape: [4, 3], floats: values, as: .f32)
        w.add("f16", shape: [12], floats: values, as: .f16)
        w.add("bf16", shape: [6, 2], floats: values, as: .bf16)
        w.add("raw.q8_0", shape: [32], type: .q8_0, bytes: [0x00, 0x3C] + (0..<32).map { UInt8($0) })
        w.add("scalar", shape: [], floats: [5])
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/round.gguf"
        try w.write(to: path)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == w.bytes())

        let f = try GGUFFile(path: path)
        #expect(f.version == 3 && f.alignment == 64 && f.dataOffset % 64 == 0)
        for (k, v, t) in typed {
            #expect(f.metadata[k] == v, "\(k)")
            #expect(f.valueType(k) == t, "\(k)")
        }
        #expect(f.valueType("inferred.uint") == .uint32 && f.metadata["inferred.uint"] == .uint(7))
        #expect(f.valueType("inferred.big") == .uint64 && f.metadata["inferred.big"]?.int == 1 << 40)
        #expect(f.valueType("inferred.int") == .int32 && f.metadata["inferred.int"]?.int == -7)
        #expect(f.valueType("inferred.float") == .float32 && f.metadata["inferred.float"]?.double == 1.5)
        #expect(f.metadata["inferred.strings"]?.strings == ["a", "", "Ġthe"] && f.valueType("inferred.strings") == .string)
        #expect(f.valueType("inferred.mixed") == .int32 && f.metadata["inferred.mixed"]?.ints == [1, -1])
        #expect(f.metadata["inferred.nested"] == .array([.array([.uint(1), .uint(2)]), .array([.string("x")])]))
        #expect(f.metadata["inferred.empty"] == .array([]))
        #expect(f.metadata["replaced"]?.string == "second" && f.keys.filter { $0 == "replaced" }.count == 1)
        #expect(f.keys.first == "u8")

        #expect(f.tensors.map(\.name) == ["f32", "f16", "bf16", "raw.q8_0", "scalar"])
        #expect(f.tensor("scalar")?.shape == [] && f.tensor("scalar")?.count == 1)
        #expect(try f.floats("scalar") == [5])
        #expect(f.tensors.allSatisfy { $0.offset % 64 == 0 })
        #expect(f.tensor("f32")?.shape == [4, 3] && f.tensor("bf16")?.shape == [6, 2])
        #expect(try f.floats("f32").map(\.bitPattern) == values.map(\.bitPattern))
        #expect(try f.floats("f16").map(\.bitPattern) == values.map { Float(Float16($0)).bitPattern })
        #expect(try f.floats("f16")[7] == .infinity)  // 70000 overflows a half
        let bf16 = try f.floats("bf16")
        #expect(bf16[2] == 1 && bf16[3] == -2.5 && bf16[8] == .infinity && bf16[4] == Float(bitPattern: 0x4049_0000))
        #expect(zip(bf16, values).allSatisfy { $0 == $1 || abs($0 - $1) <= abs($1) / 128 })
        #expect(GGUFWriter.bfloat16(.nan) & 0x7FC0 == 0x7FC0 && GGUFWriter.bfloat16(Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        #expect(GGUFWriter.bfloat16(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // ties go to even
        #expect(try f.floats("raw.q8_0") == (0..<32).map(Float.init))
    }

    @Test("GGUFWriter refuses what it cannot write: a value that does not fit its type, mixed arrays, bad shapes and byte counts")
    func writerErrors() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.gguf"
        func refuses(_ change: (inout GGUFWriter) -> Void, _ fragment: String) {
            var w = GGUFWriter()
            change(&w)
            #expect(throws: FXError.self) { try w.write(to: path) }
            do { try w.write(to: path) } catch let e as FXError {
                #expect(e.kind == .data && e.description.contains(path) && e.description.contains(fragment), "\(e)")
            } catch { Issue.record("\(error)") }
        }
        refuses({ $0.set("k", .uint(256), as: .uint8) }, "'k'")
        refuses({ $0.set("k", .string("x"), as: .int32) }, "'k'")
        refuses({ $0.set("k", .array([.string("x"), .uint(1)])) }, "'k'")
        refuses({ $0.set("general.alignment", .uint(48)) }, "alignment")
        refuses({ $0.add("t", shape: [16], type: .q4_0, bytes: [UInt8](repeating: 0, count: 9)) }, "'t'")
        refuses({ $0.add("t", shape: [32], type: .q4_0, bytes: [UInt8](repeating: 0, count: 17)) }, "'t'")
        refuses({ $0.add("t", shape: [1, 1, 1, 1, 1], floats: [1]) }, "'t'")
        refuses({ $0.add("t", shape: [1, 0], floats: []) }, "'t'")
        refuses({ $0.add("t", shape: [2], floats: [1]) }, "'t'")
        refuses({ $0.add("t", shape: [1], floats: [1]); $0.add("t", shape: [1], floats: [2]) }, "'t'")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    // MARK: Hostile files

    /// GGUF bytes built by hand.
    struct Raw {
        var bytes: [UInt8] = Array("GGUF".utf8)
        init(version: UInt32 = 3, tensors: UInt64, keys: UInt64) {
            u32(version)
            u64(tensors)
            u64(keys)
        }
        mutating func u8(_ v: UInt8) { bytes.append(v) }
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        mutating func str(_ s: String) {
            u64(UInt64(s.utf8.count))
            bytes.append(contentsOf: s.utf8)
        }
        /// A tensor table entry.
        mutating func tensor(_ name: String, _ shape: [UInt64], type: UInt32, offset: UInt64) {
            str(name)
            u32(UInt32(shape.count))
            for n in shape { u64(n) }
            u32(type)
            u64(offset)
        }
        /// Pads to 32 and appends `n` data bytes.
        mutating func data(_ n: Int) {
            bytes += [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32) + [UInt8](repeating: 0x3C, count: n)
        }
    }

    /// Expects opening `bytes` (written to a file) to fail with a data error naming the file and holding `fragment`.
    static func expectDataError(_ bytes: [UInt8], _ fragment: String, in dir: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let path = dir + "/hostile-\(UUID().uuidString).gguf"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try GGUFFile(path: path)
            Issue.record("\(fragment): no error", sourceLocation: sourceLocation)
        } catch let e as FXError {
            #expect(e.kind == .data && e.place == path && (fragment.isEmpty || e.reason.contains(fragment)), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(fragment): \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("every prefix of a valid file, cut anywhere before its last tensor's data ends, is a data error naming the file")
    func truncatedEverywhere() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("tokenizer.ggml.tokens", .array([.string("<s>"), .string("a"), .string("Ġb")]))
        w.set("scores", .array([.float(0.5), .float(-1)]))
        w.set("nested", .array([.array([.uint(1)])]))
        w.add("norm", shape: [8], floats: (0..<8).map(Float.init))
        w.add("q", shape: [32, 2], type: .q8_0, bytes: [UInt8](repeating: 0, count: 68))
        let whole = try w.bytes()
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/whole.gguf"
        _ = FileManager.default.createFile(atPath: path, contents: Data(whole))
        let f = try GGUFFile(path: path)
        let q = try #require(f.tensor("q"))
        let end = f.dataOffset + q.offset + q.byteCount
        #expect(end <= whole.count && whole.count - end < 32)
        for n in 0..<end { Self.expectDataError(Array(whole[0..<n]), n < 4 ? "truncated" : "", in: dir) }
        #expect(throws: FXError.self) { try GGUFFile(path: dir + "/missing.gguf") }
        #expect((try? GGUFFile(path: dir)) == nil)
    }

    @Test("hostile headers, metadata and tensor tables are data errors that say what is wrong")
    func hostileFiles() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func check(_ fragment: String, _ build: (inout Raw) -> Void, tensors: UInt64 = 0, keys: UInt64 = 0, version: UInt32 = 3,
                   sourceLocation: SourceLocation = #_sourceLocation) {
            var r = Raw(version: version, tensors: tensors, keys: keys)
            build(&r)
            Self.expectDataError(r.bytes, fragment, in: dir, sourceLocation: sourceLocation)
        }
        // Header.
        Self.expectDataError(Array("GGML".utf8) + [UInt8](repeating: 0, count: 40), "bad magic", in: dir)
        Self.expectDataError([], "truncated", in: dir)
        check("version 1", { _ in }, version: 1)
        check("version 4", { _ in }, version: 4)
        check("big-endian", { _ in }, version: UInt32(3).byteSwapped)
        check("claims 1000000 tensors", { $0.bytes += [UInt8](repeating: 0, count: 64) }, tensors: 1_000_000)
        check("claims 18446744073709551615 tensors", { _ in }, tensors: .max)
        check("claims 4611686018427387904 metadata keys", { _ in }, keys: 1 << 62)
        // Metadata.
        check("claims 1099511627776 bytes", { $0.u64(1 << 40); $0.u32(0); $0.u64(0) }, keys: 1)
        check("claims 9223372036854775808 bytes", { $0.str("k"); $0.u32(8); $0.u64(1 << 63) }, keys: 1)
        check("claims 1000000 elements in 'k'", { $0.str("k"); $0.u32(9); $0.u32(4); $0.u64(1_000_000); $0.u32(1) }, keys: 1)
        check("claims 100 elements in 'k'", { $0.str("k"); $0.u32(9); $0.u32(8); $0.u64(100); $0.str("x") }, keys: 1)
        check("unknown value type 13", { $0.str("k"); $0.u32(13); $0.u32(0) }, keys: 1)
        check("unknown value type 77", { $0.str("k"); $0.u32(9); $0.u32(77); $0.u64(1); $0.u32(0) }, keys: 1)
        check("a bool of 2", { $0.str("k"); $0.u32(7); $0.u8(2) }, keys: 1)
        check("'k' appears twice", { r in for _ in 0..<2 { r.str("k"); r.u32(4); r.u32(1) } }, keys: 2)
        check("power of two", { $0.str("general.alignment"); $0.u32(4); $0.u32(48) }, keys: 1)
        check("power of two", { $0.str("general.alignment"); $0.u32(8); $0.str("32") }, keys: 1)
        check("nests arrays deeper", { r in
            r.str("k")
            r.u32(9)
            for _ in 0..<20 { r.u32(9); r.u64(1) }
            r.u32(4); r.u64(0)
        }, keys: 1)
        check("truncated GGUF file: it ends inside the value of 'key'", { $0.str("key"); $0.u32(4); $0.u8(1) }, keys: 1)
        check("truncated GGUF file: it ends inside the length of an element of 'k'", { r in
            r.str("k"); r.u32(9); r.u32(8); r.u64(2); r.str("a")
            r.bytes += [UInt8](repeating: 0, count: 7)
        }, keys: 1)
        // Tensor table.
        check("unknown ggml type 99", { $0.tensor("w", [32], type: 99, offset: 0); $0.data(128) }, tensors: 1)
        check("unknown ggml type 4", { $0.tensor("w", [32], type: 4, offset: 0); $0.data(128) }, tensors: 1)
        check("5 dimensions", { $0.tensor("w", [1, 1, 1, 1, 1], type: 0, offset: 0); $0.data(4) }, tensors: 1)
        check("not a multiple of its block size 32", { $0.tensor("w", [], type: 8, offset: 0); $0.data(34) }, tensors: 1)
        check("dimension 1 of 0", { $0.tensor("w", [4, 0], type: 0, offset: 0); $0.data(16) }, tensors: 1)
        check("dimension 0 of 9223372036854775808", { $0.tensor("w", [1 << 63], type: 0, offset: 0); $0.data(16) }, tensors: 1)
        check("too many values", { $0.tensor("w", [1 << 32, 1 << 32], type: 0, offset: 0); $0.data(16) }, tensors: 1)
        check("too many values", { $0.tensor("w", [1 << 61], type: 0, offset: 0); $0.data(16) }, tensors: 1)
        check("not a multiple of its block size 32", { $0.tensor("w", [16, 2], type: 2, offset: 0); $0.data(64) }, tensors: 1)
        check("not a multiple of the alignment 32", { $0.tensor("w", [4], type: 0, offset: 4); $0.data(64) }, tensors: 1)
        check("ends past the end of the file", { $0.tensor("w", [64], type: 0, offset: 0); $0.data(255) }, tensors: 1)
        check("ends past the end of the file", { $0.tensor("w", [8], type: 0, offset: 1 << 40); $0.data(64) }, tensors: 1)
        check("offset 18446744073709551584", { $0.tensor("w", [8], type: 0, offset: UInt64.max - 31); $0.data(64) }, tensors: 1)
        check("'a' and 'b' overlap", { $0.tensor("a", [16], type: 0, offset: 0); $0.tensor("b", [8], type: 0, offset: 32); $0.data(128) }, tensors: 2)
        check("'b' and 'a' overlap", { $0.tensor("b", [8], type: 0, offset: 0); $0.tensor("a", [8], type: 0, offset: 0); $0.data(128) }, tensors: 2)
        check("tensor name 'a' appears twice", { $0.tensor("a", [8], type: 0, offset: 0); $0.tensor("a", [8], type: 0, offset: 32); $0.data(128) }, tensors: 2)
        check("truncated GGUF file: it ends inside dimension 1 of tensor 'w'", { $0.str("w"); $0.u32(2); $0.u64(4) }, tensors: 1)
        check("alignment 64", { r in
            r.str("general.alignment"); r.u32(4); r.u32(64)
            r.tensor("w", [8], type: 0, offset: 32); r.data(128)
        }, tensors: 1, keys: 1)

        // A type fx reads but cannot dequantize opens; asking for its values names the tensor and the type.
        var r = Raw(tensors: 1, keys: 0)
        r.tensor("iq", [256], type: 16, offset: 0)
        r.data(66)
        let path = dir + "/iq.gguf"
        _ = FileManager.default.createFile(atPath: path, contents: Data(r.bytes))
        let f = try GGUFFile(path: path)
        #expect(f.tensor("iq")?.byteCount == 66)
        do {
            _ = try f.floats("iq")
            Issue.record("IQ2_XXS dequantized")
        } catch let e as FXError {
            #expect(e.kind == .data && e.place == path && e.reason.contains("'iq'") && e.reason.contains("IQ2_XXS (16)"), "\(e)")
        }
        #expect(throws: FXError.self) { try f.floats("absent") }
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

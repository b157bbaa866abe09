/// ggml's tensor types: how many values a block holds and how many bytes it takes, and the dequantizers.
///
/// Each dequantizer computes exactly what gguf-py's `gguf.quants.dequantize` computes (numpy in float32), so the
/// results are equal bit for bit: the same products and sums, in the same order, and no fused multiply-add
/// (Swift does not contract `a * b + c`). Block layouts, by type (all little-endian, `d`/`m`/`dmin` are float16):
///
/// | type | values | bytes | layout | value |
/// |---|---|---|---|---|
/// | Q4_0 | 32 | 18 | d, 16 bytes of nibbles: low nibbles are values 0-15, high ones 16-31 | d * (q - 8) |
/// | Q4_1 | 32 | 20 | d, m, nibbles as Q4_0 | d * q + m |
/// | Q5_0 | 32 | 22 | d, u32 of fifth bits (bit i for value i), nibbles | d * (q - 16) |
/// | Q5_1 | 32 | 24 | d, m, u32 of fifth bits, nibbles | d * q + m |
/// | Q8_0 | 32 | 34 | d, 32 int8 | q * d |
/// | Q2_K | 256 | 84 | 16 scale bytes (low nibble scale, high nibble min), 64 bytes of 2-bit values, d, dmin | (d * sc) * q - (dmin * m) |
/// | Q3_K | 256 | 110 | 32 bytes of high bits, 64 bytes of 2-bit values, 12 bytes of 6-bit scales, d | (d * (sc - 32)) * q |
/// | Q4_K | 256 | 144 | d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles | (d * sc) * q - (dmin * m) |
/// | Q5_K | 256 | 176 | d, dmin, 12 bytes of scales and mins, 32 bytes of fifth bits, 128 bytes of nibbles | (d * sc) * q - (dmin * m) |
/// | Q6_K | 256 | 210 | 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 int8 scales, d | (d * sc) * (q - 32) |
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    /// The name gguf-py and llama.cpp's tools print: `Q4_K`, `BF16`, `IQ2_XXS`.
    public var name: String { String(describing: self).uppercased() }

    /// Values per block; a row's length (ne0) is a multiple of it.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_NL, .mxfp4: return 32
        case .nvfp4: return 64
        case .q1_0: return 128
        default: return 256
        }
    }

    /// Bytes per block.
    public var typeSize: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8: return 1
        case .i64, .f64: return 8
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 40
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        case .iq2_XXS: return 66
        case .iq2_XS: return 74
        case .iq3_XXS: return 98
        case .iq1_S: return 50
        case .iq4_NL: return 18
        case .iq3_S: return 110
        case .iq2_S: return 82
        case .iq4_XS: return 136
        case .iq1_M: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        case .mxfp4: return 17
        case .nvfp4: return 36
        case .q1_0: return 18
        }
    }

    /// Whether fx dequantizes this type (`GGUFFile.floats`); the others are read (shape, bytes) but not converted.
    public var canDequantize: Bool {
        switch self {
        case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return true
        default: return false
        }
    }
}

/// Every float16 bit pattern as a Float32: exact (each half is a float) and quicker than converting in the loops.
/// (A NaN keeps what Swift's conversion makes of its payload; gguf-py's may differ there, and only there.)
let halfToFloat: [Float] = (0...0xFFFF).map { Float(Float16(bitPattern: UInt16($0))) }

/// The dequantizers: `blocks` whole blocks of `type` from `source` into `output` (`blocks * blockSize` floats).
enum GGMLDequantizer {
    static func run(_ type: GGMLType, _ source: UnsafeRawPointer, blocks: Int, into output: UnsafeMutablePointer<Float>) {
        let b = source.assumingMemoryBound(to: UInt8.self)
        halfToFloat.withUnsafeBufferPointer { table in
            let half = table.baseAddress.unsafelyUnwrapped  // 65,536 entries: any UInt16 indexes it
            switch type {
            case .f32: f32(b, blocks, output)
            case .f16: for i in 0..<blocks { output[i] = half[Int(u16(b + 2 * i))] }
            case .bf16: for i in 0..<blocks { output[i] = Float(bitPattern: UInt32(u16(b + 2 * i)) << 16) }
            case .q4_0: q4_0(b, blocks, output, half)
            case .q4_1: q4_1(b, blocks, output, half)
            case .q5_0: q5_0(b, blocks, output, half)
            case .q5_1: q5_1(b, blocks, output, half)
            case .q8_0: q8_0(b, blocks, output, half)
            case .q2_K: q2_K(b, blocks, output, half)
            case .q3_K: q3_K(b, blocks, output, half)
            case .q4_K: q4_K(b, blocks, output, half)
            case .q5_K: q5_K(b, blocks, output, half)
            case .q6_K: q6_K(b, blocks, output, half)
            default: preconditionFailure("\(type.name) has no dequantizer")  // callers check canDequantize
            }
        }
    }

    @inline(__always) static func u16(_ p: UnsafePointer<UInt8>) -> UInt16 { UInt16(p[0]) | UInt16(p[1]) << 8 }

    @inline(__always) static func u32(_ p: UnsafePointer<UInt8>) -> UInt32 {
        UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
    }

    static func f32(_ b: UnsafePointer<UInt8>, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        #if _endian(little)
        UnsafeMutableRawPointer(out).copyMemory(from: b, byteCount: 4 * n)
        #else
        for i in 0..<n { out[i] = Float(bitPattern: u32(b + 4 * i)) }
        #endif
    }

    static func q4_0(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 18 * k, o = out + 32 * k
            let d = half[Int(u16(p))]
            for j in 0..<16 {
                let q = p[2 + j]
                o[j] = d * Float(Int32(q & 0x0F) - 8)
                o[j + 16] = d * Float(Int32(q >> 4) - 8)
            }
        }
    }

    static func q4_1(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 20 * k, o = out + 32 * k
            let d = half[Int(u16(p))], m = half[Int(u16(p + 2))]
            for j in 0..<16 {
                let q = p[4 + j]
                o[j] = d * Float(q & 0x0F) + m
                o[j + 16] = d * Float(q >> 4) + m
            }
        }
    }

    static func q5_0(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 22 * k, o = out + 32 * k
            let d = half[Int(u16(p))], high = u32(p + 2)
            for j in 0..<16 {
                let q = UInt32(p[6 + j])
                o[j] = d * Float(Int32((q & 0x0F) | ((high >> UInt32(j)) & 1) << 4) - 16)
                o[j + 16] = d * Float(Int32((q >> 4) | ((high >> UInt32(j + 16)) & 1) << 4) - 16)
            }
        }
    }

    static func q5_1(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 24 * k, o = out + 32 * k
            let d = half[Int(u16(p))], m = half[Int(u16(p + 2))], high = u32(p + 4)
            for j in 0..<16 {
                let q = UInt32(p[8 + j])
                o[j] = d * Float((q & 0x0F) | ((high >> UInt32(j)) & 1) << 4) + m
                o[j + 16] = d * Float((q >> 4) | ((high >> UInt32(j + 16)) & 1) << 4) + m
            }
        }
    }

    static func q8_0(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 34 * k, o = out + 32 * k
            let d = half[Int(u16(p))]
            for j in 0..<32 { o[j] = Float(Int8(bitPattern: p[2 + j])) * d }
        }
    }

    static func q2_K(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 84 * k, o = out + 256 * k
            let scales = p, qs = p + 16
            let d = half[Int(u16(p + 80))], dmin = half[Int(u16(p + 82))]
            // Value e (0..<256) is bits 2*((e % 128) / 32) of byte 32 * (e / 128) + e % 32; scale byte e / 16.
            for s in 0..<16 {
                let dl = d * Float(scales[s] & 0x0F), ml = dmin * Float(scales[s] >> 4)
                for t in 0..<16 {
                    let e = 16 * s + t
                    let q = (qs[32 * (e >> 7) + (e & 31)] >> UInt8(2 * ((e & 127) >> 5))) & 3
                    o[e] = dl * Float(q) - ml
                }
            }
        }
    }

    static func q3_K(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 110 * k, o = out + 256 * k
            let hmask = p, qs = p + 32, sc = p + 96
            let d = half[Int(u16(p + 108))]
            for s in 0..<16 {
                // 6-bit scale s: its low 4 bits in byte s % 8 (low nibble for s < 8), its high 2 bits in byte 8 + s % 4.
                let low = s < 8 ? sc[s] & 0x0F : sc[s - 8] >> 4
                let high = (sc[8 + (s & 3)] >> UInt8(2 * (s >> 2))) & 3
                let dl = d * Float(Int32(low | high << 4) - 32)
                for t in 0..<16 {
                    let e = 16 * s + t
                    let q = (qs[32 * (e >> 7) + (e & 31)] >> UInt8(2 * ((e & 127) >> 5))) & 3
                    let h = (hmask[e & 31] >> UInt8(e >> 5)) & 1  // a clear bit subtracts 4
                    o[e] = dl * Float(Int32(q) - Int32((h ^ 1) << 2))
                }
            }
        }
    }

    /// The 6-bit scale and min of sub-block `j` (0..<8) of a Q4_K or Q5_K block's 12 scale bytes.
    @inline(__always) static func scaleMin(_ s: UnsafePointer<UInt8>, _ j: Int) -> (UInt8, UInt8) {
        if j < 4 { return (s[j] & 0x3F, s[j + 4] & 0x3F) }
        return ((s[j + 4] & 0x0F) | ((s[j - 4] >> 2) & 0x30), (s[j + 4] >> 4) | ((s[j] >> 2) & 0x30))
    }

    static func q4_K(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 144 * k, o = out + 256 * k
            let d = half[Int(u16(p))], dmin = half[Int(u16(p + 2))]
            for j in 0..<8 {
                let (sc, mn) = scaleMin(p + 4, j)
                let dj = d * Float(sc), mj = dmin * Float(mn)
                let qs = p + 16 + 32 * (j >> 1), shift = UInt8(4 * (j & 1)), oj = o + 32 * j
                for l in 0..<32 { oj[l] = dj * Float((qs[l] >> shift) & 0x0F) - mj }
            }
        }
    }

    static func q5_K(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 176 * k, o = out + 256 * k
            let d = half[Int(u16(p))], dmin = half[Int(u16(p + 2))]
            let qh = p + 16
            for j in 0..<8 {
                let (sc, mn) = scaleMin(p + 4, j)
                let dj = d * Float(sc), mj = dmin * Float(mn)
                let qs = p + 48 + 32 * (j >> 1), shift = UInt8(4 * (j & 1)), oj = o + 32 * j
                for l in 0..<32 {
                    let q = ((qs[l] >> shift) & 0x0F) | ((qh[l] >> UInt8(j)) & 1) << 4
                    oj[l] = dj * Float(q) - mj
                }
            }
        }
    }

    static func q6_K(_ b: UnsafePointer<UInt8>, _ blocks: Int, _ out: UnsafeMutablePointer<Float>, _ half: UnsafePointer<Float>) {
        for k in 0..<blocks {
            let p = b + 210 * k, o = out + 256 * k
            let ql = p, qh = p + 128, scales = p + 192
            let d = half[Int(u16(p + 208))]
            // Value e = 128 * h + r: low nibble from byte 64 * h + r % 64 (shifted 4 * (r / 64)),
            // high two bits from byte 32 * h + r % 32 (shifted 2 * (r / 32)); scale e / 16.
            for s in 0..<16 {
                let ds = d * Float(Int8(bitPattern: scales[s]))
                for t in 0..<16 {
                    let e = 16 * s + t, h = e >> 7, r = e & 127
                    let low = (ql[64 * h + (r & 63)] >> UInt8(4 * (r >> 6))) & 0x0F
                    let high = (qh[32 * h + (r & 31)] >> UInt8(2 * (r >> 5))) & 3
                    o[e] = ds * Float(Int32(low | high << 4) - 32)
                }
            }
        }
    }
}

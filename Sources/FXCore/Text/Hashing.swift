/// Stable 64-bit hashing of bytes (FNV-1a, then MurmurHash3's finaliser): the same on every machine and run,
/// unlike Swift's `Hasher`, so splits and random choices derived from it are reproducible.
public struct StableHash: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64 = 0) {
        state = 0xCBF2_9CE4_8422_2325 ^ StableHash.mix(seed)
    }

    @inline(__always)
    public mutating func combine(_ bytes: UnsafeBufferPointer<UInt8>) {
        var h = state
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        state = h
    }

    public mutating func combine(_ string: String) {
        var s = string
        s.withUTF8 { combine($0) }
    }

    public mutating func combine(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { combine($0.bindMemory(to: UInt8.self)) }
    }

    public var value: UInt64 { StableHash.mix(state) }

    /// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
    @inline(__always)
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z ^= z >> 33
        z = z &* 0xFF51_AFD7_ED55_8CCD
        z ^= z >> 33
        z = z &* 0xC4CE_B9FE_1A85_EC53
        z ^= z >> 33
        return z
    }

    /// A number in [0, 1) from a hash.
    public static func unitInterval(_ h: UInt64) -> Double { Double(h >> 11) * 0x1.0p-53 }
}

/// SplitMix64: a small, fast generator for reproducible random choices from a seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Returns the offset of the first byte that is not part of well-formed UTF-8, or nil when all of it is.
///
/// Eight ASCII bytes at a time on the fast path; overlong forms, surrogates and code points past U+10FFFF are rejected.
public func firstInvalidUTF8(_ p: UnsafeBufferPointer<UInt8>) -> Int? {
    let n = p.count
    guard let base = p.baseAddress else { return nil }
    var i = 0
    while i < n {
        if i + 8 <= n {
            let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            if word & 0x8080_8080_8080_8080 == 0 { i += 8; continue }
        }
        let b0 = base[i]
        if b0 < 0x80 { i += 1; continue }
        let need: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return i
        }
        if i + need >= n { return i }
        let b1 = base[i + 1]
        if b1 < lo || b1 > hi { return i }
        var k = 2
        while k <= need {
            let b = base[i + k]
            if b < 0x80 || b > 0xBF { return i }
            k += 1
        }
        i += need + 1
    }
    return nil
}

extension Array where Element == UInt8 {
    /// True when the bytes are well-formed UTF-8.
    public var isValidUTF8: Bool { withUnsafeBufferPointer { firstInvalidUTF8($0) == nil } }
}

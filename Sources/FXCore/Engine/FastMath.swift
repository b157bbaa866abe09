/// exp and erf on eight floats at once, for the loops that would otherwise call libm once per value (GELU over
/// every feed-forward activation, the attention softmax). Both agree with libm to about 2e-7.
typealias Float8 = SIMD8<Float>

/// e^x: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor series to r⁷/7!, and 2^n put into the exponent bits.
/// For x ≤ 0 (the callers' case: scores minus their maximum, -x²); inputs below -87 give 0.
@inline(__always)
func exp8(_ x: Float8) -> Float8 {
    let clamped = x.replacing(with: -87.3, where: x .< -87.3)
    // Adding 1.5 · 2²³ rounds to an integer, which then sits in the low bits of the sum's significand.
    let magic = Float8(repeating: 12_582_912)
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    // ln 2 in two parts, so that n · ln 2 is subtracted without losing r's low bits.
    var r = clamped - n * 0.693_145_75
    r = r - n * 1.428_606_8e-6
    var p = Float8(repeating: 1.0 / 5040)
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let scale = unsafeBitCast((integer &+ SIMD8<Int32>(repeating: 127)) &<< SIMD8<Int32>(repeating: 23), to: Float8.self)
    return (p * scale).replacing(with: 0, where: x .< -87.3)
}

/// erf(x) by Abramowitz and Stegun's 7.1.26: 1 - (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵)·e^(-x²), t = 1/(1 + p|x|),
/// absolute error below 1.5e-7; odd in x.
@inline(__always)
func erf8(_ x: Float8) -> Float8 {
    let a = x.replacing(with: -x, where: x .< 0)
    let t = 1 / (1 + 0.327_591_1 * a)
    var p = Float8(repeating: 1.061_405_429)
    p = p * t - 1.453_152_027
    p = p * t + 1.421_413_741
    p = p * t - 0.284_496_736
    p = p * t + 0.254_829_592
    let y = Float8(repeating: 1) - p * t * exp8(-a * a)
    return y.replacing(with: -y, where: x .< 0)
}

/// Applies `f` to `count` floats in place, eight at a time (the tail through a padded vector).
@inline(__always)
func map8(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ f: (Float8) -> Float8) {
    var i = 0
    let raw = UnsafeMutableRawPointer(p)
    while i + 8 <= count {
        raw.storeBytes(of: f(raw.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)), toByteOffset: i * 4, as: Float8.self)
        i += 8
    }
    if i < count {
        var tail = Float8()
        for j in 0..<(count - i) { tail[j] = p[i + j] }
        let out = f(tail)
        for j in 0..<(count - i) { p[i + j] = out[j] }
    }
}

/// p[i] = f(p[i], q[i]) for `count` floats, eight at a time.
@inline(__always)
func zip8(_ p: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>, _ count: Int, _ f: (Float8, Float8) -> Float8) {
    var i = 0
    let raw = UnsafeMutableRawPointer(p), other = UnsafeRawPointer(q)
    while i + 8 <= count {
        let out = f(raw.loadUnaligned(fromByteOffset: i * 4, as: Float8.self), other.loadUnaligned(fromByteOffset: i * 4, as: Float8.self))
        raw.storeBytes(of: out, toByteOffset: i * 4, as: Float8.self)
        i += 8
    }
    if i < count {
        var a = Float8(), b = Float8()
        for j in 0..<(count - i) { a[j] = p[i + j]; b[j] = q[i + j] }
        let out = f(a, b)
        for j in 0..<(count - i) { p[i + j] = out[j] }
    }
}

/// The largest of `count` floats (at least one).
@inline(__always)
func maximum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
    var best = -Float.infinity
    var i = 0
    if count >= 8 {
        let raw = UnsafeRawPointer(p)
        var top = raw.loadUnaligned(as: Float8.self)
        i = 8
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)
            top.replace(with: v, where: v .> top)
            i += 8
        }
        best = top.max()
    }
    while i < count { best = max(best, p[i]); i += 1 }
    return best
}

/// The sum of `count` floats, eight lanes at a time.
@inline(__always)
func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
    var lanes = Float8()
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 8 <= count {
        lanes += raw.loadUnaligned(fromByteOffset: i * 4, as: Float8.self)
        i += 8
    }
    var total = lanes.sum()
    while i < count { total += p[i]; i += 1 }
    return total
}

#if canImport(Glibc)
import Glibc
#endif

/// AdamW (decoupled weight decay) with linear warm-up then inverse-square-root decay (or linear decay to 0 at
/// `totalSteps`, as fine-tuning usually runs), and gradient clipping by the global norm of all gradients.
public final class AdamW {
    public let parameters: [Parameter]
    public var lr: Double
    public var beta1 = 0.9, beta2 = 0.98, eps = 1e-9
    public var weightDecay = 0.01
    public var warmup: Int
    /// Gradients whose global norm exceeds this are scaled down to it (0: no clipping).
    public var clip: Float = 1
    /// With a value: after warm-up, the rate falls linearly to 0 at this step instead.
    public var totalSteps: Int?
    /// With a value: the rate of the next update, set by a trainer with its own schedule.
    public var fixedRate: Double?
    public private(set) var step = 0
    private var m: [[Float]], v: [[Float]]

    public init(_ parameters: [Parameter], lr: Double, warmup: Int = 4000) {
        self.parameters = parameters
        self.lr = lr
        self.warmup = max(1, warmup)
        m = parameters.map { [Float](repeating: 0, count: $0.value.values.count) }
        v = m
    }

    /// The learning rate at `step` (1-based): lr · step / warmup up to warm-up, then lr · sqrt(warmup / step), or
    /// with `totalSteps` lr · (total - step) / (total - warmup).
    public func rate(at step: Int) -> Double {
        if step <= warmup { return lr * Double(step) / Double(warmup) }
        if let total = totalSteps { return lr * Double(max(total - step, 0)) / Double(max(total - warmup, 1)) }
        return lr * (Double(warmup) / Double(step)).squareRoot()
    }

    /// The global norm of all gradients.
    public var gradientNorm: Float {
        var sum: Float = 0
        for p in parameters { p.gradient.values.withUnsafeBufferPointer { for g in $0 { sum += g * g } } }
        return sum.squareRoot()
    }

    /// One update from the accumulated gradients, which it then zeroes; returns the gradient norm before clipping.
    @discardableResult
    public func update() -> Float {
        step += 1
        let norm = gradientNorm
        let scale: Float = clip > 0 && norm > clip ? clip / norm : 1
        let rate = Float(fixedRate ?? rate(at: step))
        let b1 = Float(beta1), b2 = Float(beta2)
        let correction1 = 1 - powf(b1, Float(step)), correction2 = 1 - powf(b2, Float(step))
        let decay = 1 - rate * Float(weightDecay)
        let c1 = 1 / correction1, c2 = 1 / correction2, epsilon = Float(eps)
        for (i, p) in parameters.enumerated() {
            // Biases and layer-norm gains (vectors) are not decayed, as is usual.
            let factor = p.value.rows > 1 ? decay : 1
            m[i].withUnsafeMutableBufferPointer { m in
                v[i].withUnsafeMutableBufferPointer { v in
                    p.value.values.withUnsafeMutableBufferPointer { w in
                        p.gradient.values.withUnsafeMutableBufferPointer { grad in
                            for j in 0..<w.count {
                                let g = grad[j] * scale
                                m[j] = b1 * m[j] + (1 - b1) * g
                                v[j] = b2 * v[j] + (1 - b2) * g * g
                                w[j] = w[j] * factor - rate * (m[j] * c1) / ((v[j] * c2).squareRoot() + epsilon)
                                grad[j] = 0
                            }
                        }
                    }
                }
            }
        }
        return norm
    }
}

/// Data parallelism's reduction: `parameters`' gradients become Σ weights[t] · gradient of copy t, where copy 0 is
/// `parameters` itself and the others are `others` (in the same order), whose gradients are zeroed.
func mergeGradients(_ parameters: [Parameter], _ others: [[Parameter]], weights: [Float]) {
    for (k, p) in parameters.enumerated() {
        p.gradient.values.withUnsafeMutableBufferPointer { g in
            for j in 0..<g.count { g[j] *= weights[0] }
            for (t, other) in others.enumerated() {
                other[k].gradient.values.withUnsafeMutableBufferPointer { h in
                    for j in 0..<g.count { g[j] += weights[t + 1] * h[j]; h[j] = 0 }
                }
            }
        }
    }
}

/// Copies each parameter's values into the matching parameter's own storage (another thread's copy after an
/// update): the arrays are not shared, so the next update writes in place instead of copying them.
func copyValues(_ parameters: [Parameter], to others: [Parameter]) {
    for (p, q) in zip(parameters, others) {
        p.value.values.withUnsafeBufferPointer { src in
            q.value.values.withUnsafeMutableBufferPointer { dst in _ = dst.update(fromContentsOf: src) }
        }
    }
}

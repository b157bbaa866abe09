#if canImport(Glibc)
import Glibc
#endif

/// AdamW (decoupled weight decay) with linear warm-up then inverse-square-root decay, and gradient clipping by
/// the global norm of all gradients.
public final class AdamW {
    public let parameters: [Parameter]
    public var lr: Double
    public var beta1 = 0.9, beta2 = 0.98, eps = 1e-9
    public var weightDecay = 0.01
    public var warmup: Int
    /// Gradients whose global norm exceeds this are scaled down to it (0: no clipping).
    public var clip: Float = 1
    public private(set) var step = 0
    private var m: [[Float]], v: [[Float]]

    public init(_ parameters: [Parameter], lr: Double, warmup: Int = 4000) {
        self.parameters = parameters
        self.lr = lr
        self.warmup = max(1, warmup)
        m = parameters.map { [Float](repeating: 0, count: $0.value.values.count) }
        v = m
    }

    /// The learning rate at `step` (1-based): lr · step / warmup up to warm-up, then lr · sqrt(warmup / step).
    public func rate(at step: Int) -> Double {
        step <= warmup ? lr * Double(step) / Double(warmup) : lr * (Double(warmup) / Double(step)).squareRoot()
    }

    /// The global norm of all gradients.
    public var gradientNorm: Float {
        parameters.reduce(Float(0)) { sum, p in p.gradient.values.reduce(sum) { $0 + $1 * $1 } }.squareRoot()
    }

    /// One update from the accumulated gradients, which it then zeroes; returns the gradient norm before clipping.
    @discardableResult
    public func update() -> Float {
        step += 1
        let norm = gradientNorm
        let scale: Float = clip > 0 && norm > clip ? clip / norm : 1
        let rate = Float(rate(at: step))
        let b1 = Float(beta1), b2 = Float(beta2)
        let correction1 = 1 - powf(b1, Float(step)), correction2 = 1 - powf(b2, Float(step))
        let decay = 1 - rate * Float(weightDecay)
        for (i, p) in parameters.enumerated() {
            // Biases and layer-norm gains (vectors) are not decayed, as is usual.
            let decays = p.value.rows > 1
            for j in p.value.values.indices {
                let g = p.gradient.values[j] * scale
                m[i][j] = b1 * m[i][j] + (1 - b1) * g
                v[i][j] = b2 * v[i][j] + (1 - b2) * g * g
                let update = (m[i][j] / correction1) / ((v[i][j] / correction2).squareRoot() + Float(eps))
                if decays { p.value.values[j] *= decay }
                p.value.values[j] -= rate * update
            }
            p.zeroGradient()
        }
        return norm
    }
}

/// The first two principal components of document vectors (sparse or dense), for the 2-D map of fx-eval --report:
/// the covariance's top eigenvectors by power iteration (the second kept orthogonal to the first), never forming
/// the covariance itself.
public struct PrincipalPlane {
    public let mean: [Float]
    public let axes: [[Float]]

    public init(_ docs: [DocVector], dimensions d: Int, iterations: Int = 60) {
        var mean = [Float](repeating: 0, count: d)
        for doc in docs { doc.add(1 / Float(max(docs.count, 1)), into: &mean) }
        var axes: [[Float]] = []
        for a in 0..<2 {
            var v = (0..<d).map { Float(sin(Double($0 * (a + 3) + 1))) }
            for _ in 0..<iterations {
                var w = [Float](repeating: 0, count: d)
                let mv = zip(mean, v).reduce(0) { $0 + $1.0 * $1.1 }
                var total: Float = 0
                v.withUnsafeBufferPointer { vp in
                    for doc in docs {
                        let s = doc.dot(vp.baseAddress!) - mv
                        doc.add(s, into: &w)
                        total += s
                    }
                }
                for j in 0..<d { w[j] -= total * mean[j] }
                for previous in axes {  // deflation: stay orthogonal to the components found
                    let p = zip(w, previous).reduce(0) { $0 + $1.0 * $1.1 }
                    for j in 0..<d { w[j] -= p * previous[j] }
                }
                let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard norm > 0 else { break }
                v = w.map { $0 / norm }
            }
            axes.append(v)
        }
        self.mean = mean
        self.axes = axes
    }

    /// A document's coordinates on the two components.
    public func project(_ doc: DocVector) -> (Double, Double) {
        let c = axes.map { axis in
            axis.withUnsafeBufferPointer { Double(doc.dot($0.baseAddress!) - zip(mean, axis).reduce(0) { $0 + $1.0 * $1.1 }) }
        }
        return (c[0], c[1])
    }
}

extension DocVector {
    /// `into += scale * self`.
    func add(_ scale: Float, into w: inout [Float]) {
        if ids.isEmpty {
            for (j, v) in values.enumerated() { w[j] += scale * v }
        } else {
            for (k, id) in ids.enumerated() { w[Int(id)] += scale * values[k] }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

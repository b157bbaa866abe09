@testable import FXCore
import Testing

@Suite struct TunerTests {
    /// Hashes and labels of `n` pairs: label i % 7, except one label with only 3 pairs.
    func pairs(_ n: Int) -> (hashes: [UInt64], labels: [Int32]) {
        var rng = SplitMix64(seed: 9)
        let hashes = (0..<n).map { _ in rng.next() }
        let labels = (0..<n).map { Int32($0 < 3 ? 99 : $0 % 7) }
        return (hashes, labels)
    }

    @Test("the validation slice is 10% (at least 200 pairs), taken per label, and the same pairs whatever their order")
    func slice() {
        let (hashes, labels) = pairs(5000)
        let valid = Tuner.validationSlice(hashes: hashes, labels: labels)
        let count = valid.filter { $0 }.count
        #expect(abs(count - 500) <= 8, "\(count)")
        // Each label gets its share; the rare one keeps pairs on both sides.
        for label in Set(labels) {
            let members = labels.indices.filter { labels[$0] == label }
            let held = members.filter { valid[$0] }.count
            #expect(held >= 1 && held < members.count && abs(Double(held) - 0.1 * Double(members.count)) <= 1, "label \(label): \(held) of \(members.count)")
        }
        // Shuffled input: the same pairs (by hash) are held out.
        var rng = SplitMix64(seed: 3)
        let order = Array(hashes.indices).shuffled(using: &rng)
        let shuffled = Tuner.validationSlice(hashes: order.map { hashes[$0] }, labels: order.map { labels[$0] })
        #expect(Set(order.indices.filter { shuffled[$0] }.map { hashes[order[$0]] }) == Set(hashes.indices.filter { valid[$0] }.map { hashes[$0] }))
        // Few pairs: at least 200 held out, at most half.
        let (few, fewLabels) = pairs(600)
        #expect(Tuner.validationSlice(hashes: few, labels: fewLabels).filter { $0 }.count >= 200)
        let (tiny, tinyLabels) = pairs(100)
        #expect(Tuner.validationSlice(hashes: tiny, labels: tinyLabels).filter { $0 }.count <= 51, "half, and one of a rare label")
    }

    @Test("proposals keep the fixed settings and stay in range")
    func proposals() {
        var tuner = Tuner(seconds: 1)
        tuner.fixed = [.dim, .loss]
        var start = Tuner.Candidate(lr: 0.5, epochs: 40, features: FeatureSettings(), loss: .softmax)
        start.features.dim = 24
        var rng = SplitMix64(seed: 1)
        for spent in stride(from: 0.0, to: 1, by: 0.01) {
            let c = tuner.propose(around: start, spent: spent, losses: [.ova, .softmax, .ns], &rng)
            #expect(c.features.dim == 24 && c.loss == .softmax)
            #expect(c.lr >= 0.02 && c.lr <= 3 && c.epochs >= 3 && c.epochs <= 150 && c.features.outOfRange == nil)
            #expect(c.features.buckets * c.features.dim <= Tuner.maxBucketParameters)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Spherical k-means: unit vectors grouped by cosine similarity to unit centroids, seeded by greedy k-means++,
/// restarted `restarts` times keeping the best objective (the sum of each document's similarity to its centroid).
public struct SphericalKMeans {
    public var k: Int
    public var restarts = 3
    public var maxIterations = 100
    /// Stop when the objective improves by less than this fraction.
    public var tolerance = 1e-4
    public var seed: UInt64 = 0
    public var threads = 1
    /// Fit by mini-batch updates from random batches of this many documents (Sculley, 2010) instead of full passes.
    public var batchSize: Int?

    public init(k: Int) { self.k = k }

    public struct Result {
        /// Row-major, `dimensions` floats per centroid, each of unit length.
        public var centroids: [Float]
        public var assignments: [Int]
        public var similarities: [Float]
        public var objective: Double
        public var iterations: Int
    }

    public func fit(_ docs: [DocVector], dimensions: Int) -> Result {
        var best: Result?
        for r in 0..<max(restarts, 1) {
            var rng = SplitMix64(seed: StableHash.mix(seed &+ UInt64(r) &* 0x9E37_79B9))
            let result: Result
            if let batchSize, batchSize < docs.count {
                result = runMiniBatch(docs, dimensions, batchSize, &rng)
            } else {
                result = run(docs, dimensions, &rng)
            }
            if best == nil || result.objective > best!.objective { best = result }
        }
        return best!
    }

    private func run(_ docs: [DocVector], _ d: Int, _ rng: inout SplitMix64) -> Result {
        var centroids = seedCentroids(docs, d, &rng)
        var assignments = [Int](repeating: -1, count: docs.count)
        var similarities = [Float](repeating: 0, count: docs.count)
        var objective = -Double.infinity
        var iterations = 0
        for iteration in 1...max(maxIterations, 1) {
            iterations = iteration
            Self.assign(docs, centroids, d, k, threads, &assignments, &similarities)
            let newObjective = similarities.reduce(0.0) { $0 + Double($1) }
            // New centroids: the normalised sum of members; an empty cluster takes the worst-fitting document.
            var sums = [Float](repeating: 0, count: k * d)
            var sizes = [Int](repeating: 0, count: k)
            sums.withUnsafeMutableBufferPointer { s in
                for (i, doc) in docs.enumerated() {
                    sizes[assignments[i]] += 1
                    doc.add(into: s.baseAddress! + assignments[i] * d)
                }
                var taken = Set<Int>()
                for c in 0..<k where sizes[c] == 0 {
                    let worst = similarities.indices.filter { !taken.contains($0) }.min { similarities[$0] < similarities[$1] } ?? 0
                    taken.insert(worst)
                    docs[worst].add(into: s.baseAddress! + c * d)
                }
            }
            for c in 0..<k {
                var norm: Float = 0
                for t in 0..<d { norm += sums[c * d + t] * sums[c * d + t] }
                norm = norm.squareRoot()
                if norm > 0 { for t in 0..<d { sums[c * d + t] /= norm } }
            }
            centroids = sums
            let improved = newObjective - objective
            objective = newObjective
            if improved >= 0 && improved <= tolerance * abs(newObjective) { break }
        }
        Self.assign(docs, centroids, d, k, threads, &assignments, &similarities)
        objective = similarities.reduce(0.0) { $0 + Double($1) }
        return Result(centroids: centroids, assignments: assignments, similarities: similarities, objective: objective, iterations: iterations)
    }

    /// Mini-batch spherical k-means: seeded on a random subset of three batches, then each batch's documents pull
    /// their nearest centroid towards them with a step of 1 / (documents the centroid has taken so far), and the
    /// centroids are normalised again. Runs at most `maxIterations` passes' worth of batches and stops early when
    /// the batches' smoothed mean similarity has not improved for 10 batches.
    private func runMiniBatch(_ docs: [DocVector], _ d: Int, _ batchSize: Int, _ rng: inout SplitMix64) -> Result {
        let n = docs.count
        var subset = Array(0..<n)
        subset.shuffle(using: &rng)
        let seedDocs = subset.prefix(max(min(n, 3 * batchSize), k)).map { docs[$0] }
        var centroids = seedCentroids(seedDocs, d, &rng)
        var taken = [Float](repeating: 0, count: k)
        var assignments = [Int](repeating: 0, count: batchSize)
        var similarities = [Float](repeating: 0, count: batchSize)
        var smoothed = -Double.infinity, best = -Double.infinity
        var stale = 0, batches = 0
        let maxBatches = max(maxIterations, 1) * max(n / batchSize, 1)
        while batches < maxBatches && stale < 10 {
            batches += 1
            let batch = (0..<batchSize).map { _ in docs[Int.random(in: 0..<n, using: &rng)] }
            Self.assign(batch, centroids, d, k, threads, &assignments, &similarities)
            centroids.withUnsafeMutableBufferPointer { c in
                var touched = Set<Int>()
                for (i, doc) in batch.enumerated() {
                    let j = assignments[i], row = c.baseAddress! + j * d
                    taken[j] += 1
                    let step = 1 / taken[j]
                    for t in 0..<d { row[t] *= 1 - step }
                    doc.add(into: row, scaled: step)
                    touched.insert(j)
                }
                for j in touched {
                    let row = c.baseAddress! + j * d
                    let norm = dot(row, row, d).squareRoot()
                    if norm > 0 { for t in 0..<d { row[t] /= norm } }
                }
            }
            let mean = similarities.reduce(0.0) { $0 + Double($1) } / Double(batchSize)
            smoothed = smoothed.isFinite ? 0.9 * smoothed + 0.1 * mean : mean
            if !best.isFinite || smoothed > best + tolerance * abs(best) { best = smoothed; stale = 0 } else { stale += 1 }
        }
        var all = [Int](repeating: 0, count: n), allSimilarities = [Float](repeating: 0, count: n)
        Self.assign(docs, centroids, d, k, threads, &all, &allSimilarities)
        let objective = allSimilarities.reduce(0.0) { $0 + Double($1) }
        return Result(centroids: centroids, assignments: all, similarities: allSimilarities, objective: objective, iterations: batches)
    }

    /// Each document's most similar centroid, in parallel chunks.
    static func assign(_ docs: [DocVector], _ centroids: [Float], _ d: Int, _ k: Int, _ threads: Int,
                       _ assignments: inout [Int], _ similarities: inout [Float]) {
        assignments.withUnsafeMutableBufferPointer { a in
            similarities.withUnsafeMutableBufferPointer { s in
                centroids.withUnsafeBufferPointer { c in
                    let a = a, s = s
                    inParallel(docs.count, chunks(docs.count, threads)) { _, range in
                        for i in range { (a[i], s[i]) = docs[i].nearest(c.baseAddress!, k, d) }
                    }
                }
            }
        }
    }

    /// Parts to split `n` documents into: a few per thread, at least 256 documents each.
    private static func chunks(_ n: Int, _ threads: Int) -> Int { max(1, min(threads * 4, n / 256 + 1)) }

    /// Greedy k-means++ with cosine distance: each new centroid is the best of 2 + ln k candidates drawn in
    /// proportion to the squared distance to the nearest centroid so far.
    private func seedCentroids(_ docs: [DocVector], _ d: Int, _ rng: inout SplitMix64) -> [Float] {
        let n = docs.count
        var centroids = [Float](repeating: 0, count: k * d)
        func place(_ doc: Int, at c: Int) {
            centroids.withUnsafeMutableBufferPointer { docs[doc].add(into: $0.baseAddress! + c * d) }
        }
        // Squared cosine distances of every document to document `c`, through a dense copy of it, in parallel.
        var dense = [Float](repeating: 0, count: d)
        func distances(to c: Int, into out: inout [Float]) {
            dense.withUnsafeMutableBufferPointer { docs[c].add(into: $0.baseAddress!) }
            dense.withUnsafeBufferPointer { row in
                out.withUnsafeMutableBufferPointer { o in
                    let o = o
                    inParallel(n, Self.chunks(n, threads)) { _, range in
                        for i in range {
                            let dist = 1 - docs[i].dot(row.baseAddress!)
                            o[i] = dist * dist
                        }
                    }
                }
            }
            dense.withUnsafeMutableBufferPointer { docs[c].clear($0.baseAddress!) }
        }
        var first = Int.random(in: 0..<n, using: &rng)
        place(first, at: 0)
        var closest = [Float](repeating: 0, count: n)
        distances(to: first, into: &closest)
        var candidateDistances = [Float](repeating: 0, count: n)
        let trials = 2 + Int(log(Double(k)))
        for c in 1..<k {
            let total = closest.reduce(0, +)
            var bestCandidate = 0
            var bestPotential = Float.infinity
            var bestClosest = closest
            for _ in 0..<trials {
                var candidate = Int.random(in: 0..<n, using: &rng)
                if total > 0 {
                    var r = Float.random(in: 0..<total, using: &rng)
                    for i in 0..<n {
                        r -= closest[i]
                        if r <= 0 { candidate = i; break }
                    }
                }
                distances(to: candidate, into: &candidateDistances)
                var updated = closest
                for i in 0..<n { updated[i] = min(updated[i], candidateDistances[i]) }
                let potential = updated.reduce(0, +)
                if potential < bestPotential { bestPotential = potential; bestCandidate = candidate; bestClosest = updated }
            }
            first = bestCandidate
            place(bestCandidate, at: c)
            closest = bestClosest
        }
        return centroids
    }
}

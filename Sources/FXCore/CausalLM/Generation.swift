import COpenBLAS
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// How replies are drawn: greedy (temperature 0), or sampled from the distribution cut by top-k and top-p.
public struct SamplingSettings: Sendable {
    public var maxNewTokens = 256
    /// 0: greedy decoding (the most likely token each time).
    public var temperature: Double = 0
    /// Keep only the k most likely tokens (0: all).
    public var topK = 0
    /// Keep the most likely tokens whose probabilities add up to p (1: all).
    public var topP: Double = 1
    public var seed: UInt64 = 0
    public init() {}
}

/// Generates replies for many prompts at once. Prompts are sorted by length and dealt to `threads` workers; each
/// worker keeps up to `batch` sequences in flight, every step one product per weight matrix over all of them, and
/// a finished sequence's place goes at once to the next prompt, whose whole prompt enters in the same step
/// (continuous batching). Each sequence keeps its own key/value cache. A record's draws come from its own random
/// stream (the seed and the prompt), so the output does not depend on the thread count or the batching.
public final class Generator {
    public let model: LlamaModel
    public var settings: SamplingSettings
    public var threads: Int
    /// Sequences in flight per worker.
    public var batch = 32
    /// How many of the most likely first tokens each reply reports with their logits (0: none).
    public var firstTokens = 0

    /// A prompt's reply: its tokens (without the one that ended it), and the most likely first tokens.
    public struct Reply: Sendable {
        public var tokens: [Int32] = []
        public var first: [(id: Int32, logit: Float)] = []
    }

    public init(_ model: LlamaModel, settings: SamplingSettings, threads: Int) {
        self.model = model
        self.settings = settings
        self.threads = max(1, threads)
    }

    /// Each prompt's reply.
    public func generate(_ prompts: [[Int32]]) -> [Reply] {
        var replies = [Reply](repeating: Reply(), count: prompts.count)
        let order = prompts.indices.sorted { prompts[$0].count < prompts[$1].count }
        let workers = min(threads, max(1, prompts.count / 4))
        // Few prompts: one worker whose products use every thread; many: one worker per thread.
        openblas_set_num_threads(Int32(workers == 1 ? threads : 1))
        let lock = WorkerLock()
        concurrently(workers) { w in
            let mine = stride(from: w, to: order.count, by: workers).map { order[$0] }
            let done = run(mine, prompts)
            lock.locked { for (i, reply) in done { replies[i] = reply } }
        }
        openblas_set_num_threads(1)
        return replies
    }

    /// One worker's prompts, to completion.
    private func run(_ queue: [Int], _ prompts: [[Int32]]) -> [(Int, Reply)] {
        final class Sequence {
            let index: Int; let cache: KVCache; var rng: SplitMix64; var pending: [Int32]; var reply = Reply()
            init(_ index: Int, _ cache: KVCache, _ rng: SplitMix64, _ pending: [Int32]) {
                self.index = index; self.cache = cache; self.rng = rng; self.pending = pending
            }
        }
        var results: [(Int, Reply)] = []
        var next = 0
        var active: [Sequence] = []
        let maxNew = settings.maxNewTokens
        while next < queue.count || !active.isEmpty {
            while active.count < batch && next < queue.count {
                let i = queue[next]
                next += 1
                if maxNew == 0 || prompts[i].isEmpty { results.append((i, Reply())); continue }
                let capacity = min(prompts[i].count + maxNew, model.config.context)
                active.append(Sequence(i, KVCache(model.config, capacity: capacity), SplitMix64(seed: Self.streamSeed(settings.seed, prompts[i])), prompts[i]))
            }
            if active.isEmpty { break }
            let logits = model.forward(active.map(\.pending), caches: active.map(\.cache))
            let v = model.config.vocabulary
            var still: [Sequence] = []
            logits.withUnsafeBufferPointer { lb in
                for (r, s) in active.enumerated() {
                    let row = UnsafeMutableBufferPointer(mutating: UnsafeBufferPointer(rebasing: lb[(r * v)..<((r + 1) * v)]))
                    if s.reply.tokens.isEmpty && firstTokens > 0 {
                        s.reply.first = Self.largest(row, min(firstTokens, v)).map { (Int32($0.id), $0.logit) }
                    }
                    let token = pick(row, &s.rng)
                    if model.stopTokens.contains(token) {
                        results.append((s.index, s.reply))
                        continue
                    }
                    s.reply.tokens.append(token)
                    if s.reply.tokens.count >= maxNew || s.cache.count >= s.cache.capacity {
                        results.append((s.index, s.reply))
                    } else {
                        s.pending = [token]
                        still.append(s)
                    }
                }
            }
            active = still
        }
        return results
    }

    /// A record's own random stream: the seed mixed with its prompt's tokens.
    static func streamSeed(_ seed: UInt64, _ prompt: [Int32]) -> UInt64 {
        var h = StableHash(seed: seed)
        for t in prompt { h.combine(UInt64(UInt32(bitPattern: t))) }
        return h.value
    }

    /// The next token from one row of logits (which it may overwrite): the largest, or a draw.
    func pick(_ logits: UnsafeMutableBufferPointer<Float>, _ rng: inout SplitMix64) -> Int32 {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        guard settings.temperature > 0 else { return Int32(best) }
        // Candidates, most likely first: top-k, then the smallest set reaching top-p, as Hugging Face orders them.
        let t = Float(settings.temperature)
        var candidates: [(id: Int, logit: Float)]
        if settings.topK > 0 && settings.topK < logits.count {
            candidates = Self.largest(logits, settings.topK)
        } else {
            candidates = logits.enumerated().map { (id: $0.offset, logit: $0.element) }
            candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
        }
        let top = candidates[0].logit / t
        var probabilities = candidates.map { Double(exp($0.logit / t - top)) }
        var total = probabilities.reduce(0, +)
        if settings.topP < 1 {
            var kept = 0, mass = 0.0
            for p in probabilities {
                kept += 1
                mass += p / total
                if mass >= settings.topP { break }
            }
            probabilities.removeLast(probabilities.count - kept)
            total = probabilities.reduce(0, +)
        }
        var u = StableHash.unitInterval(rng.next()) * total
        for (k, p) in probabilities.enumerated() {
            u -= p
            if u < 0 { return Int32(candidates[k].id) }
        }
        return Int32(candidates[probabilities.count - 1].id)
    }

    /// The k largest logits, largest first (ties: lower id first).
    static func largest(_ logits: UnsafeMutableBufferPointer<Float>, _ k: Int) -> [(id: Int, logit: Float)] {
        if k > 64 {
            var all = logits.enumerated().map { (id: $0.offset, logit: $0.element) }
            all.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
            return Array(all.prefix(k))
        }
        var heap: [(id: Int, logit: Float)] = []
        heap.reserveCapacity(k + 1)
        func before(_ a: (id: Int, logit: Float), _ b: (id: Int, logit: Float)) -> Bool { a.logit > b.logit || (a.logit == b.logit && a.id < b.id) }
        for (i, x) in logits.enumerated() {
            if heap.count < k {
                heap.append((i, x))
                if heap.count == k { heap.sort(by: before) }
            } else if before((i, x), heap[k - 1]) {
                var j = k - 1
                while j > 0 && before((i, x), heap[j - 1]) { heap[j] = heap[j - 1]; j -= 1 }
                heap[j] = (i, x)
            }
        }
        if heap.count < k { heap.sort(by: before) }
        return heap
    }
}

/// A mutual-exclusion lock for the few places where worker threads hand results back.
final class WorkerLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// fx-cluster's run: vectorize documents, fit spherical k-means (or load a fitted model), write each record
/// with its cluster, topic and similarity.
public struct ClusterJob {
    public enum K: Equatable, Sendable {
        case fixed(Int)
        case auto(ClosedRange<Int>)
    }

    public var k = K.fixed(8)
    public var restarts = 3
    public var maxIterations = 100
    public var tolerance = 1e-4
    public var minDF = 2
    public var maxDF = 0.5
    /// Latent dimensions for TF-IDF (truncated SVD); 0 keeps the terms.
    public var latentDimensions = 100
    public var topTerms = 8
    public var seed: UInt64 = 0
    public var threads = 1
    public var textField = "text"
    /// Where a record without `textField` has its text (fx-cluster sets `input`, pairs' text, unless --text-field
    /// was given).
    public var textFallback: String? = "input"
    public var stopWords = englishStopWords
    /// A file of more stop words, separated by white space.
    public var extraStopWordsPath: String?
    public var summaryPath: String?
    public var savePath: String?
    public var loadPath: String?
    /// Fit on a uniform sample of this many documents, then assign every document in a second streaming pass.
    public var sampleSize: Int?
    /// Fit by mini-batch k-means with batches of this many documents.
    public var batchSize: Int?
    /// Cluster an fx model's document vectors instead of TF-IDF.
    public var embedPath: String?

    public init() {}

    public func run(_ tool: ToolRun, files: [String]) throws {
        var job = self
        try tool.run {
            for path in [savePath, summaryPath].compactMap({ $0 }) { try AtomicFile.checkWritable(path) }
            if let path = extraStopWordsPath {
                let reader = LineReader(try FileSource(path: path))
                while let line = try reader.next() {
                    for w in String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" }) { job.stopWords.insert(w.lowercased()) }
                }
            }
            try job.fitOrAssign(tool, files: files)
        }
    }

    private func fitOrAssign(_ tool: ToolRun, files: [String]) throws {
        if let loadPath {
            try assignStreaming(try ClusterModel.load(loadPath, stopWords: stopWords, embed: embedPath), files, tool)
            return
        }
        // With --sample, only a reservoir of texts is kept; the records are read again to be assigned.
        var files = files
        var spool: String?
        defer { if let spool { unlink(spool) } }
        if sampleSize != nil && (files.isEmpty || files.contains("-")) {
            let path = try Self.spoolStdin()
            spool = path
            files = files.isEmpty ? [path] : files.map { $0 == "-" ? path : $0 }
        }
        var records: [Record] = []
        var texts: [String] = []
        var seen = 0
        var sampler = SplitMix64(seed: StableHash.mix(seed ^ 0x5341_4D50))
        try tool.inputs.forEachRecord(files) { record, _ in
            let t = try text(record)
            seen += 1
            guard let size = sampleSize else {
                texts.append(t)
                records.append(record)
                return
            }
            if texts.count < size {
                texts.append(t)
            } else {
                let j = Int.random(in: 0..<seen, using: &sampler)
                if j < size { texts[j] = t }
            }
        }
        guard !texts.isEmpty else { throw FXError.data("nothing to cluster: no documents in the input") }
        var docs: [DocVector] = []
        let space: ClusterSpace
        if let embedPath {
            space = .embedding(try Embedder(embedPath))
            docs = space.vectors(texts, threads: threads)
        } else {
            var vectorizer = TfIdf(stopWords: stopWords)
            let words = texts.map(vectorizer.words)
            vectorizer.fit(words, minDF: minDF, maxDF: maxDF)
            guard !vectorizer.terms.isEmpty else { throw FXError.data("no terms left to cluster on (lower --min-df, raise --max-df)") }
            docs = words.map(vectorizer.vector)
            var lsa: LatentSemantics?
            if latentDimensions > 0 {
                lsa = LatentSemantics.fit(docs, terms: vectorizer.terms.count, dimensions: latentDimensions, seed: seed, threads: threads)
                docs = docs.map(lsa!.project)
            }
            space = .tfidf(vectorizer, lsa)
        }
        let chosenK: Int
        switch k {
        case .fixed(let n):
            guard n <= docs.count else { throw FXError.data("\(docs.count) documents are fewer than -k \(n)") }
            chosenK = n
        case .auto(let range):
            chosenK = try chooseK(docs, space.dimensions, range, tool)
        }
        var kmeans = SphericalKMeans(k: chosenK)
        kmeans.restarts = restarts
        kmeans.maxIterations = maxIterations
        kmeans.tolerance = tolerance
        kmeans.seed = seed
        kmeans.threads = threads
        kmeans.batchSize = batchSize
        let result = kmeans.fit(docs, dimensions: space.dimensions)
        var fitted = ClusterModel(space: space, centroids: result.centroids, k: chosenK)
        if case .embedding = space {
            let vectorizer = TfIdf(stopWords: stopWords)
            fitted.topics = classTfIdfTopics(texts.map(vectorizer.words), clusters: result.assignments, k: chosenK, top: max(topTerms, 10))
        }
        let fit = "\(space.dimensions) dimensions, k \(chosenK): objective \(Float(result.objective)) after \(result.iterations) \(batchSize.map { "batches of \($0)" } ?? "iterations") (best of \(restarts))"
        if sampleSize != nil {
            try assignStreaming(fitted, files, tool)
            try tool.summary("fitted on a sample of \(texts.count) of \(seen) documents, " + fit)
            if let savePath { try fitted.save(savePath) }
            return
        }
        let topics = (0..<chosenK).map { fitted.topTerms($0, topTerms) }
        for (i, record) in records.enumerated() {
            try write(record, cluster: result.assignments[i], topic: topics[result.assignments[i]].joined(separator: " "),
                      similarity: result.similarities[i], tool.output)
        }
        try tool.summary("\(records.count) documents, " + fit)
        if let summaryPath { try writeSummary(summaryPath, records, result, topics, map: Self.map(docs, space.dimensions, result.assignments)) }
        if let savePath { try fitted.save(savePath) }
    }

    /// Assigns each record of the inputs, as it is read, to its nearest centroid, in input order: TF-IDF on
    /// `threads` threads record by record, a model's vectors in groups of records.
    private func assignStreaming(_ fitted: ClusterModel, _ files: [String], _ tool: ToolRun) throws {
        let topics = (0..<fitted.k).map { fitted.topTerms($0, topTerms).joined(separator: " ") }
        if case .embedding(let embedder) = fitted.space {
            try tool.forEachGroup(files, read: text) { group in
                for (g, v) in zip(group, embedder.embed(group.map(\.value), threads: threads)) {
                    let (c, sim) = fitted.assign(DocVector(dense: v))
                    try write(g.record, cluster: c, topic: topics[c], similarity: sim, tool.output)
                }
            }
            return
        }
        let pipeline = OrderedParallel(threads: threads, output: tool.output, policy: tool.policy) { $0 }
        try pipeline.forEachRecord(tool.inputs, files) { out, record in
            let (c, sim) = fitted.assign(fitted.space.vectors([try text(record)], threads: 1)[0])
            try write(record, cluster: c, topic: topics[c], similarity: sim, out)
        }
    }

    /// Copies stdin into a temporary file, so that it can be read twice.
    static func spoolStdin() throws -> String {
        var template = Array("/tmp/fx-cluster-stdin.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw FXError.io("cannot create a temporary file: \(errnoText())", at: "/tmp") }
        let path = String(cString: template)
        do {
            let out = Output(fd: fd, name: path)
            let source = FileSource(fd: 0, name: "<stdin>")
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
                if n == 0 { break }
                try chunk.withUnsafeBufferPointer { try out.write(UnsafeBufferPointer(rebasing: $0[0..<n])) }
            }
            try out.flush()
            close(fd)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        return path
    }

    private func text(_ record: Record) throws -> String {
        try TextField(textField, fallback: textFallback).string(record)
    }

    private func write(_ record: Record, cluster: Int, topic: String, similarity: Float, _ out: Output) throws {
        var r = record
        r.set("cluster", JSONValue(cluster))
        r.set("topic", .string(topic))
        r.set("similarity", JSONValue(rounded(Double(similarity))))
        try out.write(r)
    }

    /// k by the mean silhouette (cosine distance) of a sample of up to 1,000 documents; the scores go to stderr.
    private func chooseK(_ docs: [DocVector], _ d: Int, _ range: ClosedRange<Int>, _ tool: ToolRun) throws -> Int {
        let upper = min(range.upperBound, docs.count - 1)
        guard upper >= range.lowerBound else { throw FXError.data("\(docs.count) documents are too few for -k auto in \(range.lowerBound)..\(range.upperBound)") }
        var rng = SplitMix64(seed: seed)
        var sample = Array(docs.indices)
        sample.shuffle(using: &rng)
        sample = Array(sample.prefix(1000)).sorted()
        let subset = sample.map { docs[$0] }
        // Pairwise cosine distances of the sample, once.
        let m = subset.count
        var dense = [Float](repeating: 0, count: d)
        var distance = [Float](repeating: 0, count: m * m)
        for i in 0..<m {
            dense.withUnsafeMutableBufferPointer { row in
                subset[i].add(into: row.baseAddress!)
                for j in 0..<m { distance[i * m + j] = max(0, 1 - subset[j].dot(row.baseAddress!)) }
                subset[i].clear(row.baseAddress!)
            }
        }
        var best = (k: range.lowerBound, score: -Float.infinity)
        var scores: [String] = []
        for k in range.lowerBound...upper {
            var kmeans = SphericalKMeans(k: k)
            kmeans.restarts = 1
            kmeans.maxIterations = maxIterations
            kmeans.seed = seed
            kmeans.threads = threads
            let labels = kmeans.fit(subset, dimensions: d).assignments
            let score = Self.silhouette(distance, labels, m, k)
            scores.append("\(k):\(String(format1: Double(score) * 100).dropLast(0))")
            if score > best.score { best = (k, score) }
        }
        tool.note("silhouette x100 by k: " + scores.joined(separator: " ") + "; chose k \(best.k)")
        // At an edge of the range the best k may lie beyond it.
        if best.k == range.upperBound && range.count > 1 {
            tool.note("k \(best.k) is the largest in --k-range: a larger k may score higher; try --k-range \(range.lowerBound)..\(range.upperBound * 2)")
        } else if best.k == range.lowerBound && range.lowerBound > 2 && upper > range.lowerBound {
            tool.note("k \(best.k) is the smallest in --k-range: a smaller k may score higher; try --k-range 2..\(range.upperBound)")
        }
        return best.k
    }

    /// The mean silhouette: for each point, (b - a) / max(a, b), a its mean distance within its cluster, b the
    /// smallest mean distance to another cluster; 0 for points alone in their cluster.
    static func silhouette(_ distance: [Float], _ labels: [Int], _ m: Int, _ k: Int) -> Float {
        var sizes = [Int](repeating: 0, count: k)
        for l in labels { sizes[l] += 1 }
        var total: Float = 0
        for i in 0..<m {
            var sums = [Float](repeating: 0, count: k)
            for j in 0..<m where j != i { sums[labels[j]] += distance[i * m + j] }
            let own = labels[i]
            guard sizes[own] > 1 else { continue }
            let a = sums[own] / Float(sizes[own] - 1)
            var b = Float.infinity
            for c in 0..<k where c != own && sizes[c] > 0 { b = min(b, sums[c] / Float(sizes[c])) }
            if b.isFinite { total += (b - a) / max(a, b, 1e-12) }
        }
        return total / Float(m)
    }

    /// Up to `cap` documents, evenly spaced in input order, on the first two principal components of the vectors
    /// clustered: per cluster, [x, y, record number] (for fx-eval --report's map).
    static func map(_ docs: [DocVector], _ d: Int, _ assignments: [Int], cap: Int = 2000) -> [Int: [JSONValue]] {
        let plane = PrincipalPlane(docs, dimensions: d)
        var map: [Int: [JSONValue]] = [:]
        let step = max(1, (docs.count + cap - 1) / cap)
        for i in stride(from: 0, to: docs.count, by: step) {
            let (x, y) = plane.project(docs[i])
            map[assignments[i], default: []].append(.array([JSONValue((x * 1e4).rounded() / 1e4), JSONValue((y * 1e4).rounded() / 1e4), JSONValue(i + 1)]))
        }
        return map
    }

    private func writeSummary(_ path: String, _ records: [Record], _ result: SphericalKMeans.Result, _ topics: [[String]],
                              map: [Int: [JSONValue]]) throws {
        let k = topics.count
        var members = [[Int]](repeating: [], count: k)
        for (i, c) in result.assignments.enumerated() { members[c].append(i) }
        try AtomicFile.write(path) { out in
            for c in 0..<k {
                let closest = members[c].sorted { result.similarities[$0] > result.similarities[$1] }.prefix(5)
                let examples: [JSONValue] = closest.map { i in
                    records[i]["id"] ?? records[i]["path"] ?? JSONValue(i + 1)
                }
                try out.write(Record([
                    JSONMember("cluster", JSONValue(c)), JSONMember("size", JSONValue(members[c].count)),
                    JSONMember("terms", .array(topics[c].map { .string($0) })), JSONMember("examples", .array(examples)),
                    JSONMember("map", .array(map[c] ?? [])),
                ]))
            }
        }
    }
}

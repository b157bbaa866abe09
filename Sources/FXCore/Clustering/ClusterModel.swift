/// Where documents become vectors: TF-IDF terms (reduced by latent semantic analysis unless `--lsa 0`), or an
/// fx model's averaged embeddings (`--embed`).
enum ClusterSpace {
    case tfidf(TfIdf, LatentSemantics?)
    case embedding(TextModel, path: String)

    var dimensions: Int {
        switch self {
        case .tfidf(let v, let lsa): return lsa?.dimensions ?? v.terms.count
        case .embedding(let m, _): return m.dim
        }
    }

    func vector(_ text: String) -> DocVector {
        switch self {
        case .tfidf(let v, let lsa):
            let terms = v.vector(v.words(text))
            return lsa?.project(terms) ?? terms
        case .embedding(let m, _):
            var v = DocVector(dense: m.documentVector(text))
            v.normalize()
            return v
        }
    }

    /// A centroid's heaviest terms, or with embeddings the words nearest to it.
    func topTerms(_ centroid: ArraySlice<Float>, _ n: Int, stopWords: Set<String>) -> [String] {
        switch self {
        case .tfidf(let v, let lsa):
            let weights = lsa?.termWeights(centroid) ?? Array(centroid)
            return weights.indices.sorted { weights[$0] > weights[$1] }.prefix(n).filter { weights[$0] > 0 }.map { v.terms[$0] }
        case .embedding(let m, _):
            return m.nearestWords(Array(centroid), n, skipping: stopWords)
        }
    }
}

/// A fitted clustering: the space and the unit centroids, stored as safetensors with format fx-clusters.
struct ClusterModel {
    var space: ClusterSpace
    /// Row-major, `dimensions` floats per centroid.
    var centroids: [Float]
    var k: Int
    var dimensions: Int { space.dimensions }

    init(space: ClusterSpace, centroids: [Float], k: Int) {
        self.space = space
        self.centroids = centroids
        self.k = k
    }

    func topTerms(_ c: Int, _ n: Int, stopWords: Set<String>) -> [String] {
        space.topTerms(centroids[(c * dimensions)..<((c + 1) * dimensions)], n, stopWords: stopWords)
    }

    /// A text's nearest centroid and its similarity.
    func assign(_ text: String) -> (centroid: Int, similarity: Float) {
        let v = space.vector(text)
        return centroids.withUnsafeBufferPointer { v.nearest($0.baseAddress!, k, dimensions) }
    }

    func save(_ path: String) throws {
        var tensors: [String: SafeTensors.Tensor] = ["centroids": SafeTensors.Tensor(centroids, shape: [k, dimensions])]
        var metadata = ["format": "fx-clusters", "version": "1"]
        switch space {
        case .tfidf(let v, let lsa):
            tensors["idf"] = SafeTensors.Tensor(v.idf, shape: [v.terms.count])
            if let lsa { tensors["components"] = SafeTensors.Tensor(lsa.components, shape: [lsa.terms, lsa.dimensions]) }
            metadata["terms"] = JSONValue.array(v.terms.map { .string($0) }).jsonText
        case .embedding(_, let path):
            metadata["embed"] = path
        }
        try AtomicFile.write(path) { out in try SafeTensors.write(tensors, metadata: metadata, to: out) }
    }

    static func load(_ path: String, stopWords: Set<String>) throws -> ClusterModel {
        let (tensors, metadata) = try SafeTensors.read(path)
        return try ClusterModel(tensors: tensors, metadata: metadata, name: path, stopWords: stopWords)
    }

    /// The model in a parsed safetensors file; anything that does not fit is a data error naming the file.
    init(tensors: [String: SafeTensors.Tensor], metadata: [String: String], name: String, stopWords: Set<String>) throws {
        func bad(_ why: String) -> FXError { FXError.data("not an fx-cluster model: \(why)", at: name) }
        guard metadata["format"] == "fx-clusters" else { throw bad("its metadata has no format fx-clusters") }
        guard let c = tensors["centroids"], c.shape.count == 2, c.shape[0] >= 1 else { throw bad("no centroids") }
        if let embed = metadata["embed"] {
            space = .embedding(try TextModel.load(embed), path: embed)
        } else {
            guard case .array(let items)? = try? JSONValue(parsing: metadata["terms"] ?? "") else { throw bad("no terms") }
            let terms = items.compactMap(\.stringValue)
            guard terms.count == items.count, Set(terms).count == terms.count else { throw bad("terms are not distinct strings") }
            guard let idf = tensors["idf"], idf.shape == [terms.count] else { throw bad("idf does not match the terms") }
            var lsa: LatentSemantics?
            if let c = tensors["components"] {
                guard c.shape.count == 2, c.shape[0] == terms.count, c.shape[1] >= 1 else { throw bad("components do not match the terms") }
                lsa = LatentSemantics(components: c.floats, terms: terms.count, dimensions: c.shape[1])
            }
            space = .tfidf(TfIdf(terms: terms, idf: idf.floats, stopWords: stopWords), lsa)
        }
        guard c.shape[1] == space.dimensions else { throw bad("centroids do not match the space") }
        centroids = c.floats
        k = c.shape[0]
    }
}

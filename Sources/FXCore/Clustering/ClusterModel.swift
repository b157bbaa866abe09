/// Where documents become vectors: TF-IDF terms (reduced by latent semantic analysis unless `--lsa 0`), or a
/// model's sentence vectors (`--embed`: a pretrained encoder, or an fx model).
enum ClusterSpace {
    case tfidf(TfIdf, LatentSemantics?)
    case embedding(Embedder)

    var dimensions: Int {
        switch self {
        case .tfidf(let v, let lsa): return lsa?.dimensions ?? v.terms.count
        case .embedding(let e): return e.dimensions
        }
    }

    /// Each text's unit vector, in order.
    func vectors(_ texts: [String], threads: Int) -> [DocVector] {
        switch self {
        case .tfidf(let v, let lsa):
            return texts.map { text in
                let terms = v.vector(v.words(text))
                return lsa?.project(terms) ?? terms
            }
        case .embedding(let e):
            return e.embed(texts, threads: threads).map(DocVector.init(dense:))
        }
    }

    /// A centroid's heaviest terms (TF-IDF spaces; an embedding space has no terms of its own).
    func topTerms(_ centroid: ArraySlice<Float>, _ n: Int) -> [String] {
        guard case .tfidf(let v, let lsa) = self else { return [] }
        let weights = lsa?.termWeights(centroid) ?? Array(centroid)
        return weights.indices.sorted { weights[$0] > weights[$1] }.prefix(n).filter { weights[$0] > 0 }.map { v.terms[$0] }
    }
}

/// A fitted clustering: the space and the unit centroids, stored as safetensors with format fx-clusters.
struct ClusterModel {
    var space: ClusterSpace
    /// Row-major, `dimensions` floats per centroid.
    var centroids: [Float]
    var k: Int
    /// Each cluster's words by class-based TF-IDF, found when fitting in an embedding space.
    var topics: [[String]]?
    var dimensions: Int { space.dimensions }

    init(space: ClusterSpace, centroids: [Float], k: Int) {
        self.space = space
        self.centroids = centroids
        self.k = k
    }

    func topTerms(_ c: Int, _ n: Int) -> [String] {
        if let topics { return Array(topics[c].prefix(n)) }
        return space.topTerms(centroids[(c * dimensions)..<((c + 1) * dimensions)], n)
    }

    /// A unit vector's nearest centroid and its similarity.
    func assign(_ v: DocVector) -> (centroid: Int, similarity: Float) {
        centroids.withUnsafeBufferPointer { v.nearest($0.baseAddress!, k, dimensions) }
    }

    func save(_ path: String) throws {
        var tensors: [String: SafeTensors.Tensor] = ["centroids": SafeTensors.Tensor(centroids, shape: [k, dimensions])]
        var metadata = ["format": "fx-clusters", "version": "1"]
        switch space {
        case .tfidf(let v, let lsa):
            tensors["idf"] = SafeTensors.Tensor(v.idf, shape: [v.terms.count])
            if let lsa { tensors["components"] = SafeTensors.Tensor(lsa.components, shape: [lsa.terms, lsa.dimensions]) }
            metadata["terms"] = JSONValue.array(v.terms.map { .string($0) }).jsonText
        case .embedding(let e):
            metadata["embed"] = e.path
        }
        if let topics { metadata["topics"] = JSONValue.array(topics.map { .array($0.map { .string($0) }) }).jsonText }
        try AtomicFile.write(path) { out in try SafeTensors.write(tensors, metadata: metadata, to: out) }
    }

    /// The model in a cluster file; `embed` replaces the path of the model it recorded (the same model, elsewhere).
    static func load(_ path: String, stopWords: Set<String>, embed: String? = nil) throws -> ClusterModel {
        var (tensors, metadata) = try SafeTensors.read(path)
        if let embed {
            guard metadata["embed"] != nil else { throw FXError.data("was fitted on TF-IDF terms, not on a model's vectors: --embed does not apply", at: path) }
            metadata["embed"] = embed
        }
        return try ClusterModel(tensors: tensors, metadata: metadata, name: path, stopWords: stopWords)
    }

    /// The model in a parsed safetensors file; anything that does not fit is a data error naming the file.
    init(tensors: [String: SafeTensors.Tensor], metadata: [String: String], name: String, stopWords: Set<String>) throws {
        func bad(_ why: String) -> FXError { FXError.data("not an fx-cluster model: \(why)", at: name) }
        guard metadata["format"] == "fx-clusters" else { throw bad("its metadata has no format fx-clusters") }
        guard let c = tensors["centroids"], c.shape.count == 2, c.shape[0] >= 1 else { throw bad("no centroids") }
        if let embed = metadata["embed"] {
            space = .embedding(try Embedder(embed))
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
        if let text = metadata["topics"] {
            guard case .array(let items)? = try? JSONValue(parsing: text), items.count == k else { throw bad("topics do not match the centroids") }
            topics = items.map { item in
                guard case .array(let words) = item else { return [] }
                return words.compactMap(\.stringValue)
            }
        }
    }
}

/// A BERT-family encoder with its WordPiece tokenizer and pooling: a pretrained Hugging Face folder
/// (`config.json`, `vocab.txt`, `model.safetensors`, and sentence-transformers' pooling files when present),
/// or fx's own file of one fine-tuned with a classification head (format fx-encoder).
public final class EncoderModel {
    public static let formatName = "fx-encoder"
    public let network: BertEncoder
    public let tokenizer: WordPieceTokenizer
    /// Tokens per text at most, [CLS] and [SEP] included.
    public var maxLength: Int
    public var pooling = Pooling.mean
    /// Whether sentence vectors are scaled to length 1.
    public var normalize = true
    /// The classification head on the pooled vector, and its labels, once fine-tuned.
    public var head: Linear?
    public var labels: [String] = []
    public var multiLabel = false
    /// The Hugging Face config the network was built from, kept for saving.
    let config: JSONValue

    init(network: BertEncoder, tokenizer: WordPieceTokenizer, maxLength: Int, config: JSONValue) {
        self.network = network
        self.tokenizer = tokenizer
        self.maxLength = maxLength
        self.config = config
    }

    /// Whether `path` looks like a Hugging Face model: a folder with config.json, or a safetensors file with
    /// config.json beside it.
    public static func isPretrained(_ path: String) -> Bool {
        isDirectory(path) || (path.hasSuffix(".safetensors") && (try? FileSource(path: folder(of: path) + "/config.json")) != nil)
    }

    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A Hugging Face folder, or its model.safetensors with config.json and vocab.txt beside it.
    public static func loadPretrained(_ path: String) throws -> EncoderModel {
        let folder = isDirectory(path) ? path : Self.folder(of: path)
        let weights = isDirectory(path) ? path + "/model.safetensors" : path
        let configPath = folder + "/config.json"
        guard let config = try readJSON(configPath) else {
            throw FXError.io("no config.json: fx reads Hugging Face BERT-family folders (config.json, vocab.txt, model.safetensors)", at: folder)
        }
        let settings = try BertEncoder.Settings(config: config, name: configPath)
        let lowercase = try readJSON(folder + "/tokenizer_config.json")?["do_lower_case"].map { $0 == .bool(true) } ?? true
        let tokenizer = try WordPieceTokenizer(vocabularyFile: folder + "/vocab.txt", lowercase: lowercase)
        guard tokenizer.count == settings.vocabulary else {
            throw FXError.data("vocab.txt has \(tokenizer.count) pieces, config.json's vocab_size is \(settings.vocabulary)", at: folder)
        }
        var maxLength = min(settings.maxPositions, 512)
        if let n = try readJSON(folder + "/sentence_bert_config.json")?["max_seq_length"]?.intValue, n >= 2 { maxLength = min(n, settings.maxPositions) }
        let (tensors, _) = try SafeTensors.read(weights)
        try checkSizes(settings, tensors, name: weights)
        let model = EncoderModel(network: BertEncoder(settings, seed: 0), tokenizer: tokenizer, maxLength: maxLength, config: config)
        if let p = try readJSON(folder + "/1_Pooling/config.json") {
            if p["pooling_mode_cls_token"] == .bool(true) { model.pooling = .cls }
            else if p["pooling_mode_mean_tokens"] != .bool(true) {
                throw FXError.data("fx pools by mean or [CLS]; this pooling config asks for another", at: folder + "/1_Pooling/config.json")
            }
        }
        if case .array(let modules)? = try readJSON(folder + "/modules.json") {
            model.normalize = modules.contains { $0["type"]?.stringValue?.hasSuffix("Normalize") == true }
        }
        try model.setWeights(tensors, name: weights)
        return model
    }

    /// Checks, before a network of `settings` is built, that the file holds its embeddings and every layer's
    /// feed-forward weights in those sizes: a config that asks for more than the file has is an error, not a huge
    /// allocation.
    static func checkSizes(_ settings: BertEncoder.Settings, _ tensors: [String: SafeTensors.Tensor], name: String) throws {
        let prefix = tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        var want = [
            ("embeddings.word_embeddings.weight", [settings.vocabulary, settings.width]),
            ("embeddings.position_embeddings.weight", [settings.maxPositions, settings.width]),
            ("embeddings.token_type_embeddings.weight", [settings.typeVocabulary, settings.width]),
        ]
        for i in 0..<settings.layers { want.append(("encoder.layer.\(i).intermediate.dense.weight", [settings.ff, settings.width])) }
        for (key, shape) in want {
            guard let t = tensors[prefix + key] else { throw FXError.data("no tensor \(prefix + key)", at: name) }
            guard t.shape == shape else {
                throw FXError.data("tensor \(prefix + key) is \(t.dtype.rawValue) \(t.shape); config.json makes it \(shape)", at: name)
            }
        }
    }

    /// Sets every parameter from `tensors` (Hugging Face names, with or without `bert.`), checking shapes.
    private func setWeights(_ tensors: [String: SafeTensors.Tensor], name: String) throws {
        let prefix = tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        for (key, p) in network.named {
            guard let t = tensors[prefix + key] else { throw FXError.data("no tensor \(prefix + key)", at: name) }
            let want = p.value.rows == 1 ? [p.value.cols] : [p.value.rows, p.value.cols]
            guard t.shape == want, t.dtype != .i32, t.dtype != .i64 else {
                throw FXError.data("tensor \(prefix + key) is \(t.dtype.rawValue) \(t.shape); config.json makes it \(want)", at: name)
            }
            p.value.values = t.floats
        }
    }

    // MARK: fx's own file

    public func save(_ path: String, training: [JSONMember]) throws {
        var tensors: [String: SafeTensors.Tensor] = [:]
        func put(_ name: String, _ p: Parameter) {
            tensors[name] = SafeTensors.Tensor(p.value.values, shape: p.value.rows == 1 ? [p.value.cols] : [p.value.rows, p.value.cols])
        }
        for (name, p) in network.named { put(name, p) }
        if let head {
            put("classifier.weight", head.weight)
            put("classifier.bias", head.bias!)
        }
        let metadata = [
            "format": Self.formatName, "version": "1",
            "config": config.jsonText,
            "vocabulary": JSONValue.array(tokenizer.pieces.map { .string($0) }).jsonText,
            "lowercase": tokenizer.lowercase ? "true" : "false",
            "max_length": String(maxLength), "pooling": pooling.rawValue, "normalize": normalize ? "true" : "false",
            "labels": JSONValue.array(labels.map { .string($0) }).jsonText, "multi_label": multiLabel ? "true" : "false",
            "training": JSONValue.object(training).jsonText,
        ]
        try AtomicFile.write(path) { out in try SafeTensors.write(tensors, metadata: metadata, to: out) }
    }

    /// fx's file (format fx-encoder); anything that does not fit is a data error naming it.
    public static func load(tensors: [String: SafeTensors.Tensor], metadata: [String: String], name path: String) throws -> EncoderModel {
        func bad(_ why: String) -> FXError { FXError.data("not an fx encoder model: \(why)", at: path) }
        guard let config = try? JSONValue(parsing: metadata["config"] ?? ""),
              case .array(let pieces)? = try? JSONValue(parsing: metadata["vocabulary"] ?? ""),
              case .array(let labels)? = try? JSONValue(parsing: metadata["labels"] ?? ""),
              let maxLength = Int(metadata["max_length"] ?? ""), maxLength >= 2,
              let pooling = Pooling(rawValue: metadata["pooling"] ?? "")
        else { throw bad("its metadata lacks config, vocabulary, labels, max_length or pooling") }
        let settings = try BertEncoder.Settings(config: config, name: path)
        try checkSizes(settings, tensors, name: path)
        let tokenizer = try WordPieceTokenizer(pieces: pieces.map { $0.stringValue ?? "" }, lowercase: metadata["lowercase"] != "false")
        guard tokenizer.count == settings.vocabulary else { throw bad("\(tokenizer.count) pieces for \(settings.vocabulary) embeddings") }
        let model = EncoderModel(network: BertEncoder(settings, seed: 0), tokenizer: tokenizer, maxLength: min(maxLength, settings.maxPositions), config: config)
        model.pooling = pooling
        model.normalize = metadata["normalize"] != "false"
        model.labels = labels.compactMap(\.stringValue)
        model.multiLabel = metadata["multi_label"] == "true"
        try model.setWeights(tensors, name: path)
        if !model.labels.isEmpty {
            var rng = SplitMix64(seed: 0)
            let head = Linear("classifier", inputs: settings.width, outputs: model.labels.count, &rng)
            for (key, p) in [("classifier.weight", head.weight), ("classifier.bias", head.bias!)] {
                guard let t = tensors[key], t.shape.reduce(1, *) == p.value.values.count else { throw bad("no tensor \(key) for \(model.labels.count) labels") }
                p.value.values = t.floats
            }
            model.head = head
        }
        return model
    }

    // MARK: Applying it

    /// Each text's ids: [CLS], pieces, [SEP], at most `maxLength`.
    public func ids(_ text: String) -> [Int32] { tokenizer.encode(text, maxLength: maxLength) }

    /// The pooled (and, as the model says, normalised) vector of each packed sequence.
    public func sentenceVectors(_ ids: [Int32], lengths: [Int]) -> Matrix {
        var pooled = pooling(network.apply(ids, lengths: lengths), lengths: lengths)
        if normalize { normalizeRows(&pooled) }
        return pooled
    }

    /// Tokens per batch of texts of similar length.
    static let batchTokens = 4096

    /// Each text's label scores (probabilities) by the classification head, in order.
    public func classify(_ texts: [String], threads: Int) -> [[Float]] {
        let classifier = EncoderClassifier(network: network, head: head!, pooling: pooling, multiLabel: multiLabel, frozen: true, seed: 0)
        return batchedRows(texts.map(ids), threads: threads) { classifier.scores($0, lengths: $1) }
    }

    /// Each text's sentence vector, in order, computed on `threads` threads in batches of similar length.
    public func embed(_ texts: [String], threads: Int) -> [[Float]] {
        batchedRows(texts.map(ids), threads: threads, sentenceVectors)
    }
}

/// Scales each row to length 1 (rows of zeros stay zero).
func normalizeRows(_ m: inout Matrix) {
    let w = m.cols
    m.values.withUnsafeMutableBufferPointer { v in
        for r in 0..<m.rows {
            var sum: Float = 0
            for c in 0..<w { sum += v[r * w + c] * v[r * w + c] }
            let inverse = 1 / max(sum.squareRoot(), 1e-12)
            for c in 0..<w { v[r * w + c] *= inverse }
        }
    }
}

/// A small JSON file, parsed; nil when it does not exist.
func readJSON(_ path: String) throws -> JSONValue? {
    let source: FileSource
    do { source = try FileSource(path: path) } catch { return nil }
    let bytes = try source.readAll(limit: 1 << 26, name: path)
    do {
        return try bytes.withUnsafeBufferPointer { try JSONValue(parsing: $0) }
    } catch let error as JSONSyntaxError {
        throw FXError.data(error.description, at: path)
    }
}

extension BertEncoder.Settings {
    /// From a Hugging Face config.json; an architecture fx does not run is a data error naming the file.
    public init(config: JSONValue, name path: String) throws {
        self.init()
        func bad(_ why: String) -> FXError { FXError.data(why, at: path) }
        let type = config["model_type"]?.stringValue ?? "(none)"
        guard type == "bert" else { throw bad("model_type '\(type)' is not one fx runs: it runs BERT encoders (model_type bert)") }
        if let p = config["position_embedding_type"]?.stringValue, p != "absolute" { throw bad("position_embedding_type '\(p)': fx runs absolute positions only") }
        func int(_ key: String) throws -> Int {
            guard let v = config[key]?.intValue, v >= 1, v <= 1 << 24 else { throw bad("'\(key)' is missing or out of range") }
            return v
        }
        vocabulary = try int("vocab_size")
        width = try int("hidden_size")
        heads = try int("num_attention_heads")
        ff = try int("intermediate_size")
        layers = try int("num_hidden_layers")
        maxPositions = try int("max_position_embeddings")
        typeVocabulary = config["type_vocab_size"]?.intValue ?? 2
        eps = Float(config["layer_norm_eps"]?.doubleValue ?? 1e-12)
        dropout = Float(config["hidden_dropout_prob"]?.doubleValue ?? 0.1)
        let act = config["hidden_act"]?.stringValue ?? "gelu"
        guard let kind = Activation.Kind(rawValue: act) else { throw bad("hidden_act '\(act)': fx runs gelu (exact) and relu") }
        activation = kind
        guard width % heads == 0 else { throw bad("hidden_size \(width) is not a multiple of \(heads) heads") }
    }
}

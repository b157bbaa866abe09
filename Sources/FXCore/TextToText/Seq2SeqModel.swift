/// A trained text-to-text model: the encoder-decoder and its BPE tokenizer, saved as one safetensors file whose
/// float32 tensors keep the layers' names (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.query.weight`,
/// ...) and whose `__metadata__` holds the settings, the tokenizer and how it was trained.
public final class Seq2SeqModel {
    public static let formatName = "fx-seq2seq"
    public let network: Seq2SeqTransformer
    public let tokenizer: BPETokenizer

    public init(network: Seq2SeqTransformer, tokenizer: BPETokenizer) {
        self.network = network
        self.tokenizer = tokenizer
    }

    public func save(_ path: String, training: [JSONMember]) throws {
        var tensors: [String: SafeTensors.Tensor] = [:]
        for p in network.parameters {
            let shape = p.value.rows == 1 ? [p.value.cols] : [p.value.rows, p.value.cols]
            tensors[p.name] = SafeTensors.Tensor(p.value.values, shape: shape)
        }
        let metadata = [
            "format": Self.formatName, "version": "1",
            "settings": network.settings.json.jsonText,
            "tokenizer": tokenizer.json.jsonText,
            "training": JSONValue.object(training).jsonText,
        ]
        try AtomicFile.write(path) { out in try SafeTensors.write(tensors, metadata: metadata, to: out) }
    }

    /// The model in a parsed safetensors file; anything that does not fit is a data error naming the file.
    public static func load(tensors: [String: SafeTensors.Tensor], metadata: [String: String], name path: String) throws -> Seq2SeqModel {
        func bad(_ why: String) -> FXError { FXError.data("not an fx text-to-text model: \(why)", at: path) }
        guard metadata["format"] == formatName else { throw bad("its metadata has no format \(formatName)") }
        guard let settingsJSON = try? JSONValue(parsing: metadata["settings"] ?? ""), let tokenizerJSON = try? JSONValue(parsing: metadata["tokenizer"] ?? "")
        else { throw bad("no settings or tokenizer in its metadata") }
        let settings: Seq2SeqTransformer.Settings, tokenizer: BPETokenizer
        do {
            settings = try Seq2SeqTransformer.Settings(json: settingsJSON)
            tokenizer = try BPETokenizer(json: tokenizerJSON)
        } catch let error as FXError { throw bad(error.reason) }
        guard tokenizer.count == settings.vocabulary else { throw bad("\(tokenizer.count) pieces for \(settings.vocabulary) embeddings") }
        let network = Seq2SeqTransformer(settings, seed: 0)
        for p in network.parameters {
            guard let t = tensors[p.name] else { throw bad("no tensor \(p.name)") }
            guard t.shape.reduce(1, *) == p.value.values.count, t.shape.last == p.value.cols else {
                throw bad("tensor \(p.name) is \(t.shape), not [\(p.value.rows), \(p.value.cols)]")
            }
            p.value.values = t.floats
        }
        return Seq2SeqModel(network: network, tokenizer: tokenizer)
    }
}

extension Seq2SeqTransformer.Settings {
    public var json: JSONValue {
        .object([
            JSONMember("vocabulary", JSONValue(vocabulary)), JSONMember("width", JSONValue(width)), JSONMember("heads", JSONValue(heads)),
            JSONMember("ff", JSONValue(ff)), JSONMember("layers", JSONValue(layers)), JSONMember("dropout", JSONValue(Double(dropout))),
            JSONMember("max_positions", JSONValue(maxPositions)), JSONMember("label_smoothing", JSONValue(Double(labelSmoothing))),
            JSONMember("activation", .string(activation.rawValue)),
        ])
    }

    public init(json: JSONValue) throws {
        self.init()
        func int(_ key: String, _ minimum: Int) throws -> Int {
            guard let v = json[key]?.intValue, v >= minimum, v <= 1 << 24 else { throw FXError.data("settings: '\(key)' is missing or out of range") }
            return v
        }
        func real(_ key: String) throws -> Float {
            guard let v = json[key]?.doubleValue, v >= 0, v < 1 else { throw FXError.data("settings: '\(key)' is missing or out of range") }
            return Float(v)
        }
        vocabulary = try int("vocabulary", 1)
        width = try int("width", 1)
        heads = try int("heads", 1)
        ff = try int("ff", 1)
        layers = try int("layers", 0)
        maxPositions = try int("max_positions", 2)
        dropout = try real("dropout")
        labelSmoothing = try real("label_smoothing")
        guard let a = json["activation"]?.stringValue, let kind = Activation.Kind(rawValue: a) else { throw FXError.data("settings: unknown activation") }
        activation = kind
        guard width % heads == 0 else { throw FXError.data("settings: width \(width) is not a multiple of \(heads) heads") }
    }
}

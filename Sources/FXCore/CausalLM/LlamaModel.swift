/// A pretrained causal language model of the Llama family (SmolLM2, Llama 2 and 3, TinyLlama, Mistral-style
/// fine-tunes) read from a GGUF file: token embeddings, blocks of RMSNorm -> grouped-query self-attention with
/// rotary positions -> RMSNorm -> SwiGLU feed-forward, a final RMSNorm and the output projection (tied to the
/// embeddings when the file has no `output.weight`). The weights are dequantized once to float32, so every
/// product goes through OpenBLAS, and the logits agree with a float32 reference to about 1e-4.
///
/// GGUF keeps llama.cpp's layout: a weight of (outputs x inputs) in row-major order, and query and key rows
/// permuted so that rotary positions turn adjacent pairs of each head's dimensions (llama.cpp's "normal" mode),
/// which is what this model does; Hugging Face's checkpoints turn the two halves of a head instead, an
/// equivalent computation on rows ordered differently.
public final class LlamaModel: @unchecked Sendable {
    public struct Config: Sendable, Equatable {
        public var layers: Int, width: Int, heads: Int, kvHeads: Int, headDim: Int, feedForward: Int
        public var vocabulary: Int, context: Int
        public var ropeBase: Float, ropeDims: Int, epsilon: Float
        public var queryWidth: Int { heads * headDim }
        public var kvWidth: Int { kvHeads * headDim }
    }

    public final class Block: @unchecked Sendable {
        public let attentionNorm: [Float], query: [Float], key: [Float], value: [Float], output: [Float]
        public let feedForwardNorm: [Float], gate: [Float], up: [Float], down: [Float]
        init(attentionNorm: [Float], query: [Float], key: [Float], value: [Float], output: [Float],
             feedForwardNorm: [Float], gate: [Float], up: [Float], down: [Float]) {
            self.attentionNorm = attentionNorm; self.query = query; self.key = key; self.value = value; self.output = output
            self.feedForwardNorm = feedForwardNorm; self.gate = gate; self.up = up; self.down = down
        }
    }

    public let path: String
    public let name: String
    public let config: Config
    public let embeddings: [Float]
    /// The output projection when it is not the embeddings.
    public let outputWeight: [Float]?
    public let finalNorm: [Float]
    public private(set) var blocks: [Block]
    /// Each rotary pair's inverse frequency (with Llama 3's per-frequency factors applied).
    public let inverseFrequencies: [Float]
    public let tokenizer: ByteLevelBPE
    public let chatTemplate: ChatTemplate?
    /// Tokens that end a reply: end of text, end of turn (`<|im_end|>`, `<|eot_id|>`, ...).
    public let stopTokens: Set<Int32>
    public let bosToken: Int32?, eosToken: Int32?
    /// Whether the tokenizer puts the BOS token before a text it encodes (`tokenizer.ggml.add_bos_token`).
    public let addsBOS: Bool

    public var width: Int { config.width }

    /// A GGUF file's quick check, without reading it: its first four bytes.
    public static func isGGUF(_ path: String) -> Bool {
        guard let source = try? FileSource(path: path) else { return false }
        var magic = [UInt8](repeating: 0, count: 4)
        let n = (try? magic.withUnsafeMutableBytes { try source.read(into: $0) }) ?? 0
        return n == 4 && magic == Array("GGUF".utf8)
    }

    public init(path: String) throws {
        let file = try GGUFFile(path: path)
        func bad(_ why: String) -> FXError { FXError.data(why, at: path) }
        let meta = file.metadata
        let arch = meta["general.architecture"]?.string ?? "?"
        guard arch == "llama" else {
            throw bad("a GGUF model of architecture '\(arch)': fx runs architecture 'llama' (SmolLM2, Llama 2 and 3, TinyLlama, their fine-tunes)")
        }
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            guard let v = meta["llama." + key]?.int ?? value else { throw bad("no llama.\(key) in its metadata") }
            guard v > 0 && v < 1 << 24 else { throw bad("llama.\(key) is \(v)") }
            return v
        }
        let layers = try int("block_count"), width = try int("embedding_length"), heads = try int("attention.head_count")
        let kvHeads = try int("attention.head_count_kv", default: heads), ff = try int("feed_forward_length")
        guard width % heads == 0, heads % kvHeads == 0 else { throw bad("\(heads) heads and \(kvHeads) key/value heads do not divide width \(width)") }
        let headDim = try int("attention.key_length", default: width / heads)
        guard let tokenList = meta["tokenizer.ggml.tokens"]?.strings else { throw bad("no tokenizer.ggml.tokens") }
        let ropeDims = try int("rope.dimension_count", default: headDim)
        guard ropeDims <= headDim, ropeDims % 2 == 0 else { throw bad("llama.rope.dimension_count \(ropeDims) does not fit heads of \(headDim)") }
        let config = Config(layers: layers, width: width, heads: heads, kvHeads: kvHeads, headDim: headDim, feedForward: ff,
                            vocabulary: try int("vocab_size", default: tokenList.count), context: try int("context_length", default: 4096),
                            ropeBase: Float(meta["llama.rope.freq_base"]?.double ?? 10_000), ropeDims: ropeDims,
                            epsilon: Float(meta["llama.attention.layer_norm_rms_epsilon"]?.double ?? 1e-5))
        guard config.vocabulary == tokenList.count else { throw bad("llama.vocab_size \(config.vocabulary) but \(tokenList.count) tokens") }

        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let info = file.tensor(name) else { throw bad("no tensor \(name)") }
            guard info.shape == shape else { throw bad("tensor \(name) is \(info.shape), the metadata says \(shape)") }
            return try file.floats(name)
        }
        let qw = config.queryWidth, kvw = config.kvWidth
        var blocks: [Block] = []
        for l in 0..<layers {
            let p = "blk.\(l)."
            blocks.append(Block(
                attentionNorm: try tensor(p + "attn_norm.weight", [width]),
                query: try tensor(p + "attn_q.weight", [width, qw]), key: try tensor(p + "attn_k.weight", [width, kvw]),
                value: try tensor(p + "attn_v.weight", [width, kvw]), output: try tensor(p + "attn_output.weight", [qw, width]),
                feedForwardNorm: try tensor(p + "ffn_norm.weight", [width]),
                gate: try tensor(p + "ffn_gate.weight", [width, ff]), up: try tensor(p + "ffn_up.weight", [width, ff]),
                down: try tensor(p + "ffn_down.weight", [ff, width])))
        }
        let embeddings = try tensor("token_embd.weight", [width, config.vocabulary])
        let outputWeight = file.tensor("output.weight") == nil ? nil : try tensor("output.weight", [width, config.vocabulary])
        let finalNorm = try tensor("output_norm.weight", [width])
        var inverse = (0..<(ropeDims / 2)).map { i in 1 / Float(pow(Double(config.ropeBase), Double(2 * i) / Double(ropeDims))) }
        if file.tensor("rope_freqs.weight") != nil {
            let factors = try tensor("rope_freqs.weight", [ropeDims / 2])
            for i in inverse.indices { inverse[i] /= factors[i] }
        }

        let pre = meta["tokenizer.ggml.pre"]?.string ?? "default"
        guard meta["tokenizer.ggml.model"]?.string == "gpt2" else {
            throw bad("a tokenizer of kind '\(meta["tokenizer.ggml.model"]?.string ?? "?")': fx reads byte-level BPE ('gpt2') tokenizers")
        }
        let tokenizer = try ByteLevelBPE(tokens: tokenList, types: meta["tokenizer.ggml.token_type"]?.ints ?? [],
                                         merges: meta["tokenizer.ggml.merges"]?.strings ?? [], pre: pre)
        func special(_ key: String) -> Int32? {
            guard let id = meta["tokenizer.ggml.\(key)_token_id"]?.int, id >= 0, id < tokenList.count else { return nil }
            return Int32(id)
        }
        bosToken = special("bos")
        eosToken = special("eos")
        addsBOS = meta["tokenizer.ggml.add_bos_token"]?.bool ?? false
        var stops = Set([eosToken, special("eot"), special("eom")].compactMap { $0 })
        for name in ["<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<end_of_turn>", "<|end|>"] {
            if let id = tokenizer.id(of: name) { stops.insert(id) }
        }
        stopTokens = stops
        do {
            chatTemplate = try meta["tokenizer.chat_template"]?.string.map(ChatTemplate.init)
        } catch let error as FXError { throw bad(error.reason) }

        self.path = path
        self.name = meta["general.name"]?.string ?? path
        self.config = config
        self.embeddings = embeddings
        self.outputWeight = outputWeight
        self.finalNorm = finalNorm
        self.blocks = blocks
        self.inverseFrequencies = inverse
        self.tokenizer = tokenizer
    }

    private init(copying other: LlamaModel) {
        (path, name, config, embeddings, outputWeight, finalNorm) = (other.path, other.name, other.config, other.embeddings, other.outputWeight, other.finalNorm)
        (blocks, inverseFrequencies, tokenizer, chatTemplate) = (other.blocks, other.inverseFrequencies, other.tokenizer, other.chatTemplate)
        (stopTokens, bosToken, eosToken, addsBOS) = (other.stopTokens, other.bosToken, other.eosToken, other.addsBOS)
    }

    /// Another model sharing this one's tensors, with LoRA adapters merged into its own copy of the blocks.
    public func merged(_ adapters: LoRAAdapters) -> LlamaModel {
        let model = LlamaModel(copying: self)
        model.merge(adapters)
        return model
    }

    /// Merges LoRA adapters into the weights (W + s · B·A), one block at a time, before the model is shared.
    public func merge(_ adapters: LoRAAdapters) {
        precondition(adapters.config == config, "adapters of another model")
        for l in blocks.indices { blocks[l] = blocks[l].merging(adapters, layer: l) }
    }

    /// The text of a special token, for the chat template's `bos_token` and `eos_token`.
    func tokenText(_ id: Int32?) -> String {
        guard let id else { return "" }
        return String(decoding: tokenizer.tokenBytes(id), as: UTF8.self)
    }

    /// A conversation rendered by the model's own chat template, ready for the assistant's reply.
    public func prompt(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
        guard let chatTemplate else { throw FXError.data("the model has no chat template (tokenizer.chat_template)", at: path) }
        return try chatTemplate.render(messages, addGenerationPrompt: addGenerationPrompt,
                                       bosToken: tokenText(bosToken), eosToken: tokenText(eosToken))
    }

    /// The ids of a text as the model reads it: BOS first when the tokenizer adds one (and the text does not
    /// already start with it).
    public func encode(_ text: String) -> [Int32] {
        var ids = tokenizer.encode(text)
        if addsBOS, let bos = bosToken, ids.first != bos { ids.insert(bos, at: 0) }
        return ids
    }
}

#if canImport(Glibc)
import Glibc
#endif

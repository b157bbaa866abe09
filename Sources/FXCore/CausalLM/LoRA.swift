/// A linear layer of a Llama block that LoRA can adapt, by its Hugging Face (and PEFT) module name.
public enum LoRATarget: String, CaseIterable, Sendable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj", gate = "gate_proj", up = "up_proj", down = "down_proj"

    var index: Int { Self.allCases.firstIndex(of: self)! }

    /// The module's path inside a Hugging Face Llama layer.
    var module: String { [.gate, .up, .down].contains(self) ? "mlp." + rawValue : "self_attn." + rawValue }

    /// The layer's (inputs, outputs).
    func shape(_ c: LlamaModel.Config) -> (inputs: Int, outputs: Int) {
        switch self {
        case .q: return (c.width, c.queryWidth)
        case .k, .v: return (c.width, c.kvWidth)
        case .o: return (c.queryWidth, c.width)
        case .gate, .up: return (c.width, c.feedForward)
        case .down: return (c.feedForward, c.width)
        }
    }

    /// Targets from a comma-separated list of module names (`q_proj,v_proj`), or `all`.
    public static func parse(_ text: String) throws -> [LoRATarget] {
        if text == "all" || text == "all-linear" { return allCases }
        var targets: [LoRATarget] = []
        for name in text.split(separator: ",").map({ String($0.filter { $0 != " " }) }) {
            guard let t = LoRATarget(rawValue: name) else {
                throw FXError.usage("unknown LoRA target '\(name)': the targets are \(allCases.map(\.rawValue).joined(separator: ", ")) or all")
            }
            if !targets.contains(t) { targets.append(t) }
        }
        guard !targets.isEmpty else { throw FXError.usage("no LoRA targets given") }
        return allCases.filter(targets.contains)
    }
}

/// LoRA's settings: each adapted layer W gains s · B·A with A of (rank x inputs) and B of (outputs x rank),
/// s = alpha / rank, and dropout on the adapter's input while training (PEFT's `LoraConfig`).
public struct LoRASettings: Sendable, Equatable {
    public var rank = 16
    public var alpha: Float = 32
    public var dropout: Float = 0.05
    public var targets: [LoRATarget] = LoRATarget.allCases

    public init() {}

    public var scale: Float { alpha / Float(rank) }

    var json: JSONValue {
        .object([JSONMember("rank", JSONValue(rank)), JSONMember("alpha", JSONValue(Double(alpha))),
                 JSONMember("dropout", JSONValue(Double(dropout))),
                 JSONMember("targets", .array(targets.map { .string($0.rawValue) }))])
    }

    init(json: JSONValue) throws {
        guard let rank = json["rank"]?.intValue, rank > 0, let alpha = json["alpha"]?.doubleValue,
              let dropout = json["dropout"]?.doubleValue, case .array(let names)? = json["targets"] else {
            throw FXError.data("LoRA settings are incomplete")
        }
        self.rank = rank
        self.alpha = Float(alpha)
        self.dropout = Float(dropout)
        targets = try LoRATarget.parse(names.compactMap(\.stringValue).joined(separator: ","))
    }
}

/// The trainable adapters of every layer: `a[layer][target.index]` of (rank x inputs), uniform in
/// ±1/sqrt(inputs) as PEFT's Kaiming start, and `b` of (outputs x rank) at zero, so training starts from the base.
public final class LoRAAdapters {
    public let settings: LoRASettings
    let config: LlamaModel.Config
    let a: [[Parameter?]], b: [[Parameter?]]
    public let parameters: [Parameter]

    public init(_ config: LlamaModel.Config, _ settings: LoRASettings, seed: UInt64) {
        var rng = SplitMix64(seed: seed ^ 0x4C6F_5241)
        var a: [[Parameter?]] = [], b: [[Parameter?]] = []
        for l in 0..<config.layers {
            var rowA: [Parameter?] = [], rowB: [Parameter?] = []
            for t in LoRATarget.allCases {
                guard settings.targets.contains(t) else { rowA.append(nil); rowB.append(nil); continue }
                let (inputs, outputs) = t.shape(config)
                let name = Self.peftName(layer: l, t)
                rowA.append(Parameter(name + ".lora_A.weight", .uniform(rows: settings.rank, cols: inputs, bound: 1 / Float(inputs).squareRoot(), &rng)))
                rowB.append(Parameter(name + ".lora_B.weight", Matrix(rows: outputs, cols: settings.rank)))
            }
            a.append(rowA)
            b.append(rowB)
        }
        self.settings = settings
        self.config = config
        self.a = a
        self.b = b
        parameters = zip(a, b).flatMap { zip($0, $1).flatMap { [$0, $1].compactMap { $0 } } }
    }

    /// Another set with the same values and its own gradients (another thread's copy).
    func copy() -> LoRAAdapters {
        let other = LoRAAdapters(config, settings, seed: 0)
        copyValues(parameters, to: other.parameters)
        return other
    }

    /// PEFT's name of a layer's module: `base_model.model.model.layers.0.self_attn.q_proj`.
    static func peftName(layer: Int, _ t: LoRATarget) -> String { "base_model.model.model.layers.\(layer).\(t.module)" }

    var trainableCount: Int { parameters.reduce(0) { $0 + $1.value.values.count } }

    /// The adapters as PEFT stores them (`adapter_model.safetensors`), float32. GGUF keeps the query and key
    /// rows of each head in llama.cpp's order (rotary pairs adjacent); Hugging Face's have the two halves of
    /// the head apart, so B's rows of q_proj and k_proj are put back in Hugging Face's order.
    public func peftTensors() -> [String: SafeTensors.Tensor] {
        var tensors: [String: SafeTensors.Tensor] = [:]
        for l in 0..<config.layers {
            for t in settings.targets {
                let pa = a[l][t.index]!, pb = b[l][t.index]!
                var rowsB = pb.value.values
                if t == .q || t == .k { rowsB = Self.reorderHeads(rowsB, heads: t == .q ? config.heads : config.kvHeads, headDim: config.headDim, cols: settings.rank, toHuggingFace: true) }
                tensors[pa.name] = SafeTensors.Tensor(pa.value.values, shape: [pa.value.rows, pa.value.cols], as: .f32)
                tensors[pb.name] = SafeTensors.Tensor(rowsB, shape: [pb.value.rows, pb.value.cols], as: .f32)
            }
        }
        return tensors
    }

    /// Adapters from PEFT's tensors (fx's own files keep them so); a missing or misshapen tensor is an error.
    public convenience init(_ config: LlamaModel.Config, _ settings: LoRASettings, peft tensors: [String: SafeTensors.Tensor], name path: String) throws {
        self.init(config, settings, seed: 0)
        for l in 0..<config.layers {
            for t in settings.targets {
                for (p, isB) in [(a[l][t.index]!, false), (b[l][t.index]!, true)] {
                    guard let tensor = tensors[p.name], tensor.shape == [p.value.rows, p.value.cols] else {
                        throw FXError.data("no tensor \(p.name) of shape [\(p.value.rows), \(p.value.cols)]", at: path)
                    }
                    var values = tensor.floats
                    if isB && (t == .q || t == .k) {
                        values = Self.reorderHeads(values, heads: t == .q ? config.heads : config.kvHeads, headDim: config.headDim, cols: settings.rank, toHuggingFace: false)
                    }
                    p.value.values = values
                }
            }
        }
    }

    /// Rows of a query or key projection between llama.cpp's order (within a head, rotary pairs adjacent: row
    /// 2i + j) and Hugging Face's (the two halves apart: row j · headDim/2 + i).
    static func reorderHeads(_ values: [Float], heads: Int, headDim: Int, cols: Int, toHuggingFace: Bool) -> [Float] {
        var out = values
        let half = headDim / 2
        for h in 0..<heads {
            for i in 0..<half {
                for j in 0..<2 {
                    let gguf = h * headDim + 2 * i + j, hf = h * headDim + j * half + i
                    let (from, to) = toHuggingFace ? (gguf, hf) : (hf, gguf)
                    for c in 0..<cols { out[to * cols + c] = values[from * cols + c] }
                }
            }
        }
        return out
    }

    /// W + s · B·A for one layer's target, W of (outputs x inputs) in GGUF's order.
    func merged(_ weight: [Float], layer: Int, _ t: LoRATarget) -> [Float] {
        guard let pa = a[layer][t.index], let pb = b[layer][t.index] else { return weight }
        var w = Matrix(rows: pb.value.rows, cols: pa.value.cols, values: weight)
        gemm(pb.value, pa.value, into: &w, alpha: settings.scale, beta: 1)
        return w.values
    }
}

extension LlamaModel.Block {
    func weight(_ t: LoRATarget) -> [Float] {
        switch t {
        case .q: return query
        case .k: return key
        case .v: return value
        case .o: return output
        case .gate: return gate
        case .up: return up
        case .down: return down
        }
    }

    /// The block with `adapters` merged into its weights.
    func merging(_ adapters: LoRAAdapters, layer l: Int) -> LlamaModel.Block {
        LlamaModel.Block(attentionNorm: attentionNorm, query: adapters.merged(query, layer: l, .q), key: adapters.merged(key, layer: l, .k),
                         value: adapters.merged(value, layer: l, .v), output: adapters.merged(output, layer: l, .o),
                         feedForwardNorm: feedForwardNorm, gate: adapters.merged(gate, layer: l, .gate),
                         up: adapters.merged(up, layer: l, .up), down: adapters.merged(down, layer: l, .down))
    }
}

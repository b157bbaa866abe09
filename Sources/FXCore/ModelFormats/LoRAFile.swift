/// A causal language model fine-tuned with LoRA, as fx-train writes it: safetensors holding the adapters under
/// PEFT's names (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`, float32, the query and key
/// rows in Hugging Face's order), with the LoRA settings and the base GGUF's file name, size and SHA-256 in
/// `__metadata__`. The base is not copied: it is found beside the file, under `models/`, or where `--base-model`
/// says, and a base whose hash differs is refused.
public enum LoRAFile {
    public static let formatName = "fx-lora"

    /// The base model a file applies to.
    public struct Base: Equatable, Sendable {
        public var name: String
        public var size: Int
        public var sha256: String

        /// The fingerprint of the file at `path`.
        public init(path: String) throws {
            name = String(path.split(separator: "/").last ?? Substring(path))
            size = try fileSize(path)
            sha256 = try SHA256.file(path)
        }

        init(name: String, size: Int, sha256: String) { (self.name, self.size, self.sha256) = (name, size, sha256) }

        var json: JSONValue {
            .object([JSONMember("name", .string(name)), JSONMember("size", JSONValue(size)), JSONMember("sha256", .string(sha256))])
        }
    }

    public static func save(_ path: String, adapters: LoRAAdapters, base: Base, training: [JSONMember]) throws {
        let metadata = ["format": formatName, "version": "1", "lora": adapters.settings.json.jsonText, "base": base.json.jsonText,
                        "training": JSONValue.object(training).jsonText]
        try AtomicFile.write(path) { out in try SafeTensors.write(adapters.peftTensors(), metadata: metadata, to: out) }
    }

    /// The base model (found and checked) and the adapters of a parsed fx-lora file.
    public static func load(tensors: [String: SafeTensors.Tensor], metadata: [String: String], name path: String,
                            baseModel: String? = nil) throws -> (model: LlamaModel, adapters: LoRAAdapters, basePath: String) {
        func bad(_ why: String) -> FXError { FXError.data("not an fx LoRA model: \(why)", at: path) }
        guard let baseJSON = try? JSONValue(parsing: metadata["base"] ?? ""), let name = baseJSON["name"]?.stringValue,
              let size = baseJSON["size"]?.intValue, let hash = baseJSON["sha256"]?.stringValue else { throw bad("no base model in its metadata") }
        guard let loraJSON = try? JSONValue(parsing: metadata["lora"] ?? "") else { throw bad("no LoRA settings") }
        let settings: LoRASettings
        do { settings = try LoRASettings(json: loraJSON) } catch let error as FXError { throw bad(error.reason) }
        let basePath = try findBase(Base(name: name, size: size, sha256: hash), for: path, given: baseModel)
        let model = try LlamaModel(path: basePath)
        let adapters = try LoRAAdapters(model.config, settings, peft: tensors, name: path)
        return (model, adapters, basePath)
    }

    /// Where the base is: `given`, else beside the file, else under models/. The first that exists must have the
    /// recorded size and SHA-256.
    static func findBase(_ base: Base, for path: String, given: String?) throws -> String {
        let folder = EncoderModel.folder(of: path)
        let candidates = given.map { [$0] } ?? [folder + "/" + base.name, "models/" + base.name]
        guard let found = candidates.first(where: { (try? fileSize($0)) != nil }) else {
            throw FXError.data("its base model \(base.name) is neither beside it nor under models/: give it with --base-model PATH", at: path)
        }
        guard try fileSize(found) == base.size, try SHA256.file(found) == base.sha256 else {
            throw FXError.data("was fine-tuned from a base \(base.name) of SHA-256 \(base.sha256.prefix(16))..., and \(found) differs: give the right one with --base-model PATH", at: path)
        }
        return found
    }

    /// PEFT's adapter folder: adapter_config.json and adapter_model.safetensors, which `PeftModel.from_pretrained`
    /// loads onto transformers' model of the same GGUF.
    public static func exportPEFT(_ adapters: LoRAAdapters, base: Base, to folder: String) throws {
        try makeDirectory(folder)
        let s = adapters.settings
        let config: JSONValue = .object([
            JSONMember("alpha_pattern", .object([])), JSONMember("base_model_name_or_path", .string(base.name)), JSONMember("bias", .string("none")),
            JSONMember("fan_in_fan_out", .bool(false)), JSONMember("inference_mode", .bool(true)), JSONMember("init_lora_weights", .bool(true)),
            JSONMember("layers_pattern", .null), JSONMember("layers_to_transform", .null), JSONMember("lora_alpha", JSONValue(Double(s.alpha))),
            JSONMember("lora_dropout", JSONValue(Double(s.dropout))), JSONMember("modules_to_save", .null), JSONMember("peft_type", .string("LORA")),
            JSONMember("r", JSONValue(s.rank)), JSONMember("rank_pattern", .object([])), JSONMember("revision", .null),
            JSONMember("target_modules", .array(s.targets.map { .string($0.rawValue) })), JSONMember("task_type", .string("CAUSAL_LM")),
            JSONMember("use_dora", .bool(false)), JSONMember("use_rslora", .bool(false)),
        ])
        try AtomicFile.write(folder + "/adapter_config.json") { try $0.write(config.jsonText + "\n") }
        try AtomicFile.write(folder + "/adapter_model.safetensors") { out in
            try SafeTensors.write(adapters.peftTensors(), metadata: ["format": "pt"], to: out)
        }
    }

    /// The merged model (the base with the adapters merged in) as a GGUF file: the base's metadata (tokenizer
    /// and chat template included) and tensors, the weights in `type` (F16 or F32), the norms in F32.
    public static func exportGGUF(_ merged: LlamaModel, base basePath: String, to path: String, as type: GGMLType) throws {
        let file = try GGUFFile(path: basePath)
        var writer = GGUFWriter()
        for key in file.keys { writer.set(key, file.metadata[key]!, as: file.valueType(key)) }
        writer.set("general.file_type", .uint(type == .f16 ? 1 : 0), as: .uint32)
        let names: [(String, LoRATarget)] = [("attn_q", .q), ("attn_k", .k), ("attn_v", .v), ("attn_output", .o),
                                             ("ffn_gate", .gate), ("ffn_up", .up), ("ffn_down", .down)]
        for info in file.tensors {
            var values: [Float]?
            let parts = info.name.split(separator: ".")
            if parts.count == 4, parts[0] == "blk", let l = Int(parts[1]), l < merged.blocks.count,
               let t = names.first(where: { $0.0 == parts[2] })?.1, parts[3] == "weight" {
                values = merged.blocks[l].weight(t)
            }
            writer.add(info.name, shape: info.shape, floats: try values ?? file.floats(info.name), as: info.shape.count == 1 ? .f32 : type)
        }
        try writer.write(to: path)
    }
}

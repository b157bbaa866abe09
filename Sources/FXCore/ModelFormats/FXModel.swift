/// Any model fx reads: the linear (fastText-class) classifier, a text-to-text transformer, a BERT-family
/// encoder (a Hugging Face folder, or fx's fine-tuned file of one), or a causal language model (GGUF, or fx's LoRA
/// fine-tuned file of one, its adapters merged).
public enum FXModel {
    case linear(TextModel)
    case seq2seq(Seq2SeqModel)
    case encoder(EncoderModel)
    case causal(LlamaModel)

    /// `baseModel`: where the base GGUF of a LoRA fine-tuned file is, when not beside it or under models/.
    public static func load(_ path: String, baseModel: String? = nil) throws -> FXModel {
        if LlamaModel.isGGUF(path) { return .causal(try LlamaModel(path: path)) }
        if EncoderModel.isPretrained(path) { return .encoder(try EncoderModel.loadPretrained(path)) }
        let (tensors, metadata) = try SafeTensors.read(path)
        switch metadata["format"] {
        case Seq2SeqModel.formatName: return .seq2seq(try Seq2SeqModel.load(tensors: tensors, metadata: metadata, name: path))
        case EncoderModel.formatName: return .encoder(try EncoderModel.load(tensors: tensors, metadata: metadata, name: path))
        case LoRAFile.formatName:
            let (model, adapters, _) = try LoRAFile.load(tensors: tensors, metadata: metadata, name: path, baseModel: baseModel)
            model.merge(adapters)
            return .causal(model)
        default:
            if tensors["embeddings.word_embeddings.weight"] != nil || tensors["bert.embeddings.word_embeddings.weight"] != nil {
                throw FXError.data("a Hugging Face checkpoint needs its config.json and vocab.txt beside it (or give the folder)", at: path)
            }
            return .linear(try TextModel.load(tensors: tensors, metadata: metadata, name: path))
        }
    }
}

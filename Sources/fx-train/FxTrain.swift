import ArgumentParser
import FXCore
#if canImport(Glibc)
import Glibc
#endif

@main
struct FxTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fx-train",
        abstract: "Train a text classifier, or a transformer that writes text, on {\"input\", \"target\"} pairs from a pipe; or fine-tune one, a pretrained language model with LoRA included.",
        discussion: """
        fx-train reads pairs (stdin, files, archives; what fx-pair and fx-mask write), keeps them compactly as \
        ids, trains a fastText-class model for every epoch and writes one model file. The model averages the \
        embeddings of the input's words (fx's tokenizer, lowercased unless --case-sensitive), of its word \
        n-grams up to --word-ngrams and of character n-grams --minn..--maxn, hashed into --buckets, and feeds \
        them to a linear output layer. SGD with a learning rate decaying linearly to 0 over all epochs; \
        --threads trains Hogwild, --threads 1 is bit-for-bit reproducible with --seed. The default rate \
        follows the outputs each example updates (--lr). A divergence guard measures the loss every tenth of \
        an epoch: when it is not finite, or above 1.5 times the loss training started from (and above 1 nat \
        per example), the epoch is run again from its start at half the learning rate, and a line on stderr \
        says so.

        Losses: ova (one-vs-all binary logistics: the default up to 200 labels, where it beat softmax on \
        validation, and for multi-label targets, i.e. arrays), ns (negative sampling, the default beyond, e.g. \
        the words fx-mask hides: its embeddings make the better base for fine-tuning), softmax, hs \
        (hierarchical softmax).

        --tune SECONDS lets the linear model choose its settings: --lr, --epochs, --dim, --word-ngrams, \
        --minn/--maxn, --loss and --buckets (those given on the command line stay fixed). Trials train on the \
        pairs outside a validation slice, 10% of them (at least 200, at most half) by a stable hash of the input \
        text, as fx-pair --holdout splits, taken per label so that rare labels keep pairs on both sides (or on \
        the --valid pairs), and are scored by accuracy on it, one trial per thread at once. The search is \
        successive halving: candidates train on a small share of the pairs (a 64th, 16th or 4th, at least 500), \
        and the best third goes up to four times as many, up to all of them. The first candidates are the \
        defaults; the next ones move the best of the highest share reached (each setting with probability 1/2, \
        by steps that shrink as the budget is spent) or, early on more often, jump anywhere, as fastText's \
        autotune does. A trial predicted not to finish in the time left, or to cost more than 4 times the \
        defaults, is not started, and one still running at the end is dropped, so the search ends within \
        SECONDS; then the model trains on all the pairs with the best settings of the highest share reached, \
        printed on stderr as options to paste back, and the search (settings, pairs, scores, times) is kept in \
        the model's metadata. --threads 1 with --seed gives the same trials when the budget allows the same \
        number.

        Fine-tuning: --base MODEL starts from a model, above all the self-supervised one from \
        fx-mask | fx-train, keeping its settings, embeddings and vocabulary and adding new words; the labels are \
        those of the new data, and a label the base knows keeps its output row (softmax, ns, ova). A base does \
        not always help (a small one can cost points against training from scratch), so fx-train first trains \
        both on the pairs outside a held-out slice (the one --tune carves, or the --valid pairs), scores them on \
        it, keeps the better (a tie keeps the base), and says which and by how much on stderr; the model's \
        metadata keeps both scores. --base-always skips the check and fine-tunes the base. With --tune, the \
        search chooses the settings from scratch, and the check weighs them against the base. --base-vectors \
        FILE.vec starts words from fastText or gensim vectors; --export-vectors FILE.vec writes the word vectors.

        --valid FILE scores each epoch and keeps the best, --patience N stops after N epochs without improvement.

        Text to text (--arch transformer, chosen by itself when the first 1,000 targets look like free text: \
        more than half distinct and over 2 words long on average, such as translations or fx-mask --mode span's \
        output): an encoder-decoder transformer (--layers encoder and decoder layers, pre-norm, --heads, --ff, \
        ReLU, --dropout, sinusoidal positions up to 256 tokens) whose source embedding, target embedding and \
        output projection share one matrix. Its vocabulary is subword BPE learned from the training pairs' \
        sources and targets together (--vocab-size pieces; characters seen fewer than twice are spelled as UTF-8 \
        bytes, so any text encodes). Pairs are read once and kept as ids; batches of about --batch-tokens \
        source and target tokens group pairs of similar length, in shuffled order. Label-smoothed (0.1) \
        cross-entropy, AdamW (betas 0.9/0.98, weight decay 0.01) with --warmup steps of linear warm-up to --lr \
        then 1/sqrt(step) decay, gradients clipped to norm 1. --threads splits each batch between copies of the \
        network (one per thread); --threads 1 is bit-for-bit reproducible with --seed. On a terminal a progress \
        line shows step, epoch, tokens/s, loss, learning rate, the last validation loss and BLEU, and ETA. \
        --valid FILE is scored after each epoch (loss, and greedy BLEU on its first 500 pairs) and the best \
        model by BLEU is kept; --max-time SECONDS stops training at that wall-clock budget. Sources longer \
        than 256 tokens are cut, and the summary counts them. --base MODEL continues training a transformer \
        model, with its tokenizer and settings, on new pairs (domain adaptation, or fine-tuning a model \
        pretrained on fx-mask --mode span's output).

        The model is safetensors: float16 tensors words, buckets (the hashed rows training used), bucket_ids \
        and output, with vocabulary, labels and settings in __metadata__; a transformer's float32 tensors are \
        named for their layers (embeddings.word_embeddings.weight, encoder.layer.0.attention.query.weight, ...), \
        with settings and the BPE pieces and merges in __metadata__. It is written atomically: an \
        interrupted run (Ctrl-C) leaves neither a partial model nor a temporary file.

        A pretrained encoder (--base a Hugging Face BERT-family folder such as all-MiniLM-L6-v2, or an fx-encoder \
        file fx-train wrote) is fine-tuned as a classifier: a new head on its mean-pooled vector (softmax, or \
        one sigmoid per label for multi-label targets) is first trained alone on the frozen encoder's vectors \
        (linear probing), then with the whole encoder (fine-tuning): AdamW (--lr 2e-4, weight decay 0.01), 10% \
        warm-up then linear decay to 0, --epochs 5, --batch-size 32 texts of at most --max-length 128 tokens, \
        dropout 0.1; each batch is split between copies of the network on --threads threads. With 2% of the labels, \
        probing first gave 6.6 points more validation accuracy on Debian's synopses, and --lr 2e-4 two more than \
        1e-4 there (1e-4 beat 5e-5 by 11 on whole descriptions). --valid FILE scores accuracy after each epoch, keeps the best and stops after --patience (2) \
        epochs without improvement. --freeze trains the head alone on vectors computed once (fast; --epochs \
        100, --lr 0.01, --patience 10 by default). The progress line shows examples/s and the ETA. The file keeps \
        the encoder's Hugging Face names, with classifier.weight and classifier.bias; fx-eval scores it, \
        --predict applies it and --embed uses its encoder.

        A causal language model (--base a GGUF file of architecture llama, such as \
        models/SmolLM2-135M-Instruct.Q4_1.gguf from `make models`) is fine-tuned with LoRA, its weights frozen: \
        each projection of every layer (--lora-targets, of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, \
        down_proj, or all) gains alpha/rank · B·A, A of (--lora-rank 16) x inputs from PEFT's Kaiming start, B \
        at zero, --lora-alpha 32, --lora-dropout 0.05 on the adapters' input (one mask per input, shared by \
        the adapters that read it). Records are read in any format fx-eval --predict reads: "messages" (every \
        assistant turn is learned), "prompt" + "completion", Alpaca's "instruction" + "input" + "output", or \
        the input and target fields; each conversation is rendered by the model's own chat template turn by turn, \
        as generation renders it, and only the assistant's tokens (its text and the end of its turn) carry the \
        loss. A record with only "text" is a document, learned whole with an end-of-text token (continued \
        pretraining), in pieces of --max-length tokens; conversations longer than --max-length (512) are cut and \
        counted. AdamW (betas 0.9/0.999, no weight decay, gradients clipped to norm 1), --warmup 30 steps (at \
        most a tenth of the run: of the steps --epochs plan, or of those --max-time allows at the first step's \
        pace) to --lr 2e-3, then a linear decay to 0 at the end of --epochs (3) or of --max-time, whichever \
        comes first. The rate and the warm-up's cap were chosen on validation slices of two Debian tasks, 4 \
        minutes each: chrF 39.7 writing synopses and 41.5 translating them into French at 2e-3, against 37.4 and \
        39.4 at 1e-3, 36.3 and 30.8 at 2e-4; 5e-3 gave 39.0 and 46.2 (bench/lora-defaults.sh). \
        Each step takes about --batch-tokens 1024 tokens of shuffled examples, packed without padding, attention \
        never crossing from one example into another; the examples are dealt to one copy of the adapters per \
        thread (--threads 1 is bit-for-bit reproducible with --seed), and the output projection runs only on the \
        positions that carry a loss. --valid FILE measures the loss, and chrF of greedy replies to its first 200 \
        conversations, four times a run, keeps the best and stops after --patience (3) evaluations without \
        improvement. Ctrl-C stops training after the current step and saves the adapters trained so far (exit \
        status 130); a second Ctrl-C ends at once, leaving no file. The model file (safetensors, format fx-lora) holds the adapters under PEFT's names \
        (base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight, ...), the settings, and the base's file \
        name, size and SHA-256; fx-eval runs it with the base found beside it, under models/, or at --base-model, \
        and refuses a base whose hash differs. --base tuned.fxm trains further. --export-peft DIR also writes \
        adapter_config.json and adapter_model.safetensors for PEFT (PeftModel.from_pretrained onto transformers' \
        model of the same GGUF); --export-gguf FILE the merged model (base + adapters, --gguf-type f16 or f32, \
        with the tokenizer and chat template) that fx, transformers and llama.cpp run.

        Examples (from the root of fx's source, whose examples/ folder holds the data):
          fx-pair examples/debian-sections.tar.gz | fx-train -o /tmp/sections.fxm -q
          fx-mask examples/corpus.jsonl.gz | fx-train -o /tmp/base.fxm --epochs 5 -q
          fx-pair examples/debian-sections.tar.gz | fx-train --base /tmp/base.fxm -o /tmp/tuned.fxm -q
          fx-train examples/descriptions.jsonl --input-field text --target-field label --export-vectors /tmp/words.vec -o /tmp/m.fxm -q
          fx-pair --parallel en,fr examples/descriptions.en examples/descriptions.fr | fx-train --dim 64 --ff 256 --layers 2 --vocab-size 2000 --max-time 20 -o /tmp/en-fr.fxm -q
          fx-train --base models/all-MiniLM-L6-v2 --freeze --input-field text --target-field label examples/descriptions.jsonl -o /tmp/minilm-head.fxm -q
          fx-pair examples/descriptions.jsonl --input-field text --target-field label --format openai | fx-train --base models/SmolLM2-135M-Instruct.Q4_1.gguf --max-time 15 -o /tmp/chat-lora.fxm -q
        """
    )

    @OptionGroup(title: "Inputs") var input: InputOptions
    @OptionGroup(title: "Common options") var common: CommonOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("The model file to write.", valueName: "file"))
    var output = "model.fxm"

    @Option(help: ArgumentHelp("linear (the classifier) or transformer (an encoder-decoder that writes text); chosen from the targets when not given.", valueName: "linear|transformer"))
    var arch: TrainJob.Architecture?

    @Option(help: ArgumentHelp("Embedding dimensions; the transformer's width (default: 64 linear, 256 transformer).", valueName: "n"))
    var dim: Int?

    @Option(name: .customLong("word-ngrams"), help: ArgumentHelp("Longest word n-gram used as a feature (default: 2).", valueName: "n"))
    var wordNgrams: Int?

    @Option(help: ArgumentHelp("Shortest character n-gram (default: 0, none).", valueName: "n"))
    var minn: Int?

    @Option(help: ArgumentHelp("Longest character n-gram (default: 0, none).", valueName: "n"))
    var maxn: Int?

    @Option(help: ArgumentHelp("Hash buckets for word and character n-grams (default: 262144; buckets x dim at most 2^28).", valueName: "n"))
    var buckets: Int?

    @Option(help: ArgumentHelp("Linear model: first choose --lr, --epochs, --dim, --word-ngrams, --minn/--maxn, --loss and --buckets (those not given) on held-out pairs within this many seconds, then train on all the pairs.", valueName: "seconds"))
    var tune: Double?

    @Flag(name: .customLong("case-sensitive"), help: "Keep the case of words (they are lowercased by default).")
    var caseSensitive = false

    @Option(name: .customLong("min-count"), help: ArgumentHelp("Words seen fewer times are left out of the vocabulary.", valueName: "n"))
    var minCount = 1

    @Option(help: ArgumentHelp("ova, ns, softmax or hs; chosen from the targets when not given.", valueName: "ova|ns|softmax|hs"))
    var loss: Loss?

    @Option(help: ArgumentHelp("Negative samples per example (--loss ns).", valueName: "n"))
    var neg = 5

    @Option(help: ArgumentHelp("Passes over the data (default: 40 linear, 30 transformer, 5 fine-tuning a pretrained encoder, 100 with --freeze, 3 LoRA).", valueName: "n"))
    var epochs: Int?

    @Option(help: ArgumentHelp("Learning rate. Linear: the starting rate, decaying linearly to 0 (default: min(1, 3.5 / sqrt(outputs each example updates)): 0.55 for 41 labels with ova or softmax, 1 for ns and hs). Transformer: AdamW's peak rate after warm-up (default: 0.001; 2e-4 fine-tuning a pretrained encoder, 2e-3 with LoRA, 0.01 with --freeze).", valueName: "rate"))
    var lr: Double?

    @Option(help: ArgumentHelp("Training threads (default: all cores).", valueName: "n"))
    var threads = processorCount

    @Option(help: ArgumentHelp("Pairs to score after each epoch; the best epoch's model is kept.", valueName: "file"))
    var valid: String?

    @Option(help: ArgumentHelp("Write one JSON record per epoch to this file as training goes: loss, lr, valid_accuracy or valid_bleu with --valid, examples_per_s or tokens_per_s, elapsed (fx-eval --report --train-log draws it).", valueName: "file"))
    var log: String?

    @Option(help: ArgumentHelp("With --valid: stop after this many epochs without improvement.", valueName: "n"))
    var patience: Int?

    @Option(help: ArgumentHelp("Start from this model (fine-tuning): an fx model, a pretrained Hugging Face BERT-family folder, which gets a new classification head, or a causal language model (GGUF, or fx's LoRA file of one), which gets LoRA adapters.", valueName: "model|folder|file.gguf"))
    var base: String?

    @Flag(name: .customLong("base-always"), help: "Linear --base: fine-tune it without first checking on held-out pairs that it beats training from scratch.")
    var baseAlways = false

    @Option(name: .customLong("base-vectors"), help: ArgumentHelp("Start words from these .vec word vectors.", valueName: "file"))
    var baseVectors: String?

    @Option(name: .customLong("export-vectors"), help: ArgumentHelp("Also write the word vectors in .vec format.", valueName: "file"))
    var exportVectors: String?

    @Option(help: ArgumentHelp("Transformer: encoder layers, and as many decoder layers.", valueName: "n"))
    var layers = 3

    @Option(help: ArgumentHelp("Transformer: attention heads (they divide --dim).", valueName: "n"))
    var heads = 4

    @Option(help: ArgumentHelp("Transformer: width of the feed-forward layers.", valueName: "n"))
    var ff = 1024

    @Option(help: ArgumentHelp("Transformer: dropout rate.", valueName: "rate"))
    var dropout = 0.1

    @Option(name: .customLong("vocab-size"), help: ArgumentHelp("Transformer: BPE pieces, learned from the training pairs' sources and targets together.", valueName: "n"))
    var vocabSize = 4000

    @Option(name: .customLong("batch-tokens"), help: ArgumentHelp("Transformer: source and target tokens per batch (default 2500). Causal language model: tokens per step (default 1024).", valueName: "n"))
    var batchTokens: Int?

    @Option(help: ArgumentHelp("Transformer: steps of linear warm-up before the rate decays as 1/sqrt(step) (default 400). Causal language model: steps of warm-up before the rate decays linearly to 0 (default 30).", valueName: "steps"))
    var warmup: Int?

    @Option(name: .customLong("max-time"), help: ArgumentHelp("Transformers and LoRA: stop training after this many seconds and keep the best model seen on --valid (or the last).", valueName: "seconds"))
    var maxTime: Double?

    @Option(name: .customLong("batch-size"), help: ArgumentHelp("Pretrained encoder: texts per step.", valueName: "n"))
    var batchSize = 32

    @Option(name: .customLong("max-length"), help: ArgumentHelp("Pretrained encoder: tokens per text at most, [CLS] and [SEP] included, in training and after (default 128). Causal language model: tokens per example; longer conversations are cut, longer documents split (default 512).", valueName: "n"))
    var maxLength: Int?

    @Option(name: .customLong("lora-rank"), help: ArgumentHelp("Causal language model: the rank of the LoRA adapters.", valueName: "r"))
    var loraRank = 16

    @Option(name: .customLong("lora-alpha"), help: ArgumentHelp("Causal language model: LoRA's alpha; the adapters' output is scaled by alpha / rank.", valueName: "a"))
    var loraAlpha = 32.0

    @Option(name: .customLong("lora-dropout"), help: ArgumentHelp("Causal language model: dropout on the adapters' input while training.", valueName: "rate"))
    var loraDropout = 0.05

    @Option(name: .customLong("lora-targets"), help: ArgumentHelp("Causal language model: the projections that get adapters, comma-separated, or all.", valueName: "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"))
    var loraTargets = "all"

    @Option(name: .customLong("base-model"), help: ArgumentHelp("Causal language model, --base an fx LoRA model: its base GGUF, when not beside it or under models/.", valueName: "file.gguf"))
    var baseModel: String?

    @Option(help: ArgumentHelp("Causal language model: a system message put first in every conversation that has none (give fx-eval the same).", valueName: "text"))
    var system: String?

    @Option(name: .customLong("export-peft"), help: ArgumentHelp("Causal language model: also write the adapters as a PEFT folder (adapter_config.json, adapter_model.safetensors).", valueName: "folder"))
    var exportPEFT: String?

    @Option(name: .customLong("export-gguf"), help: ArgumentHelp("Causal language model: also write the merged model (base + adapters) as a GGUF file that llama.cpp runs.", valueName: "file.gguf"))
    var exportGGUF: String?

    @Option(name: .customLong("gguf-type"), help: ArgumentHelp("With --export-gguf: the weights' type, f16 or f32.", valueName: "f16|f32"))
    var ggufType = "f16"

    @Flag(help: "Pretrained encoder: train the new classification head alone, on the frozen encoder's vectors (fast).")
    var freeze = false

    @OptionGroup(title: "Fields") var fields: PairFieldOptions

    private var features: FeatureSettings {
        var f = FeatureSettings()
        f.dim = dim ?? 64
        f.wordNgrams = wordNgrams ?? f.wordNgrams
        f.minn = minn ?? f.minn
        f.maxn = maxn ?? f.maxn
        f.buckets = buckets ?? f.buckets
        f.lowercase = !caseSensitive
        return f
    }

    func validate() throws {
        guard epochs ?? 1 > 0, lr ?? 1 > 0, threads > 0, minCount >= 1, neg >= 1, layers > 0, heads > 0, ff > 0, batchTokens ?? 1 > 0, warmup ?? 0 >= 0,
              maxTime ?? 1 > 0, batchSize > 0, loraRank > 0, loraAlpha > 0 else {
            throw ValidationError("--epochs, --lr, --threads, --min-count, --neg, --layers, --heads, --ff, --batch-tokens, --batch-size and --max-time must be positive.")
        }
        guard maxLength ?? 2 >= 2 else { throw ValidationError("--max-length must be at least 2.") }
        guard (0..<1).contains(loraDropout) else { throw ValidationError("--lora-dropout must be at least 0 and below 1.") }
        guard ["f16", "f32"].contains(ggufType) else { throw ValidationError("--gguf-type is f16 or f32.") }
        do { _ = try LoRATarget.parse(loraTargets) } catch let error as FXError { throw ValidationError(error.reason + ".") }
        guard (0..<1).contains(dropout) else { throw ValidationError("--dropout must be at least 0 and below 1.") }
        if arch == .transformer, (dim ?? 256) % heads != 0 { throw ValidationError("--heads \(heads) does not divide --dim \(dim ?? 256).") }
        guard vocabSize >= 300 else { throw ValidationError("--vocab-size must be at least 300 (the specials and the 256 bytes take 260).") }
        if let problem = features.outOfRange { throw ValidationError("--dim, --buckets, --word-ngrams, --minn and --maxn: \(problem).") }
        if patience != nil && valid == nil { throw ValidationError("--patience needs --valid.") }
        if let tune, !(tune > 0) { throw ValidationError("--tune takes a positive number of seconds.") }
        if tune != nil && (arch == .transformer || freeze) { throw ValidationError("--tune chooses the linear model's settings.") }
    }

    func run() throws {
        var job = TrainJob()
        job.features = features
        job.loss = loss
        job.minCount = minCount
        job.trainer.epochs = epochs ?? 40
        job.lr = lr
        job.trainer.threads = threads
        job.trainer.seed = common.seed
        job.trainer.negatives = neg
        job.trainer.patience = patience
        job.trainer.progress = isatty(2) != 0
        if let tune {
            var tuner = Tuner(seconds: tune)
            (tuner.threads, tuner.seed, tuner.negatives) = (threads, common.seed, neg)
            let given: [(Bool, Tuner.Knob)] = [(lr != nil, .lr), (epochs != nil, .epochs), (dim != nil, .dim), (wordNgrams != nil, .wordNgrams),
                                               (minn != nil || maxn != nil, .charNgrams), (loss != nil, .loss), (buckets != nil, .buckets)]
            tuner.fixed = Set(given.filter(\.0).map(\.1))
            job.tuner = tuner
        }
        job.inputField = fields.inputField
        job.targetField = fields.targetField
        job.arch = arch
        var t = Seq2SeqTrainJob()
        t.settings.width = dim ?? 256
        t.settings.layers = layers
        t.settings.heads = heads
        t.settings.ff = ff
        t.settings.dropout = Float(dropout)
        t.settings.vocabulary = vocabSize
        t.trainer.epochs = epochs ?? 30
        t.trainer.lr = lr ?? 1e-3
        t.trainer.warmup = warmup ?? 400
        t.trainer.batchTokens = batchTokens ?? 2500
        t.trainer.maxTime = maxTime
        t.trainer.seed = common.seed
        t.trainer.progress = isatty(2) != 0
        t.threads = threads
        job.seq2seq = t
        var e = EncoderTrainJob()
        e.maxLength = maxLength ?? 128
        e.trainer.batchSize = batchSize
        e.trainer.freeze = freeze
        e.trainer.epochs = epochs ?? (freeze ? 100 : 5)
        e.trainer.lr = lr ?? (freeze ? 1e-2 : 2e-4)
        e.trainer.maxTime = maxTime
        e.trainer.seed = common.seed
        e.trainer.patience = patience ?? (freeze ? 10 : 2)
        e.trainer.threads = threads
        e.trainer.progress = isatty(2) != 0
        job.encoder = e
        job.basePath = base
        job.baseVectorsPath = baseVectors
        job.baseAlways = baseAlways
        job.validPath = valid
        var c = CausalTrainJob()
        c.lora.rank = loraRank
        c.lora.alpha = Float(loraAlpha)
        c.lora.dropout = Float(loraDropout)
        c.lora.targets = (try? LoRATarget.parse(loraTargets)) ?? LoRATarget.allCases
        c.maxLength = maxLength ?? 512
        c.baseModel = baseModel
        c.exportPEFT = exportPEFT
        c.exportGGUF = exportGGUF
        c.ggufType = ggufType == "f32" ? .f32 : .f16
        c.reader.system = system
        c.trainer.epochs = epochs ?? c.trainer.epochs
        c.trainer.lr = lr ?? c.trainer.lr
        c.trainer.warmup = warmup ?? c.trainer.warmup
        c.trainer.batchTokens = batchTokens ?? c.trainer.batchTokens
        c.trainer.maxTime = maxTime
        c.trainer.seed = common.seed
        c.trainer.patience = patience ?? c.trainer.patience
        c.trainer.threads = threads
        c.trainer.progress = isatty(2) != 0
        job.causal = c
        job.exportVectorsPath = exportVectors
        job.outputPath = output
        job.logPath = log
        try job.run(ToolRun(name: "fx-train", common: common, input: input), files: input.files)
    }
}

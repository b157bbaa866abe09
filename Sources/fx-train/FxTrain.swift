import ArgumentParser
import FXCore
#if canImport(Glibc)
import Glibc
#endif

@main
struct FxTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fx-train",
        abstract: "Train a text classifier on {\"input\", \"target\"} pairs from a pipe, or fine-tune one.",
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

        Fine-tuning: --base MODEL starts from a model, above all the self-supervised one from \
        fx-mask | fx-train, keeping its settings, embeddings and vocabulary and adding new words; the labels are \
        those of the new data, and a label the base knows keeps its output row (softmax, ns, ova). --base-vectors FILE.vec starts words from fastText or \
        gensim vectors; --export-vectors FILE.vec writes the word vectors.

        Targets that look like free text (nearly all distinct and several words long, such as translations) \
        are refused with a message; --force trains anyway. --valid FILE scores each epoch and keeps the best, \
        --patience N stops after N epochs without improvement.

        The model is safetensors: float16 tensors words, buckets (the hashed rows training used), bucket_ids \
        and output, with vocabulary, labels and settings in __metadata__. It is written atomically: an \
        interrupted run (Ctrl-C) leaves neither a partial model nor a temporary file.

        Examples (from the root of fx's source, whose examples/ folder holds the data):
          fx-pair examples/debian-sections.tar.gz | fx-train -o /tmp/sections.fxm -q
          fx-mask examples/corpus.jsonl.gz | fx-train -o /tmp/base.fxm --epochs 5 -q
          fx-pair examples/debian-sections.tar.gz | fx-train --base /tmp/base.fxm -o /tmp/tuned.fxm -q
          fx-train examples/descriptions.jsonl --input-field text --target-field label --export-vectors /tmp/words.vec -o /tmp/m.fxm -q
        """
    )

    @OptionGroup(title: "Inputs") var input: InputOptions
    @OptionGroup(title: "Common options") var common: CommonOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("The model file to write.", valueName: "file"))
    var output = "model.fxm"

    @Option(help: ArgumentHelp("Embedding dimensions.", valueName: "n"))
    var dim = 64

    @Option(name: .customLong("word-ngrams"), help: ArgumentHelp("Longest word n-gram used as a feature.", valueName: "n"))
    var wordNgrams = 2

    @Option(help: ArgumentHelp("Shortest character n-gram (0: none).", valueName: "n"))
    var minn = 0

    @Option(help: ArgumentHelp("Longest character n-gram (0: none).", valueName: "n"))
    var maxn = 0

    @Option(help: ArgumentHelp("Hash buckets for word and character n-grams (buckets x dim at most 2^28).", valueName: "n"))
    var buckets = 1 << 18

    @Flag(name: .customLong("case-sensitive"), help: "Keep the case of words (they are lowercased by default).")
    var caseSensitive = false

    @Option(name: .customLong("min-count"), help: ArgumentHelp("Words seen fewer times are left out of the vocabulary.", valueName: "n"))
    var minCount = 1

    @Option(help: ArgumentHelp("ova, ns, softmax or hs; chosen from the targets when not given.", valueName: "ova|ns|softmax|hs"))
    var loss: Loss?

    @Option(help: ArgumentHelp("Negative samples per example (--loss ns).", valueName: "n"))
    var neg = 5

    @Option(help: ArgumentHelp("Passes over the data.", valueName: "n"))
    var epochs = 40

    @Option(help: ArgumentHelp("Starting learning rate, decaying linearly to 0 (default: min(1, 3.5 / sqrt(outputs each example updates)): 0.55 for 41 labels with ova or softmax, 1 for ns and hs).", valueName: "rate"))
    var lr: Double?

    @Option(help: ArgumentHelp("Training threads (default: all cores).", valueName: "n"))
    var threads = processorCount

    @Option(help: ArgumentHelp("Pairs to score after each epoch; the best epoch's model is kept.", valueName: "file"))
    var valid: String?

    @Option(help: ArgumentHelp("With --valid: stop after this many epochs without improvement.", valueName: "n"))
    var patience: Int?

    @Option(help: ArgumentHelp("Start from this fx model (fine-tuning).", valueName: "model"))
    var base: String?

    @Option(name: .customLong("base-vectors"), help: ArgumentHelp("Start words from these .vec word vectors.", valueName: "file"))
    var baseVectors: String?

    @Option(name: .customLong("export-vectors"), help: ArgumentHelp("Also write the word vectors in .vec format.", valueName: "file"))
    var exportVectors: String?

    @OptionGroup(title: "Fields") var fields: PairFieldOptions

    @Flag(help: "Train even when the targets look like free text rather than labels.")
    var force = false

    private var features: FeatureSettings {
        var f = FeatureSettings()
        f.dim = dim
        f.wordNgrams = wordNgrams
        f.minn = minn
        f.maxn = maxn
        f.buckets = buckets
        f.lowercase = !caseSensitive
        return f
    }

    func validate() throws {
        guard epochs > 0, lr ?? 1 > 0, threads > 0, minCount >= 1, neg >= 1 else {
            throw ValidationError("--epochs, --lr, --threads, --min-count and --neg must be positive.")
        }
        if let problem = features.outOfRange { throw ValidationError("--dim, --buckets, --word-ngrams, --minn and --maxn: \(problem).") }
        if patience != nil && valid == nil { throw ValidationError("--patience needs --valid.") }
    }

    func run() throws {
        var job = TrainJob()
        job.features = features
        job.loss = loss
        job.minCount = minCount
        job.trainer.epochs = epochs
        job.lr = lr
        job.trainer.threads = threads
        job.trainer.seed = common.seed
        job.trainer.negatives = neg
        job.trainer.patience = patience
        job.trainer.progress = isatty(2) != 0
        job.inputField = fields.inputField
        job.targetField = fields.targetField
        job.force = force
        job.basePath = base
        job.baseVectorsPath = baseVectors
        job.validPath = valid
        job.exportVectorsPath = exportVectors
        job.outputPath = output
        try job.run(ToolRun(name: "fx-train", common: common, input: input), files: input.files)
    }
}

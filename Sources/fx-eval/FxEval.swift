import ArgumentParser
import FXCore

@main
struct FxEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fx-eval",
        abstract: "Score a model on labeled pairs or text targets (BLEU, chrF), or annotate records with its predictions.",
        discussion: """
        With labeled pairs, fx-eval writes one JSON object to stdout: records, accuracy (the best label is one \
        of the targets), top_k_accuracy and precision/recall at --k, micro and macro precision, recall and F1, \
        per-label precision, recall, F1 and support, and the most frequent confusions. For a model trained on \
        fx-mask's output, accuracy and top_k_accuracy are the top-1 and top-k accuracy of the hidden word. \
        --format table prints the same for people.

        Multi-label: a label is predicted when its score reaches --threshold (default 0.5 for models trained \
        on multi-label targets; otherwise the best label alone is predicted).

        --clusters scores a grouping instead (fx-cluster's output, no model): its cluster field against the \
        target field (e.g. --target-field label), as one object with nmi (arithmetic normalisation, as \
        scikit-learn's default), ari, homogeneity, completeness, v_measure, purity, records, clusters, classes.

        --text scores generated text instead (no model): each record's "prediction" against its target field, \
        as one object with records, bleu and chrf (corpus level, as sacreBLEU 2.x by default: 13a tokens, \
        exponential smoothing; character 6-grams, beta 2), length_ratio (13a tokens) and exact_match.

        --predict streams each record back with "prediction" (the best label), "score" and, with --k above 1, \
        "top" (the k best labels and scores): the way a trained model is applied to new data. Records need only \
        the input field.
        A text-to-text model (fx-train's transformer) writes text instead: scored, one object with records, bleu, \
        chrf, length_ratio and exact_match as --text computes them; with --predict, each record back with \
        "prediction", the generated text. Sentences are decoded in batches of similar length on --threads copies \
        of the network, with each decoder layer's keys and values cached; greedy by default, --beam N keeps N \
        hypotheses and ranks the finished ones by log-probability per token. An output is at most 1.5 x its \
        source's tokens + 10.

        The text a model reads is each record's input field; a record without one (a document) is read from \
        "text", unless --input-field names the field.

        --embed streams each record back with "embedding", the model's sentence vector of its input (unit \
        length): for a pretrained BERT-family encoder the pooling its sentence-transformers config asks for (mean \
        by default), for a text-to-text model its encoder's output averaged over the tokens, for the linear model \
        its document vector. Texts are encoded in batches of similar length, packed without padding, on --threads \
        threads.

        --report FILE.html also writes the scores as one self-contained HTML page (inline SVG, nothing fetched, \
        readable offline and printable; colours from Okabe and Ito's colour-blind-safe palette and viridis). \
        Labels: accuracy and macro-F1, the confusion matrix as a heat map with labels that are confused with \
        each other side by side (average-linkage clustering of the confusion rates) and counts on hover, \
        per-label precision, recall and F1 bars with their support, and the ten most frequent confusions with \
        three example inputs each. Text to text (a text-to-text model, or --text): BLEU, chrF, a histogram of \
        each output's length over its reference's, and the five best and worst outputs by sentence chrF, \
        source, reference and prediction side by side. Clusters (--clusters): NMI, ARI and purity, cluster \
        sizes with their topic terms, the heat map of clusters against labels, and with --cluster-summary FILE \
        (fx-cluster --summary's file) a map of up to 2,000 documents on the first two principal components of \
        the vectors fx-cluster grouped, coloured and shaped by cluster. --train-log FILE (fx-train --log's \
        file) adds the learning curve: training loss and the validation score by epoch.

        A causal language model (a GGUF file of architecture llama: SmolLM2, Llama 2 and 3, TinyLlama and their \
        fine-tunes, from `make models` models/SmolLM2-135M-Instruct.Q4_1.gguf) answers conversations. Each record \
        is read in any format fx-pair writes: "messages" (OpenAI chat: the turns up to the last user turn are the \
        prompt, assistant turns after it the expected reply), "prompt" (+ "completion"), "instruction" + "input" \
        (+ "output", Alpaca), or the input field (+ the target field); --system puts a system message first where \
        a conversation has none. The conversation is rendered by the model's own chat template (from the file), \
        and the reply is decoded greedily, or sampled with --temperature, --top-k and --top-p; each record's draws \
        depend only on --seed and the record, so the output is the same with any --threads. Decoding stops at \
        the model's end-of-turn or end-of-text token, or after --max-new-tokens. With --predict each record comes \
        back with "prediction", the reply; scored, the replies against the expected ones give records, bleu, \
        chrf, length_ratio and exact_match. A record with only "text" is a document: scored, the model's \
        perplexity on it (each document alone, the loss over its tokens after the first, exp(total loss / tokens \
        predicted)) and bits_per_byte (total loss in bits over the documents' UTF-8 bytes); with --predict, its \
        continuation. Many records are decoded together: prompts sorted by length, up to 32 in flight on each \
        thread, each with its key/value cache, a finished one's place taken at once by the next. A model that \
        fx-train fine-tuned with LoRA (--base MODEL.gguf) runs the same way: its adapters are merged into the base, \
        which is found beside the model file, under models/, or with --base-model PATH, and must be the very file \
        it was trained from (same SHA-256).

        -m takes fx's model files, GGUF causal language models and Hugging Face BERT-family folders (config.json, vocab.txt, \
        model.safetensors, e.g. all-MiniLM-L6-v2 from `make models`), or such a model.safetensors with its \
        config.json and vocab.txt beside it. A pretrained encoder embeds (--embed); once fine-tuned by fx-train \
        --base it also scores and predicts labels, like the linear model.

        Examples (from the root of fx's source, whose examples/ folder holds the data):
          fx-pair examples/debian-sections.tar.gz | fx-train -o /tmp/eval-demo.fxm -q
          fx-pair examples/debian-sections.tar.gz | fx-eval -m /tmp/eval-demo.fxm --k 3
          fx-pair examples/debian-sections.tar.gz | fx-eval -m /tmp/eval-demo.fxm --format table
          fx-eval -m /tmp/eval-demo.fxm --predict --input-field text --k 2 examples/descriptions.jsonl
          fx-cluster -k 6 examples/descriptions.jsonl -q | fx-eval --clusters --target-field label
          fx-pair --parallel en,fr examples/descriptions.en examples/descriptions.fr | head -500 | fx-train --dim 32 --ff 64 --layers 1 --vocab-size 1000 --epochs 1 -o /tmp/en-fr.fxm -q
          fx-pair --parallel en,fr examples/descriptions.en examples/descriptions.fr | tail -20 | fx-eval -m /tmp/en-fr.fxm --beam 2
          head -3 examples/descriptions.jsonl | fx-eval -m models/all-MiniLM-L6-v2 --embed
          fx-pair examples/debian-sections.tar.gz | fx-eval -m /tmp/eval-demo.fxm --report /tmp/sections.html
          fx-cluster -k 6 examples/descriptions.jsonl --summary /tmp/summary.jsonl -q | fx-eval --clusters --target-field label --report /tmp/clusters.html --cluster-summary /tmp/summary.jsonl
          echo '{"input": "What is the capital of France?"}' | fx-eval -m models/SmolLM2-135M-Instruct.Q4_1.gguf --predict --max-new-tokens 32
          head -2 examples/descriptions.jsonl | fx-pair --input-field text --target-field label --format openai --prompt 'Which Debian section does this package belong to? {input}' | fx-eval -m models/SmolLM2-135M-Instruct.Q4_1.gguf --predict --max-new-tokens 16
          head -20 examples/descriptions.jsonl | fx-eval -m models/SmolLM2-135M-Instruct.Q4_1.gguf
        """
    )

    @OptionGroup(title: "Inputs") var input: InputOptions
    @OptionGroup(title: "Common options") var common: CommonOptions

    @Option(name: [.short, .customLong("model")], help: ArgumentHelp("The model to apply: an fx model file, a GGUF causal language model, or a Hugging Face BERT-family folder (config.json, vocab.txt, model.safetensors).", valueName: "file|folder"))
    var model = "model.fxm"

    @Option(help: ArgumentHelp("How many best labels count for top-k, P@k, R@k, and --predict's top (causal language models: the k most likely first tokens of the reply, with their logits).", valueName: "k"))
    var k = 1

    @Option(help: ArgumentHelp("Multi-label: predict every label scoring at least this.", valueName: "score"))
    var threshold: Double?

    @Flag(help: "Write each record back with its prediction instead of scoring.")
    var predict = false

    @Flag(help: "Score fx-cluster's output: its cluster field against the target field (no model).")
    var clusters = false

    @Flag(help: "Score generated text: the prediction field against the target field, BLEU and chrF (no model).")
    var text = false

    @Option(help: ArgumentHelp("Text-to-text models: hypotheses kept by beam search, ranked by log-probability per token (1: greedy decoding).", valueName: "n"))
    var beam = 1

    @Option(help: ArgumentHelp("Causal language models: a system message put first in every conversation that has none.", valueName: "text"))
    var system: String?

    @Option(name: .customLong("max-new-tokens"), help: ArgumentHelp("Causal language models: the most tokens of a reply.", valueName: "n"))
    var maxNewTokens = 256

    @Option(help: ArgumentHelp("Causal language models: sample replies at this temperature (0: greedy decoding).", valueName: "t"))
    var temperature: Double = 0

    @Option(name: .customLong("top-k"), help: ArgumentHelp("Causal language models, sampling: draw from the k most likely tokens only (0: all).", valueName: "k"))
    var topK = 0

    @Option(name: .customLong("top-p"), help: ArgumentHelp("Causal language models, sampling: draw from the most likely tokens whose probabilities add up to p.", valueName: "p"))
    var topP: Double = 1

    @Flag(name: .customLong("token-ids"), help: "Causal language models, --predict: also write \"token_ids\", the reply's token ids.")
    var tokenIDs = false

    @Option(name: .customLong("base-model"), help: ArgumentHelp("Causal language models fine-tuned by fx-train: the base GGUF, when it is not beside the model or under models/.", valueName: "file.gguf"))
    var baseModel: String?

    @Flag(help: "Write each record back with \"embedding\", the model's sentence vector of its input (or of its text, for a record without input), instead of scoring.")
    var embed = false

    @Option(help: ArgumentHelp("Also write the scores as a self-contained HTML page with charts.", valueName: "file.html"))
    var report: String?

    @Option(name: .customLong("train-log"), help: ArgumentHelp("With --report: draw the learning curve of this fx-train --log file.", valueName: "file"))
    var trainLog: String?

    @Option(name: .customLong("cluster-summary"), help: ArgumentHelp("With --clusters --report: fx-cluster --summary's file, for the topic terms and the map of the documents.", valueName: "file"))
    var clusterSummary: String?

    @Option(help: ArgumentHelp("json (one object) or table (for people).", valueName: "json|table"))
    var format = "json"

    @OptionGroup(title: "Fields") var fields: PairFieldOptions

    @OptionGroup(title: "Threads") var threads: ThreadOptions

    func validate() throws {
        guard k >= 1, beam >= 1 else { throw ValidationError("--k and --beam must be at least 1.") }
        guard maxNewTokens >= 0, topK >= 0, temperature >= 0, temperature.isFinite, topP > 0 && topP <= 1 else {
            throw ValidationError("--max-new-tokens, --top-k and --temperature take numbers from 0, --top-p a number above 0 up to 1.")
        }
        guard format == "json" || format == "table" else { throw ValidationError("--format takes json or table.") }
        if let threshold, !(threshold >= 0 && threshold <= 1) { throw ValidationError("--threshold takes a score from 0 to 1.") }
        if [clusters, predict, text, embed].filter({ $0 }).count > 1 { throw ValidationError("--clusters, --text, --predict and --embed do not go together.") }
        if report != nil && (predict || embed) { throw ValidationError("--report draws scores: --predict and --embed write records instead.") }
        if report == nil && (trainLog != nil || clusterSummary != nil) { throw ValidationError("--train-log and --cluster-summary go into a --report.") }
        if clusterSummary != nil && !clusters { throw ValidationError("--cluster-summary is for --clusters.") }
    }

    func run() throws {
        var job = EvalJob()
        job.modelPath = model
        job.k = k
        job.threshold = threshold
        job.predict = predict
        job.clusters = clusters
        job.text = text
        job.table = format == "table"
        job.inputField = fields.inputField
        job.inputFallback = fields.inputFieldGiven == nil ? "text" : nil
        job.targetField = fields.targetField
        job.threads = threads.threads
        job.beam = beam
        job.embed = embed
        job.reportPath = report
        job.trainLogPath = trainLog
        job.clusterSummaryPath = clusterSummary
        job.system = system
        job.tokenIDs = tokenIDs
        job.baseModel = baseModel
        job.sampling.maxNewTokens = maxNewTokens
        job.sampling.temperature = temperature
        job.sampling.topK = topK
        job.sampling.topP = topP
        job.sampling.seed = common.seed
        try job.run(ToolRun(name: "fx-eval", common: common, input: input), files: input.files)
    }
}

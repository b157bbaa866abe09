import ArgumentParser
import FXCore

@main
struct FxMask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fx-mask",
        abstract: "Make self-supervised examples from unlabeled text: hide words or spans, keep them as targets.",
        discussion: """
        fx-mask reads documents (the text field of JSON Lines records, or anything fx reads: archives, folders, \
        plain text) and writes {"input", "target"} pairs whose target comes from the text itself, so that \
        fx-mask | fx-train is self-supervised training. Texts are split by fx's shared tokenizer and written with \
        its spacing (tokens joined by single spaces). Fields other than the text pass through.

        --mode token (BERT): --rate of the words are selected (punctuation only with --mask-punct); of those, \
        80% become --mask-token, 10% a random other word, 10% stay as they were (--replace). Each selected word \
        gives one record {"input": the text with that word replaced, "target": the word, "position": its token \
        index}; with --joint each document gives one record with all its selected words replaced, "target" the \
        list of words and "positions" their indexes. A document always keeps at least one word as it was, and \
        one of two words or more always has at least one selected, even where none was drawn at the rate \
        (short texts would otherwise drop out; the summary counts them).

        --mode span (T5 span corruption): round(--rate x tokens) tokens in spans of mean length --mean-span are \
        each replaced by a sentinel <extra_id_0>, <extra_id_1>, ...; the target is each sentinel followed by its \
        span, closed by one more sentinel: "Thank you <extra_id_0> me to your party <extra_id_1> week ." -> \
        "<extra_id_0> for inviting <extra_id_1> last <extra_id_2>".

        --mode next (causal): for each word after --min-context tokens, {"input": up to --window preceding \
        tokens, "target": the word}; --stride N keeps every N-th.

        In token and span modes a document longer than --max-words words (512, BERT's and T5's sequence length) \
        is masked in consecutive pieces of at most that many words, each an example of its own, so that the \
        output grows with the input's length and not with its square (one record per selected word would \
        repeat a 30 MB document 900,000 times); --max-words 0 masks whole documents.

        Every random choice for a document derives from --seed, the document's own text and the copy number \
        (--copies), and the random words come from the document itself or from --vocab: a corpus split into \
        parts, masked part by part and concatenated gives the same bytes as masked whole. A summary with the \
        shares of selected, masked, random and unchanged words goes to stderr (-q silences it).

        Examples (from the root of fx's source, whose examples/ folder holds the data):
          fx-mask examples/descriptions.jsonl --seed 1 | head -3
          fx-mask --mode span --rate 0.15 --mean-span 3 examples/descriptions.jsonl
          fx-mask --mode next --window 8 --stride 4 examples/debian-sections.tar.gz
          fx-mask --joint --copies 2 --lowercase examples/descriptions.jsonl
        """
    )

    @OptionGroup(title: "Inputs") var input: InputOptions
    @OptionGroup(title: "Common options") var common: CommonOptions

    @Option(help: ArgumentHelp("What to hide: token (BERT), span (T5) or next (causal).", valueName: "token|span|next"))
    var mode: Masker.Mode = .token

    @Option(help: ArgumentHelp("The share of words (token) or tokens (span) hidden.", valueName: "fraction"))
    var rate = 0.15

    @Option(name: .customLong("mask-token"), help: ArgumentHelp("The word that replaces a masked word.", valueName: "text"))
    var maskToken = "[MASK]"

    @Option(help: ArgumentHelp("Shares of selected words that are masked, replaced by a random word, or kept.", valueName: "mask,random,keep"))
    var replace = "0.8,0.1,0.1"

    @Flag(name: .customLong("mask-punct"), help: "Punctuation may be selected too (and be a next-word target).")
    var maskPunct = false

    @Flag(help: "One record per document with all its selected words, instead of one per word.")
    var joint = false

    @Option(name: .customLong("mean-span"), help: ArgumentHelp("Span mode: the mean span length, in tokens.", valueName: "n"))
    var meanSpan = 3.0

    @Option(name: .customLong("min-context"), help: ArgumentHelp("Next mode: tokens before the first target.", valueName: "n"))
    var minContext = 1

    @Option(help: ArgumentHelp("Next mode: at most this many preceding tokens as input.", valueName: "n"))
    var window = 16

    @Option(help: ArgumentHelp("Next mode: keep every N-th target word.", valueName: "n"))
    var stride = 1

    @Option(help: ArgumentHelp("Independently masked versions of each document (dynamic masking).", valueName: "k"))
    var copies = 1

    @Option(name: .customLong("min-words"), help: ArgumentHelp("Pass over documents with fewer words.", valueName: "n"))
    var minWords = 2

    @Option(name: .customLong("max-words"), help: ArgumentHelp("Token and span modes: mask longer documents in pieces of at most this many words (0: whole documents).", valueName: "n"))
    var maxWords = 512

    @Option(help: ArgumentHelp("Draw random replacement words from this list (a word per line, or a .vec file) instead of the document.", valueName: "file"))
    var vocab: String?

    @OptionGroup(title: "Fields") var fields: TextFieldOptions

    @OptionGroup(title: "Threads") var threads: ThreadOptions

    @Flag(help: "Lowercase words before masking.")
    var lowercase = false

    func validate() throws {
        guard rate > 0 && rate < 1 else { throw ValidationError("--rate takes a fraction between 0 and 1.") }
        guard let shares = replaceShares, shares.allSatisfy({ $0 >= 0 }), abs(shares.reduce(0, +) - 1) < 1e-6 else {
            throw ValidationError("--replace takes three shares that add up to 1, e.g. 0.8,0.1,0.1.")
        }
        guard meanSpan >= 1 else { throw ValidationError("--mean-span must be at least 1.") }
        guard window >= 1, stride >= 1, copies >= 1, minContext >= 0, minWords >= 0, maxWords >= 0 else {
            throw ValidationError("--window, --stride and --copies must be at least 1; --min-context, --min-words and --max-words at least 0.")
        }
    }

    private var replaceShares: [Double]? {
        let parts = replace.split(separator: ",").map { Double($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.map { $0! }
    }

    func run() throws {
        var settings = Masker.Settings()
        settings.mode = mode
        settings.rate = rate
        settings.maskToken = maskToken
        let shares = replaceShares!
        settings.replace = (shares[0], shares[1], shares[2])
        settings.maskPunctuation = maskPunct
        settings.joint = joint
        settings.meanSpan = meanSpan
        settings.minContext = minContext
        settings.window = window
        settings.stride = stride
        settings.copies = copies
        settings.minWords = minWords
        settings.maxWords = maxWords
        settings.textField = fields.textField
        settings.lowercase = lowercase
        settings.seed = common.seed
        let tool = ToolRun(name: "fx-mask", common: common, input: input)
        try tool.run {
            if let vocab { settings.vocabulary = try Masker.loadVocabulary(vocab) }
            try tool.summary(Masker.run(settings, tool, files: input.files, threads: threads.threads))
        }
    }
}

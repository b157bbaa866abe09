import ArgumentParser
import FXCore

@main
struct FxPair: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fx-pair",
        abstract: "Turn raw data into labeled {\"input\", \"target\"} pairs for supervised fine-tuning.",
        discussion: """
        fx-pair reads JSON Lines, archives (tar, zip, 7z, ar/.deb, cpio, iso, any of them compressed with gzip, \
        bzip2, xz, zstd or lz4), folders and text files, detected by content, and writes one pair per line to stdout.

        Folder as label: each text file in an archive or folder becomes {"input": its text, "target": the name \
        of the folder that directly holds it, "path": its path}. --label-depth N takes the N-th folder from the \
        top instead. A file at the top level has no label and is a data error.

        Parallel text: with --parallel en,fr, files that share a stem and differ in the suffix (desc.en, desc.fr) \
        or the same file under folders en/ and fr/ are aligned line by line: {"input": English line, \
        "target": French line, "path", "line"}. Lines blank on either side are passed over; files of different \
        lengths are a data error naming both.

        Tables: .csv and .tsv files (or any text with --table) are read with RFC 4180 quoting; the first row is \
        the header. --input-column and --target-column pick columns by header name or number (from 1); by \
        default the column named input or text, else the first, and the column named target or label, else the \
        second. Other columns pass through as string fields.

        JSON Lines: --input-field and --target-field are renamed to input and target; other fields pass through \
        unchanged and in order. A target is a string or an array of strings (multi-label); a number or boolean \
        becomes its text.

        --holdout adds "split": "train" or "test" from a stable hash of the input text and --seed, so duplicates \
        always fall in the same split and the split does not depend on the order or the splitting of the input. \
        --format writes the pairs for other trainers; fields other than input and target pass through in every \
        format.

        Binary members are skipped and counted on stderr. Exit status: 0 success, 1 bad input data, 64 usage \
        error, 74 I/O error (missing file, unreadable archive). A closed stdout (| head) ends fx-pair quietly \
        with 0.

        Examples (from the root of fx's source, whose examples/ folder holds the data):
          fx-pair examples/debian-sections.tar.gz --holdout 0.1 --stats
          fx-pair --parallel en,fr examples/descriptions.en examples/descriptions.fr --format translation
          fx-pair --input-field text --target-field label < examples/descriptions.jsonl
          fx-pair examples/descriptions.csv --input-column description --target-column section --format openai
        """
    )

    @OptionGroup(title: "Inputs") var input: InputOptions
    @OptionGroup(title: "Common options") var common: CommonOptions

    @OptionGroup(title: "Fields") var fields: PairFieldOptions

    @OptionGroup(title: "Threads") var threads: ThreadOptions

    @Option(name: .customLong("label-depth"), help: ArgumentHelp("Folder as label: take the N-th folder from the top instead of the one holding the file.", valueName: "n"))
    var labelDepth: Int?

    @Option(help: ArgumentHelp("Align parallel text: the source and target language suffixes or folder names.", valueName: "src,tgt"))
    var parallel: String?

    @Option(name: .customLong("input-column"), help: ArgumentHelp("Tables: the input column, by header name or number from 1.", valueName: "column"))
    var inputColumn: String?

    @Option(name: .customLong("target-column"), help: ArgumentHelp("Tables: the target column, by header name or number from 1.", valueName: "column"))
    var targetColumn: String?

    @Option(help: ArgumentHelp("Read every text input as a table of this kind, whatever its name (needed for stdin).", valueName: "csv|tsv"))
    var table: String?

    @Flag(name: .customLong("no-header"), help: "Tables have no header row; columns are named column1, column2, ...")
    var noHeader = false

    @Option(help: ArgumentHelp("Add \"split\": \"test\" to this fraction of pairs and \"train\" to the rest.", valueName: "fraction"))
    var holdout: Double?

    @Flag(help: "Drop pairs whose input and target both repeat an earlier pair.")
    var dedupe = false

    @Flag(help: "Print counts per target, empty and duplicate inputs to stderr.")
    var stats = false

    @Option(help: ArgumentHelp("Output shape: fx, openai, prompt-completion, alpaca or translation.", valueName: "fx|openai|prompt-completion|alpaca|translation"))
    var format: PairFormat = .fx

    @Option(help: ArgumentHelp("--format openai: a system message put first in every conversation.", valueName: "text"))
    var system: String?

    @Option(help: ArgumentHelp("Rewrite each input into this text, {input} standing for it; \\n and \\t are a newline and a tab (e.g. 'Translate into French: {input}').", valueName: "template"))
    var prompt: String?

    @Option(help: ArgumentHelp("--format alpaca: the instruction of every example.", valueName: "text"))
    var instruction: String?

    @Option(help: ArgumentHelp("--format translation: the two language codes, when --parallel does not give them.", valueName: "src,tgt"))
    var languages: String?

    func validate() throws {
        if let holdout, !(holdout >= 0 && holdout <= 1) { throw ValidationError("--holdout takes a fraction from 0 to 1.") }
        if let labelDepth, labelDepth < 1 { throw ValidationError("--label-depth counts from 1.") }
        if let parallel, languagePair(parallel) == nil { throw ValidationError("--parallel takes two different names: SRC,TGT (e.g. en,fr).") }
        if let languages, languagePair(languages) == nil { throw ValidationError("--languages takes two different names: SRC,TGT (e.g. en,fr).") }
        if let table, table != "csv" && table != "tsv" { throw ValidationError("--table takes csv or tsv.") }
        if let prompt, PairFormat.promptTemplate(prompt) == nil { throw ValidationError("--prompt takes a template holding {input}, e.g. 'Translate into French: {input}'.") }
        if prompt != nil && format == .translation { throw ValidationError("--prompt rewrites the input of a conversation or a pair; --format translation keeps the source text as it is.") }
    }

    private func languagePair(_ text: String) -> (String, String)? {
        let parts = text.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0] != parts[1] else { return nil }
        return (parts[0], parts[1])
    }

    func run() throws {
        var job = PairingJob()
        job.source.inputField = fields.inputField
        job.source.targetField = fields.targetField
        job.source.labelDepth = labelDepth
        job.source.inputColumn = inputColumn.map(PairSource.Column.init)
        job.source.targetColumn = targetColumn.map(PairSource.Column.init)
        job.source.tableHeader = !noHeader
        job.parallel = parallel.flatMap(languagePair).map { (source: $0.0, target: $0.1) }
        job.tableDelimiter = table.map { $0 == "tsv" ? 0x09 : UInt8(ascii: ",") }
        job.threads = threads.threads
        job.writer.holdout = holdout
        job.writer.dedupe = dedupe
        job.writer.stats = stats
        job.writer.seed = common.seed
        job.writer.format = format
        job.writer.formatSettings.system = system
        job.writer.formatSettings.instruction = instruction
        job.writer.formatSettings.prompt = prompt.flatMap(PairFormat.promptTemplate)
        if let pair = (languages ?? parallel).flatMap(languagePair) { job.writer.formatSettings.languages = pair }
        try job.run(ToolRun(name: "fx-pair", common: common, input: input), files: input.files)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}

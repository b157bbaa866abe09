import ArgumentParser

// FXCore's choices as command-line values; the rest of FXCore does not depend on ArgumentParser (make fuzz
// compiles it without).
extension ErrorPolicy.Mode: ExpressibleByArgument {}
extension PairFormat: ExpressibleByArgument {}
extension Masker.Mode: ExpressibleByArgument {}
extension Loss: ExpressibleByArgument {}
extension TrainJob.Architecture: ExpressibleByArgument {}

/// Options every fx tool takes.
public struct CommonOptions: ParsableArguments {
    /// What a bad record does to the run.
    @Option(name: .customLong("on-error"),
            help: ArgumentHelp("What a bad record does: 'fail' stops at the first with its place, 'skip' reports each, goes on, and exits 1 at the end.", valueName: "fail|skip"))
    public var onError: ErrorPolicy.Mode = .fail

    /// Silences summaries and warnings on stderr (errors are still reported).
    @Flag(name: [.short, .long], help: "Print no summary, warning or progress on stderr; errors are still reported.")
    public var quiet = false

    /// The seed every random choice derives from.
    @Option(help: ArgumentHelp("Seed for every random choice; the same seed and input give the same output.", valueName: "n"))
    public var seed: UInt64 = 0

    public init() {}
}

/// Where records come from: files, archives, folders, or stdin.
public struct InputOptions: ParsableArguments {
    /// The inputs, read in order; none, or `-`, is stdin.
    @Argument(help: ArgumentHelp("JSON Lines, archives (tar, zip, 7z, ar/.deb, cpio, iso; gzip, bzip2, xz, zstd, lz4), folders or text files; stdin when none or '-'.", valueName: "file"))
    public var files: [String] = []

    /// Plain text gives one document per line.
    @Flag(help: "Take plain text one document per line instead of one per file.")
    public var lines = false

    /// Every input is JSON Lines, whatever it starts with.
    @Flag(help: "Read every input as JSON Lines, whatever its first bytes: a line that is not a JSON object is a bad record (for a stream cut into pieces, as examples/spark/fx_spark.py cuts it).")
    public var jsonl = false

    /// The largest archive member or text file that is read whole.
    @Option(name: .customLong("max-member-bytes"), help: ArgumentHelp("A text member or file larger than this is a data error, not an out-of-memory.", valueName: "bytes"))
    public var maxMemberBytes: Int = 64 << 20

    public init() {}

    public func validate() throws {
        if maxMemberBytes <= 0 { throw ValidationError("--max-member-bytes must be positive.") }
        if jsonl && lines { throw ValidationError("--jsonl and --lines exclude each other: --lines is for plain text.") }
    }
}

/// Which field of a document record holds its text.
public struct TextFieldOptions: ParsableArguments {
    @Option(name: .customLong("text-field"), help: ArgumentHelp("The field holding the text (default: text).", valueName: "name"))
    public var textFieldGiven: String?
    public var textField: String { textFieldGiven ?? "text" }

    public init() {}
}

/// How many threads the per-record work of a streaming tool runs on.
public struct ThreadOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Threads for the per-record work (default: all cores); records are written in input order, the same bytes with any number.", valueName: "n"))
    public var threads = processorCount

    public init() {}

    public func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1.") }
    }
}

/// The cores of this machine: the default for every --threads.
public let processorCount = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))

#if canImport(Glibc)
import Glibc
#endif

/// Which fields of a pair record hold the input and the target (fx-pair renames them to `input` and `target`).
public struct PairFieldOptions: ParsableArguments {
    @Option(name: .customLong("input-field"), help: ArgumentHelp("The field holding the input text (default: input).", valueName: "name"))
    public var inputFieldGiven: String?
    public var inputField: String { inputFieldGiven ?? "input" }

    @Option(name: .customLong("target-field"), help: ArgumentHelp("The field holding the target: a label, an array of labels, or text.", valueName: "name"))
    public var targetField = "target"

    public init() {}
}

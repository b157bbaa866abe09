#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// fx-train --log: one JSON record per epoch (or per evaluation), written and flushed as training goes, so that a
/// run can be watched (`tail -f`) and drawn (`fx-eval --report --train-log`).
///
/// Each record: `epoch` (a fraction when a time budget stopped the run inside one), `loss` (the mean training loss
/// over the epoch), `lr` (the learning rate at its end), `valid_accuracy` or `valid_bleu` when there is a
/// validation set, `examples_per_s` or `tokens_per_s`, `elapsed` (seconds since training began), and `stage` for
/// a run in stages (fine-tuning's probe, then full).
public final class TrainingLog {
    private let output: Output
    private let fd: Int32
    private let start = monotonicSeconds()
    /// Added to every record (e.g. "stage").
    public var stage: String?

    public init(path: String) throws {
        try AtomicFile.checkWritable(path)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw FXError.io(errnoText(), at: path) }
        output = Output(fd: fd, name: path)
    }

    deinit { close(fd) }

    /// One record; `speed` is ("examples_per_s" or "tokens_per_s", its value); `valid` ("valid_accuracy" or "valid_bleu", its value).
    public func epoch(_ epoch: Double, loss: Double, lr: Double, speed: (String, Double), valid: (String, Double)? = nil) {
        var members = [JSONMember("epoch", JSONValue(rounded(epoch))), JSONMember("loss", JSONValue(rounded(loss))),
                       JSONMember("lr", JSONValue(Double(String(Float(lr))) ?? lr))]
        if let valid { members.append(JSONMember(valid.0, JSONValue(rounded(valid.1)))) }
        members.append(JSONMember(speed.0, JSONValue(speed.1.rounded())))
        members.append(JSONMember("elapsed", JSONValue((( monotonicSeconds() - start) * 1000).rounded() / 1000)))
        if let stage { members.append(JSONMember("stage", .string(stage))) }
        // A full disk must not stop training: the model matters more than its log.
        try? output.append { JSONValue.object(members).encode(into: &$0); $0.append(0x0A) }
        try? output.flush()
    }
}

/// One epoch's mean loss and speed, for the training log.
struct EpochMeter {
    private var loss = 0.0, steps = 0, items = 0
    private var start = monotonicSeconds()

    mutating func add(loss value: Float, items n: Int) {
        loss += Double(value)
        steps += 1
        items += n
    }

    /// The epoch's mean loss and items per second; starts the next epoch.
    mutating func finish() -> (loss: Double, rate: Double) {
        defer { self = EpochMeter() }
        return (steps == 0 ? .nan : loss / Double(steps), Double(items) / max(monotonicSeconds() - start, 1e-9))
    }
}

/// A transformer's progress line on stderr, at most twice a second: step, epoch, speed, the recent loss, the
/// learning rate, the validation status and the time left (within --max-time).
struct StepProgress {
    let started: Double, epochs: Int, maxTime: Double?
    private var last = 0.0

    init(started: Double, epochs: Int, maxTime: Double?) {
        (self.started, self.epochs, self.maxTime) = (started, epochs, maxTime)
    }

    /// `epoch`: epochs done, with the fraction of the current one; `count` of `unit` (tokens, examples) so far.
    mutating func show(step: Int, epoch: Double, count: Int, unit: String, loss: Float, lr: Float, status: String) {
        let now = monotonicSeconds()
        guard now - last >= 0.5 else { return }
        last = now
        let elapsed = now - started
        var eta = elapsed / max(epoch / Double(max(epochs, 1)), 1e-9) - elapsed
        if let maxTime { eta = min(eta, maxTime - elapsed) }
        printProgressLine("step \(step) epoch \(String(format1: epoch)) \(Int(Double(count) / max(elapsed, 1e-9))) \(unit)/s loss \(loss) lr \(lr)\(status) ETA \(clock(eta))")
    }
}

/// h:mm:ss or m:ss.
func clock(_ seconds: Double) -> String {
    let s = max(0, Int(seconds.rounded()))
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return s >= 3600 ? "\(s / 3600):\(two(s / 60 % 60)):\(two(s % 60))" : "\(s / 60):\(two(s % 60))"
}

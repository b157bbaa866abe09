import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Per-record work on several threads, written in input order: stdout, stderr and the exit status are those of
/// one thread.
///
/// The reading thread gathers items into chunks; each chunk goes to one of `threads` workers, which writes its
/// items' output into a buffer of its own (`Output.memory`, reused: a worker's next chunk is submitted only
/// after its last one was written out); the chunks are then copied to the real output in the
/// order they were read, while the next ones are being read and worked on. A data error, whether the reader met
/// it (bad JSON) or a worker did (a missing field), takes its place in that order: it goes through the error
/// policy after the output of every item before it, so `--on-error fail` stops there and `skip` reports it there.
public final class OrderedParallel<Worker> {
    public let threads: Int
    private let output: Output
    private let policy: ErrorPolicy
    private let buffers: [Output]
    /// One per thread, each used by one chunk at a time.
    public let workers: [Worker]
    /// Items (or bytes of them) in a chunk.
    static var chunkItems: Int { 512 }
    static var chunkBytes: Int { 256 << 10 }

    /// `make` builds the worker of one thread, given the buffer it must write to (with one thread, the output
    /// itself: items are then worked on as they are read, with no chunks).
    public init(threads: Int, output: Output, policy: ErrorPolicy, make: (Output) throws -> Worker) rethrows {
        self.threads = max(1, threads)
        self.output = output
        self.policy = policy
        buffers = threads <= 1 ? [output] : (0..<threads).map { _ in Output.memory() }
        workers = try buffers.map(make)
    }

    private final class Chunk {
        enum Entry {
            case item(InputItem, place: String)
            /// A line of JSON Lines, `text[range]`, that the worker parses: the reading thread only finds lines.
            case line(Range<Int>, name: String, number: Int)
            /// A data error the reader met here, under `--on-error skip`.
            case failure(FXError)
        }
        var entries: [Entry] = []
        var bytes = 0
        /// The lines' bytes, one after another.
        var text: [UInt8] = []
        /// After the work: each data error, and how many output bytes came before it.
        var failures: [(offset: Int, error: FXError)] = []
        /// The worker's buffer, holding the chunk's output until it is copied out.
        var buffer: Output?
        var stop: Error?
        let done = DispatchGroup()
    }

    /// Which chunk each worker thread is on.
    private final class Working: @unchecked Sendable {
        private let lock = DispatchSemaphore(value: 1)
        private var chunks: [pthread_t: (Chunk, Output)] = [:]
        /// The calling thread's chunk and buffer.
        var mine: (Chunk, Output)? {
            get { lock.wait(); defer { lock.signal() }; return chunks[pthread_self()] }
            set { lock.wait(); defer { lock.signal() }; chunks[pthread_self()] = newValue }
        }
    }

    /// Reads every record of `files` (documents as `{"path", "text"}`) and calls `body` with the worker of the
    /// thread it runs on.
    public func forEachRecord(_ inputs: InputReader, _ files: [String], _ body: @escaping (Worker, inout Record) throws -> Void) throws {
        try forEach(inputs, files) { worker, item, _ in
            var record = item.record
            try body(worker, &record)
        }
    }

    /// Reads every item of `files` and calls `body` with the worker of the thread it runs on, the item and its place.
    public func forEach(_ inputs: InputReader, _ files: [String], _ body: @escaping (Worker, InputItem, String) throws -> Void) throws {
        if threads == 1 {
            let worker = workers[0]
            try inputs.forEach(files) { item, place in try body(worker, item, place) }
            return
        }
        var pending: [Chunk] = []  // submitted, oldest first; chunk i ran on worker i % threads
        var submitted = 0
        var current = Chunk()
        // Data errors the policy is asked about under skip: on the reading thread they join the chunk being
        // filled; on a worker (fx-pair's table rows), that worker's chunk at its current output position.
        let reader = pthread_self()
        let working = Working()
        policy.deferred = { error in
            if pthread_equal(pthread_self(), reader) != 0 {
                current.entries.append(.failure(error))
            } else if let (chunk, buffer) = working.mine {
                chunk.failures.append((buffer.pending, error))
            }
        }
        defer {
            policy.deferred = nil
            for chunk in pending { chunk.done.wait() }
        }

        // Set when writing a chunk out ended the run (its item's error under --on-error fail, a closed pipe): no
        // chunk after it may be written. The error can reach the reader's catch below, through `submit`.
        var stopped = false
        func writeOldest() throws {
            let chunk = pending.removeFirst()
            chunk.done.wait()
            var from = 0
            let buffer = chunk.buffer!
            defer { buffer.discardPending() }
            do {
                for failure in chunk.failures {
                    try buffer.copyPending(from..<failure.offset, to: output)
                    from = failure.offset
                    try policy.report(failure.error)
                }
                try buffer.copyPending(from..<buffer.pending, to: output)
                if let stop = chunk.stop { throw stop }
            } catch {
                stopped = true
                throw error
            }
        }
        func submit() throws {
            guard !current.entries.isEmpty else { return }
            if pending.count == threads { try writeOldest() }
            let chunk = current, slot = submitted % threads
            current = Chunk()
            submitted += 1
            pending.append(chunk)
            let worker = workers[slot], buffer = buffers[slot]
            let shared = Shared((chunk: chunk, buffer: buffer, worker: worker, body: body))
            DispatchQueue.global().async(group: chunk.done) {
                let (chunk, buffer, worker, body) = shared.value
                working.mine = (chunk, buffer)
                func work(_ place: String, _ item: () throws -> InputItem) {
                    do {
                        try body(worker, item(), place)
                    } catch let error as FXError where error.kind == .data {
                        chunk.failures.append((buffer.pending, error.placed(at: place)))
                    } catch {
                        chunk.stop = error
                    }
                }
                for entry in chunk.entries {
                    switch entry {
                    case .failure(let error):
                        chunk.failures.append((buffer.pending, error))
                    case .item(let item, let place):
                        work(place) { item }
                    case .line(let range, let name, let number):
                        work("\(name):\(number)") {
                            .record(try chunk.text.withUnsafeBufferPointer { try InputReader.parse(line: UnsafeBufferPointer(rebasing: $0[range])) })
                        }
                    }
                    if chunk.stop != nil { break }
                }
                working.mine = nil
                chunk.buffer = buffer
                chunk.entries = []
                chunk.text = []
            }
        }

        inputs.unparsedLines = { line, name, number in
            let start = current.text.count
            if start == 0 { current.text.reserveCapacity(Self.chunkBytes + line.count) }
            current.text.append(contentsOf: line)
            current.entries.append(.line(start..<current.text.count, name: name, number: number))
            current.bytes += line.count
            if current.entries.count >= Self.chunkItems || current.bytes >= Self.chunkBytes { try submit() }
        }
        defer { inputs.unparsedLines = nil }
        do {
            try inputs.forEach(files) { item, place in
                current.entries.append(.item(item, place: place))
                switch item {
                case .record(let record): current.bytes += record.byteCount
                case .document(let document): current.bytes += document.text.utf8.count
                }
                if current.entries.count >= Self.chunkItems || current.bytes >= Self.chunkBytes { try submit() }
            }
        } catch {
            // A reading error that ends the run (bad JSON under --on-error fail, a truncated archive) comes after
            // every item read before it: write those first, and let an earlier item's own error win.
            if !stopped {
                try submit()
                while !pending.isEmpty { try writeOldest() }
            }
            throw error
        }
        try submit()
        while !pending.isEmpty { try writeOldest() }
    }
}

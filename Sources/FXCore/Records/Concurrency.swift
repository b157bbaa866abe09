import Dispatch

/// Values that fx's worker threads share by design, outside the compiler's data-race checks.
///
/// fx's parallel loops give each thread its own slots of a buffer, its own replica of a network or its own chunk
/// of records, and join before anything reads the results. The compiler cannot see that partition, so what
/// crosses into the threads (the loop's body, a chunk and its output buffer) travels in this box, and
/// `concurrently` is the one way fx runs a loop on several threads.
struct Shared<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// `body(i)` for every i in 0..<iterations, on up to that many threads; returns when all are done.
func concurrently(_ iterations: Int, _ body: (Int) -> Void) {
    if iterations == 1 { body(0); return }
    withoutActuallyEscaping(body) { body in
        let shared = Shared(body)
        DispatchQueue.concurrentPerform(iterations: iterations) { shared.value($0) }
    }
}

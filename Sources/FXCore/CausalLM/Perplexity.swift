import COpenBLAS
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// How well a causal language model predicts documents: the negative log-likelihood of each token given those
/// before it, as transformers computes the loss with `labels = input_ids` (every token after the first).
public struct DocumentLoss: Sendable {
    /// Summed over the predicted tokens, in nats.
    public var nats: Double = 0
    public var predicted = 0

    public init() {}
}

extension LlamaModel {
    /// Each document's loss (tokens beyond the model's context are left out). Documents are dealt to `threads`
    /// workers; each runs a document through the network in pieces of at most `chunk` tokens, the key/value cache
    /// carrying the earlier pieces, so the logits held at once stay small.
    public func documentLosses(_ documents: [[Int32]], threads: Int, chunk: Int = 512) -> [DocumentLoss] {
        var losses = [DocumentLoss](repeating: DocumentLoss(), count: documents.count)
        let workers = max(1, min(threads, documents.count))
        openblas_set_num_threads(Int32(workers == 1 ? threads : 1))
        let lock = WorkerLock()
        concurrently(workers) { w in
            var mine: [(Int, DocumentLoss)] = []
            for d in stride(from: w, to: documents.count, by: workers) {
                mine.append((d, documentLoss(Array(documents[d].prefix(config.context)), chunk: chunk)))
            }
            lock.locked { for (d, loss) in mine { losses[d] = loss } }
        }
        openblas_set_num_threads(1)
        return losses
    }

    private func documentLoss(_ ids: [Int32], chunk: Int) -> DocumentLoss {
        var loss = DocumentLoss()
        guard ids.count > 1 else { return loss }
        let cache = KVCache(config, capacity: ids.count)
        let v = config.vocabulary
        var start = 0
        while start < ids.count - 1 {
            let end = min(start + chunk, ids.count - 1)
            let logits = forward([Array(ids[start..<end])], caches: [cache], rows: .all)
            logits.withUnsafeBufferPointer { lb in
                for r in 0..<(end - start) {
                    let row = lb.baseAddress! + r * v
                    var top = row[0]
                    for i in 1..<v where row[i] > top { top = row[i] }
                    var total = 0.0
                    for i in 0..<v { total += Double(exp(row[i] - top)) }
                    loss.nats += log(total) - Double(row[Int(ids[start + r + 1])] - top)
                    loss.predicted += 1
                }
            }
            start = end
        }
        return loss
    }
}

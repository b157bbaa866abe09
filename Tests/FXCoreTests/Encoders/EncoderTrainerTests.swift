import Foundation
@testable import FXCore
import Testing

/// Fine-tuning an encoder with a classification head: gradients against finite differences, and a model that
/// learns, saves and loads back to the same predictions.
@Suite struct EncoderTrainerTests {
    static func tinySettings() -> BertEncoder.Settings {
        var s = BertEncoder.Settings()
        (s.vocabulary, s.width, s.heads, s.ff, s.layers, s.maxPositions) = (30, 8, 2, 12, 2, 16)
        return s
    }

    @Test("the encoder's and the head's gradients through mean pooling match finite differences (softmax and one-vs-all)",
          arguments: [false, true])
    func gradients(multiLabel: Bool) {
        var rng = SplitMix64(seed: 5)
        let network = BertEncoder(Self.tinySettings(), seed: 2)
        let head = Linear("classifier", inputs: 8, outputs: 3, &rng)
        let classifier = EncoderClassifier(network: network, head: head, pooling: .mean, multiLabel: multiLabel, frozen: false, seed: 1)
        classifier.setTraining(false)
        let ids: [Int32] = [2, 7, 9, 3, 2, 11, 12, 13, 14, 3, 2, 20, 3]
        let lengths = [4, 6, 3]
        let labels: [[Int32]] = multiLabel ? [[0, 2], [1], []] : [[2], [0], [1]]
        func loss() -> Double {
            let pooled = Pooling.mean(network.forward(ids, lengths: lengths), lengths: lengths)
            return Double(classificationLoss(head.forward(pooled), labels: labels, multiLabel: multiLabel).loss)
        }
        for p in classifier.parameters { p.zeroGradient() }
        _ = classifier.lossAndGradients(ids, lengths: lengths, labels: labels)
        var checked = 0
        for p in classifier.parameters {
            // A few entries of each tensor: the words used, every layer's projections, norms and the head.
            let entries = p.value.values.indices.filter { p.gradient.values[$0] != 0 }.prefix(4)
            for i in entries {
                let keep = p.value.values[i]
                p.value.values[i] = keep + 1e-2
                let plus = loss()
                p.value.values[i] = keep - 1e-2
                let minus = loss()
                p.value.values[i] = keep
                let numeric = Float((plus - minus) / 2e-2), analytic = p.gradient.values[i]
                #expect(abs(numeric - analytic) / max(abs(numeric), abs(analytic), 1e-2) < 3e-2, "\(p.name)[\(i)]: \(analytic) against \(numeric)")
                checked += 1
            }
        }
        #expect(checked > 100)
    }

    @Test("a tiny encoder learns two labels, and its saved file gives the same scores after loading")
    func learnSaveLoad() throws {
        let folder = try BertTests.tinyFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let model = try EncoderModel.loadPretrained(folder)
        var rng = SplitMix64(seed: 3)
        model.head = Linear("classifier", inputs: 8, outputs: 2, &rng)
        model.labels = ["cat", "mat"]
        let texts = (0..<64).map { $0 % 2 == 0 ? "the cat sat" : "on the mat ." }
        let labels: [[Int32]] = (0..<64).map { [Int32($0 % 2)] }
        var trainer = EncoderTrainer()
        (trainer.epochs, trainer.lr, trainer.batchSize, trainer.threads) = (20, 1e-2, 8, 2)
        let report = trainer.train(model, texts: texts, labels: labels, valid: (texts, labels))
        #expect(report.validAccuracy.max() == 1)
        let before = model.classify(["the cat sat", "on the mat ."], threads: 1)
        #expect(before[0][0] > 0.5 && before[1][1] > 0.5)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fx-encoder-\(UUID().uuidString).fxm").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(path, training: [])
        guard case .encoder(let loaded) = try FXModel.load(path) else { Issue.record("not an encoder"); return }
        #expect(loaded.labels == ["cat", "mat"] && loaded.maxLength == model.maxLength)
        #expect(loaded.classify(["the cat sat", "on the mat ."], threads: 2) == before)
        #expect(loaded.embed(["the cat sat"], threads: 1) == model.embed(["the cat sat"], threads: 1))
    }
}

import Foundation
import Testing
@testable import FXCore

/// A tiny labeled set: the label is whether the text speaks of animals or of machines.
func tinyData(_ tokenizer: Tokenizer) throws -> TrainingData {
    let data = TrainingData(tokenizer: tokenizer)
    let animals = ["the cat sat on the mat", "a dog chased the cat", "birds and dogs and cats", "the horse ate hay"]
    let machines = ["the compiler built the kernel", "a fast cpu and a disk", "the kernel module compiled", "disk drivers for the cpu"]
    for _ in 0..<5 {
        for t in animals { try data.add(Record([JSONMember("input", .string(t)), JSONMember("target", .string("animal"))])) }
        for t in machines { try data.add(Record([JSONMember("input", .string(t)), JSONMember("target", .string("machine"))])) }
    }
    return data
}

/// An untrained softmax model over the tiny set: dim 8, 512 buckets, character n-grams 2 to 4.
func smallModel() throws -> (TextModel, TrainingData) {
    var settings = FeatureSettings()
    settings.dim = 8
    settings.buckets = 512
    settings.minn = 2
    settings.maxn = 4
    let data = try tinyData(settings.tokenizer)
    return (TextModel(settings: settings, loss: .softmax, words: data.words, labels: data.labels, labelCounts: data.labelCounts, seed: 2), data)
}

@Suite struct ModelTests {
    @Test("each loss learns a separable problem", arguments: Loss.allCases)
    func losses(loss: Loss) throws {
        var settings = FeatureSettings()
        settings.dim = 16
        settings.buckets = 1024
        let data = try tinyData(settings.tokenizer)
        let model = TextModel(settings: settings, loss: loss, words: data.words, labels: data.labels, labelCounts: data.labelCounts, seed: 1)
        let train = FeaturizedData(data, model: model)
        model.setInverseDocumentFrequencies(train)
        var trainer = Trainer()
        trainer.epochs = 30
        trainer.lr = 0.5
        _ = trainer.train(model, on: train, valid: nil)
        #expect(Trainer.accuracy(model, train) == 1)
        let best = model.predict(features: model.features(of: "my cat and my dog"), k: 2)
        #expect(model.labels[best[0].label] == "animal")
        #expect(best.count == 2 && best[0].score >= best[1].score)
    }

    @Test("save then load gives identical predictions, and the file is safetensors")
    func roundTrip() throws {
        let (model, data) = try smallModel()
        let train = FeaturizedData(data, model: model)
        model.setInverseDocumentFrequencies(train)
        var trainer = Trainer()
        trainer.epochs = 5
        _ = trainer.train(model, on: train, valid: nil)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fx-model-\(UUID().uuidString).fxm").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(path, training: [])
        let loaded = try TextModel.load(path)
        #expect(loaded.words == model.words && loaded.labels == model.labels && loaded.settings == model.settings)
        for text in ["the cat", "kernel disk", "unknown words only", ""] {
            let a = model.predict(features: model.features(of: text), k: 2)
            let b = loaded.predict(features: loaded.features(of: text), k: 2)
            #expect(a.map(\.label) == b.map(\.label))
            for (x, y) in zip(a, b) { #expect(abs(x.score - y.score) < 1e-2) }  // float16 storage
        }
        let (tensors, metadata) = try SafeTensors.read(path)
        #expect(metadata["format"] == "fx-text-model")
        #expect(tensors["words"]?.dtype == .f16 && tensors["words"]?.shape == [model.words.count, 8])
    }

    @Test("hostile model files are data errors naming the file, never a trap or a huge allocation")
    func hostileModels() throws {
        let (model, _) = try smallModel()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fx-model-\(UUID().uuidString).fxm").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.save(path, training: [])
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        func expectDataError(_ what: String, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("\(what): accepted")
            } catch let error as FXError {
                #expect(error.kind == .data && error.place == "m.fxm", "\(what): \(error)")
            } catch {
                Issue.record("\(what): \(error)")
            }
        }
        // The header rewritten: sizes that overflow, do not fit or are not whole numbers.
        let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        func withHeader(_ text: String) -> [UInt8] {
            let h = Array(text.utf8)
            return withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h + bytes[(8 + length)...]
        }
        for (what, from, to) in [("a shape of 1e300", #""shape":["#, #""shape":[1e300,"#),
                                 ("a negative shape", #""shape":["#, #""shape":[-1,"#),
                                 ("a shape whose product overflows", #""shape":["#, #""shape":[4294967296,4294967296,"#),
                                 ("a fractional shape", #""shape":["#, #""shape":[0.5,"#),
                                 ("an offset past 2^53", #""data_offsets":["#, #""data_offsets":[1e17,"#),
                                 ("a string for an offset", #""data_offsets":["#, #""data_offsets":["x","#)] {
            let hostile = withHeader(header.replacingOccurrences(of: from, with: to))
            expectDataError(what) { _ = try SafeTensors.parse(hostile, name: "m.fxm") }
        }
        var huge = bytes
        huge.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        expectDataError("a header length of 2^64 - 1") { _ = try SafeTensors.parse(huge, name: "m.fxm") }
        // The metadata and tensors changed after parsing: settings out of range, repeated names, ids that do not
        // match their rows.
        let (tensors, metadata) = try SafeTensors.parse(bytes, name: "m.fxm")
        _ = try TextModel.load(tensors: tensors, metadata: metadata, name: "m.fxm")
        for (what, key, from, to) in [("buckets of 1e300", "settings", #""buckets":512"#, #""buckets":1e300"#),
                                      ("buckets x dim past 2^28", "settings", #""buckets":512"#, #""buckets":67108864"#),
                                      ("a dimension of 100000", "settings", #""dim":8"#, #""dim":100000"#),
                                      ("minn above maxn", "settings", #""minn":2"#, #""minn":5"#),
                                      ("repeated words", "words", #""the""#, #""a""#),
                                      ("repeated labels", "labels", #""machine""#, #""animal""#),
                                      ("negative label counts", "label_counts", "[", "[-5,")] {
            var m = metadata
            m[key] = m[key]!.replacingOccurrences(of: from, with: to)
            #expect(m[key] != metadata[key], "\(what): nothing replaced")
            expectDataError(what) { _ = try TextModel.load(tensors: tensors, metadata: m, name: "m.fxm") }
        }
        var t = tensors
        t["bucket_ids"]!.shape = [t["bucket_ids"]!.shape[0] + 1]
        expectDataError("more bucket ids than rows") { _ = try TextModel.load(tensors: t, metadata: metadata, name: "m.fxm") }
        // A cluster model whose terms repeat.
        let clusters: [String: SafeTensors.Tensor] = ["centroids": SafeTensors.Tensor([1, 0, 0, 1], shape: [2, 2]), "idf": SafeTensors.Tensor([1, 1], shape: [2])]
        expectDataError("repeated terms") {
            _ = try ClusterModel(tensors: clusters, metadata: ["format": "fx-clusters", "terms": #"["a","a"]"#], name: "m.fxm", stopWords: [])
        }
        _ = try ClusterModel(tensors: clusters, metadata: ["format": "fx-clusters", "terms": #"["a","b"]"#], name: "m.fxm", stopWords: [])
    }

    @Test("fine-tuning keeps the base's words (rescaled to a new model's length), adds new ones, and reuses the output rows of labels it knows")
    func extend() throws {
        let settings = FeatureSettings()
        let base = TextModel(settings: settings, loss: .softmax, words: ["a", "b"], labels: ["x", "y"], labelCounts: [1, 1], seed: 3)
        base.output[0] = 0.25
        base.output[settings.dim] = 0.5  // label y's first value
        let tuned = base.extend(words: ["b", "c"], labels: ["z", "y"], labelCounts: ["y": 2, "z": 1], loss: .softmax, seed: 4)
        #expect(tuned.words == ["a", "b", "c"])
        #expect(tuned.labels == ["z", "y"])
        #expect(tuned.output[0] == 0 && tuned.output[settings.dim] == 0.5)
        // The base's rows keep their directions at the length a new model's random rows start at.
        let scale = base.startingScale
        let kept = tuned.input[0..<base.input.count].elementsEqual(base.input.map { $0 * scale })
        #expect(kept)
        let words = (settings.buckets..<base.inputRows).map { r in (0..<settings.dim).reduce(Float(0)) { $0 + tuned.input[r * settings.dim + $1] * tuned.input[r * settings.dim + $1] }.squareRoot() }
        let expected = Float((Double(settings.dim) / 3).squareRoot() / Double(settings.dim))
        #expect(abs(words.reduce(0, +) / Float(words.count) - expected) < expected * 0.001)
    }

    @Test("free-text targets are recognised")
    func freeText() throws {
        let data = TrainingData(tokenizer: Tokenizer())
        for i in 0..<30 { try data.add(Record([JSONMember("input", .string("line \(i)")), JSONMember("target", .string("la ligne numéro \(i) ici"))])) }
        #expect(data.hasFreeTextTargets)
        let labels = try tinyData(Tokenizer())
        #expect(!labels.hasFreeTextTargets)
    }

    @Test("the Huffman tree gives every label a path and the best-first search finds the most likely labels")
    func tree() throws {
        var settings = FeatureSettings()
        settings.dim = 4
        settings.buckets = 16
        let model = TextModel(settings: settings, loss: .hs, words: ["w"], labels: ["a", "b", "c", "d", "e"], labelCounts: [50, 20, 10, 5, 1], seed: 5)
        #expect(model.paths.count == 5 && model.paths.allSatisfy { !$0.isEmpty })
        #expect(model.paths[0].count <= model.paths[4].count)
        for i in model.output.indices { model.output[i] = Float(i % 7) / 7 - 0.4 }
        let all = model.predict(features: [Int32(settings.buckets)], k: 5)
        #expect(abs(all.reduce(0) { $0 + $1.score } - 1) < 1e-4)
        let top2 = model.predict(features: [Int32(settings.buckets)], k: 2)
        #expect(top2.map(\.label) == Array(all.prefix(2)).map(\.label))
    }
}

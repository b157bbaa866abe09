/// Saving and loading a TextModel as safetensors: tensors `words` [words, dim], `buckets` [used, dim] with
/// `bucket_ids` [used] (hashed n-gram rows never touched in training are left out and read back as zeros),
/// `output` [rows, dim], `weights` [rows] (each row's idf weight in the average), all float16; vocabulary, labels, settings and hyper-parameters in `__metadata__`.
extension TextModel {
    public static let formatName = "fx-text-model"

    public func save(_ path: String, training: [JSONMember]) throws {
        let d = dim
        var used: [Int32] = []
        var bucketRows: [Float] = []
        for b in 0..<settings.buckets {
            let row = input[(b * d)..<((b + 1) * d)]
            if row.contains(where: { $0 != 0 }) && touched(b) {
                used.append(Int32(b))
                bucketRows.append(contentsOf: row)
            }
        }
        let wordRows = Array(input[(settings.buckets * d)...])
        let tensors: [String: SafeTensors.Tensor] = [
            "words": SafeTensors.Tensor(wordRows, shape: [words.count, d], as: .f16),
            "buckets": SafeTensors.Tensor(bucketRows, shape: [used.count, d], as: .f16),
            "bucket_ids": SafeTensors.Tensor(used, shape: [used.count]),
            "output": SafeTensors.Tensor(output, shape: [output.count / d, d], as: .f16),
            "weights": SafeTensors.Tensor(weights, shape: [weights.count], as: .f16),
        ]
        let metadata: [String: String] = [
            "format": Self.formatName,
            "version": "1",
            "loss": loss.rawValue,
            "multi_label": multiLabel ? "true" : "false",
            "settings": settings.json.jsonText,
            "words": JSONValue.array(words.map { .string($0) }).jsonText,
            "labels": JSONValue.array(labels.map { .string($0) }).jsonText,
            "label_counts": JSONValue.array(labelCounts.map { JSONValue($0) }).jsonText,
            "training": JSONValue.object(training).jsonText,
        ]
        try AtomicFile.write(path) { out in try SafeTensors.write(tensors, metadata: metadata, to: out) }
    }

    /// Bucket rows that training touched; set by the trainer, all rows when unknown.
    private func touched(_ bucket: Int) -> Bool { touchedBuckets.map { $0[bucket] } ?? true }

    public static func load(_ path: String) throws -> TextModel {
        let (tensors, metadata) = try SafeTensors.read(path)
        return try load(tensors: tensors, metadata: metadata, name: path)
    }

    /// The model in a parsed safetensors file; anything that does not fit is a data error naming the file.
    public static func load(tensors: [String: SafeTensors.Tensor], metadata: [String: String], name path: String) throws -> TextModel {
        func bad(_ why: String) -> FXError { FXError.data("not an fx model: \(why)", at: path) }
        guard metadata["format"] == formatName else { throw bad("its metadata has no format \(formatName)") }
        guard let lossName = metadata["loss"], let loss = Loss(rawValue: lossName) else { throw bad("unknown loss") }
        guard let settingsJSON = try? JSONValue(parsing: metadata["settings"] ?? "") else { throw bad("no settings") }
        let settings: FeatureSettings
        do { settings = try FeatureSettings(json: settingsJSON) } catch let error as FXError { throw bad(error.reason) }
        func strings(_ key: String) throws -> [String] {
            guard case .array(let items)? = try? JSONValue(parsing: metadata[key] ?? ""),
                  case let strings = items.compactMap(\.stringValue), strings.count == items.count, Set(strings).count == strings.count
            else { throw bad("\(key) are not a list of distinct strings") }
            return strings
        }
        let words = try strings("words"), labels = try strings("labels")
        guard !labels.isEmpty else { throw bad("no labels") }
        guard case .array(let countItems)? = try? JSONValue(parsing: metadata["label_counts"] ?? ""),
              case let counts = countItems.compactMap(\.intValue), counts.count == countItems.count, counts.allSatisfy({ $0 >= 0 })
        else { throw bad("label_counts are not counts") }
        guard let wordT = tensors["words"], let bucketT = tensors["buckets"], let idsT = tensors["bucket_ids"], let outT = tensors["output"],
              idsT.dtype == .i32, idsT.shape == [bucketT.shape.first ?? -1],
              wordT.shape == [words.count, settings.dim], bucketT.shape.count == 2, bucketT.shape[1] == settings.dim,
              outT.shape.count == 2, outT.shape[1] == settings.dim, counts.count == labels.count
        else { throw bad("tensors do not match the metadata") }
        // Rows training never touched stay zero.
        let model = TextModel(settings: settings, loss: loss, words: words, labels: labels, labelCounts: counts, seed: nil)
        model.multiLabel = metadata["multi_label"] == "true"
        let d = settings.dim
        let bucketRows = bucketT.floats
        for (k, b) in idsT.ints.enumerated() {
            guard b >= 0, Int(b) < settings.buckets else { throw bad("bucket id out of range") }
            model.input.replaceSubrange((Int(b) * d)..<((Int(b) + 1) * d), with: bucketRows[(k * d)..<((k + 1) * d)])
        }
        model.input.replaceSubrange((settings.buckets * d)..<model.input.count, with: wordT.floats)
        if let weightT = tensors["weights"] {
            let w = weightT.floats
            guard w.count == model.weights.count else { throw bad("weights do not match the rows") }
            model.weights = w
        }
        let output = outT.floats
        guard output.count == model.output.count else { throw bad("output layer does not match the labels") }
        model.output = output
        return model
    }

    /// fastText's `.vec` text format: a "COUNT DIM" line, then a word and its values per line.
    public func exportVectors(_ path: String) throws {
        try AtomicFile.write(path) { out in
            try out.write("\(words.count) \(dim)\n")
            for (id, word) in words.enumerated() {
                let row = (settings.buckets + id) * dim
                var line = word.replacingSpaces()
                for k in 0..<dim { line += " " + String(input[row + k]) }
                try out.write(line + "\n")
            }
        }
    }

    /// Reads a `.vec` file: words and their vectors (all of one length).
    public static func readVectors(_ path: String) throws -> (dim: Int, vectors: [String: [Float]]) {
        let reader = LineReader(try FileSource(path: path))
        var vectors: [String: [Float]] = [:]
        var dim = 0
        while let line = try reader.next() {
            let fields = String(decoding: line, as: UTF8.self).split(separator: " ")
            if reader.lineNumber == 1, fields.count == 2, Int(fields[0]) != nil, let d = Int(fields[1]) { dim = d; continue }
            guard fields.count >= 2 else { continue }
            let values = fields.dropFirst().compactMap { Float($0) }
            guard values.count == fields.count - 1 else { throw FXError.data("a value is not a number", at: "\(path):\(reader.lineNumber)") }
            if dim == 0 { dim = values.count }
            guard values.count == dim else { throw FXError.data("\(values.count) values, not \(dim)", at: "\(path):\(reader.lineNumber)") }
            vectors[String(fields[0])] = values
        }
        guard dim > 0 else { throw FXError.data("no vectors", at: path) }
        return (dim, vectors)
    }
}

extension String {
    /// A word as one field of a `.vec` line.
    fileprivate func replacingSpaces() -> String { String(map { $0 == " " ? "_" : $0 }) }
}

import Foundation

extension Jinja {
    /// What the sandboxed environment gives a template: attribute and item lookup, the methods of `str`, `dict` and
    /// `list` that do not mutate, jinja2's filters and tests (those chat templates use), and the globals
    /// transformers adds (`raise_exception`, `strftime_now`, `namespace`, `dict`, `range`).
    enum Builtins {
        typealias Value = Jinja.Value

        static let filterNames: Set<String> = [
            "abs", "attr", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
            "forceescape", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
            "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string",
            "sum", "title", "tojson", "trim", "unique", "upper", "wordcount",
        ]

        static let testNames: Set<String> = [
            "odd", "even", "divisibleby", "defined", "undefined", "filter", "test", "none", "boolean", "false", "true",
            "integer", "float", "lower", "upper", "string", "mapping", "number", "sequence", "iterable", "callable",
            "sameas", "escaped", "in", "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", ">=", "ge", "<", "lt",
            "lessthan", "<=", "le",
        ]

        // MARK: Lookup

        /// jinja2's message for a missing attribute (`'dict object' has no attribute 'x'`) or element.
        static func missing(_ obj: Value, _ key: Value) -> Value {
            let type: String
            switch obj {
            case .none: type = "None"
            case .namespace: type = "jinja2.utils.Namespace object"
            default: type = obj.typeName + " object"
            }
            if case .string(let name) = key { return .undefined("\(Py.repr(type)) has no attribute \(Py.repr(name))") }
            return .undefined("\(type) has no element \(key.repr())")
        }

        /// `obj.name`: an attribute (a method) first, then an item; undefined when neither exists.
        static func getattr(_ obj: Value, _ name: String) throws -> Value {
            if case .undefined(let message) = obj { throw Failure(message) }
            if let found = attribute(obj, name) { return found }
            switch obj {
            case .dict(let d): return d[name] ?? missing(obj, .string(name))
            default: return missing(obj, .string(name))
            }
        }

        /// `obj[key]`: an item first, then (for a string key) an attribute; undefined when neither exists.
        static func getitem(_ obj: Value, _ key: Value) throws -> Value {
            if case .undefined(let message) = obj { throw Failure(message) }
            switch obj {
            case .list(let a), .tuple(let a):
                if let i = key.index {
                    let k = i < 0 ? i + a.count : i
                    if k >= 0, k < a.count { return a[k] }
                }
            case .string(let s):
                if let i = key.index {
                    let c = Array(s.unicodeScalars)
                    let k = i < 0 ? i + c.count : i
                    if k >= 0, k < c.count { return .string(String(c[k])) }
                }
            case .dict(let d):
                if let v = d[key] { return v }
            default:
                break
            }
            if case .string(let name) = key, let found = attribute(obj, name) { return found }
            return missing(obj, key)
        }

        /// The attributes (methods, namespace and loop attributes) of a value, or nil.
        static func attribute(_ obj: Value, _ name: String) -> Value? {
            switch obj {
            case .string(let s): return stringMethod(s, name)
            case .dict(let d): return dictMethod(d, name)
            case .list(let a), .tuple(let a): return listMethod(a, name, obj.typeName)
            case .namespace(let n): return n.attrs[name]
            case .object(let o): return o.attribute(name)
            default: return nil
            }
        }

        /// `obj[start:stop:step]` with Python's index adjustment.
        static func slice(_ obj: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws -> Value {
            if case .undefined(let message) = obj { throw Failure(message) }
            func bound(_ v: Value?) throws -> Int? {
                guard let v else { return nil }
                if case .none = v { return nil }
                if case .undefined(let message) = v { throw Failure(message) }
                guard let i = v.index else { throw Failure("slice indices must be integers or None or have an __index__ method") }
                return i
            }
            let step = try bound(step) ?? 1
            guard step != 0 else { throw Failure("slice step cannot be zero") }
            let a = try bound(start), b = try bound(stop)
            func indices(_ length: Int) -> [Int] {
                let (lower, upper) = step > 0 ? (0, length) : (-1, length - 1)
                func adjust(_ v: Int?, _ absent: Int) -> Int {
                    guard var v else { return absent }
                    if v < 0 { v += length; if v < lower { v = lower } } else if v > upper { v = upper }
                    return v
                }
                let from = adjust(a, step < 0 ? upper : lower), to = adjust(b, step < 0 ? lower : upper)
                var out: [Int] = []
                var i = from
                while step > 0 ? i < to : i > to {
                    out.append(i)
                    i += step
                }
                return out
            }
            switch obj {
            case .list(let x): return .list(indices(x.count).map { x[$0] })
            case .tuple(let x): return .tuple(indices(x.count).map { x[$0] })
            case .string(let s):
                let c = Array(s.unicodeScalars)
                return .string(Py.string(indices(c.count).map { c[$0] }))
            default:
                return .undefined("\(obj.typeName) object has no element slice")
            }
        }

        private static func method(_ name: String, _ body: @escaping (Arguments) throws -> Value) -> Value {
            .function(Function(name: name, call: body))
        }

        private static func optionalString(_ v: Value?, _ what: String) throws -> String? {
            switch v {
            case nil, .none?: return nil
            case .string(let s)?: return s
            case let other?: throw Failure("\(what) arg must be None or str, not \(other.typeName)")
            }
        }

        private static func int(_ v: Value?, _ what: String, default d: Int) throws -> Int {
            guard let v else { return d }
            if case .undefined(let message) = v { throw Failure(message) }
            guard let i = v.index else { throw Failure("'\(v.typeName)' object cannot be interpreted as an integer (\(what))") }
            return i
        }

        private static func string(_ v: Value?, _ what: String) throws -> String {
            if case .string(let s)? = v { return s }
            if case .undefined(let message)? = v { throw Failure(message) }
            throw Failure("\(what) argument must be str, not \(v?.typeName ?? "nothing")")
        }

        /// The methods of `str`.
        static func stringMethod(_ s: String, _ name: String) -> Value? {
            let what = "str." + name
            switch name {
            case "strip", "lstrip", "rstrip":
                return method(what) { args in
                    let b = try args.bind(what, ["chars"])
                    return .string(Py.strip(s, try optionalString(b[0], what), left: name != "rstrip", right: name != "lstrip"))
                }
            case "split", "rsplit":
                return method(what) { args in
                    let b = try args.bind(what, ["sep", "maxsplit"])
                    let sep = try optionalString(b[0], what), limit = try int(b[1], "maxsplit", default: -1)
                    let parts = try name == "split" ? Py.split(s, sep, limit) : Py.rsplit(s, sep, limit)
                    return .list(parts.map { .string($0) })
                }
            case "splitlines":
                return method(what) { args in
                    let b = try args.bind(what, ["keepends"])
                    return .list(Py.splitlines(s, keepends: b[0]?.truthy ?? false).map { .string($0) })
                }
            case "startswith", "endswith":
                return method(what) { args in
                    let b = try args.bind(what, ["prefix", "start", "end"], required: 1)
                    let sub = try slice(.string(s), b[1], b[2], nil)
                    guard case .string(let text) = sub else { return .bool(false) }
                    let candidates: [Value]
                    switch b[0]! {
                    case .string: candidates = [b[0]!]
                    case .tuple(let items): candidates = items
                    case let other: throw Failure("\(name) first arg must be str or a tuple of str, not \(other.typeName)")
                    }
                    for candidate in candidates {
                        guard case .string(let p) = candidate else { throw Failure("tuple for \(name) must only contain str, not \(candidate.typeName)") }
                        if name == "startswith" ? text.utf8.starts(with: p.utf8) : text.utf8.reversed().starts(with: p.utf8.reversed()) {
                            return .bool(true)
                        }
                    }
                    return .bool(false)
                }
            case "upper", "lower", "casefold", "title", "capitalize", "swapcase":
                return method(what) { args in
                    _ = try args.bind(what, [])
                    switch name {
                    case "upper": return .string(Py.upper(s))
                    case "title": return .string(Py.title(s))
                    case "capitalize": return .string(Py.capitalize(s))
                    case "swapcase": return .string(Py.swapcase(s))
                    default: return .string(Py.lower(s))
                    }
                }
            case "replace":
                return method(what) { args in
                    let b = try args.bind(what, ["old", "new", "count"], required: 2)
                    return .string(Py.replace(s, try string(b[0], what), try string(b[1], what), count: try int(b[2], "count", default: -1)))
                }
            case "find", "rfind", "index", "rindex", "count":
                return method(what) { args in
                    let b = try args.bind(what, ["sub", "start", "end"], required: 1)
                    let sub = Array(try string(b[0], what).unicodeScalars)
                    guard case .string(let window) = try slice(.string(s), b[1], b[2], nil) else { return .int(-1) }
                    let hay = Array(window.unicodeScalars)
                    let startOffset: Int
                    if let st = b[1], let i = st.index { startOffset = i < 0 ? max(0, i + s.unicodeScalars.count) : min(i, s.unicodeScalars.count) } else { startOffset = 0 }
                    var hits: [Int] = []
                    if sub.count <= hay.count {
                        var i = 0
                        while i + sub.count <= hay.count {
                            if hay[i..<(i + sub.count)].elementsEqual(sub) {
                                hits.append(i)
                                if name == "count" { i += max(sub.count, 1); continue }
                                if name == "find" || name == "index" { break }
                            }
                            i += 1
                        }
                    }
                    if name == "count" { return .int(hits.count) }
                    let found = name.hasPrefix("r") ? hits.last : hits.first
                    if let found { return .int(found + startOffset) }
                    if name.hasSuffix("index") { throw Failure("substring not found") }
                    return .int(-1)
                }
            case "join":
                return method(what) { args in
                    let b = try args.bind(what, ["iterable"], required: 1)
                    var parts: [String] = []
                    for (i, item) in try b[0]!.iterate().enumerated() {
                        guard case .string(let p) = item else { throw Failure("sequence item \(i): expected str instance, \(item.typeName) found") }
                        parts.append(p)
                    }
                    return .string(parts.joined(separator: s))
                }
            case "isdigit", "isdecimal", "isnumeric", "isalpha", "isalnum", "isspace", "islower", "isupper":
                return method(what) { args in
                    _ = try args.bind(what, [])
                    let c = Array(s.unicodeScalars)
                    switch name {
                    case "islower": return .bool(Py.isLower(s))
                    case "isupper": return .bool(Py.isUpper(s))
                    default: break
                    }
                    guard !c.isEmpty else { return .bool(false) }
                    let ok: (Unicode.Scalar) -> Bool
                    switch name {
                    case "isdigit": ok = Py.isDigit
                    case "isdecimal": ok = { $0.properties.numericType == .decimal }
                    case "isnumeric": ok = Py.isNumeric
                    case "isalpha": ok = Py.isAlpha
                    case "isalnum": ok = { Py.isAlpha($0) || Py.isNumeric($0) }
                    default: ok = Py.isSpace
                    }
                    return .bool(c.allSatisfy(ok))
                }
            case "removeprefix", "removesuffix":
                return method(what) { args in
                    let b = try args.bind(what, ["affix"], required: 1)
                    let affix = try string(b[0], what)
                    let c = Array(s.unicodeScalars), a = Array(affix.unicodeScalars)
                    if name == "removeprefix", c.starts(with: a) { return .string(Py.string(c.dropFirst(a.count))) }
                    if name == "removesuffix", !a.isEmpty, c.reversed().starts(with: a.reversed()) { return .string(Py.string(c.dropLast(a.count))) }
                    return .string(s)
                }
            case "center", "ljust", "rjust":
                return method(what) { args in
                    let b = try args.bind(what, ["width", "fillchar"], required: 1)
                    let width = try int(b[0], "width", default: 0)
                    let fill = try b[1] == nil ? " " : string(b[1], what)
                    guard width <= Value.maxLength else { throw Failure("string too long") }
                    guard fill.unicodeScalars.count == 1 else { throw Failure("The fill character must be exactly one character long") }
                    return .string(pad(s, width, fill, name))
                }
            case "format", "format_map":
                return method(what) { _ in throw Failure("unsupported method str.\(name)") }
            default:
                return nil
            }
        }

        /// `str.center`, `ljust`, `rjust` (`center` puts the odd extra space on the left when the string's length
        /// is odd, as CPython does).
        static func pad(_ s: String, _ width: Int, _ fill: String, _ how: String) -> String {
            let n = s.unicodeScalars.count
            guard width > n else { return s }
            let total = width - n
            var left = 0
            switch how {
            case "ljust": left = 0
            case "rjust": left = total
            default: left = total / 2 + (total & width & 1)
            }
            return String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left)
        }

        /// The methods of `dict` that do not change it.
        static func dictMethod(_ d: Dict, _ name: String) -> Value? {
            let what = "dict." + name
            switch name {
            case "items", "keys", "values", "copy":
                return method(what) { args in
                    _ = try args.bind(what, [])
                    switch name {
                    case "items": return .list(d.pairs.map { .tuple([$0.key, $0.value]) })
                    case "keys": return .list(d.keys)
                    case "values": return .list(d.values)
                    default: return .dict(d)
                    }
                }
            case "get":
                return method(what) { args in
                    let b = try args.bind(what, ["key", "default"], required: 1)
                    guard Key(b[0]!) != nil else { throw Failure("unhashable type: '\(b[0]!.typeName)'") }
                    return d[b[0]!] ?? b[1] ?? .none
                }
            case "pop", "popitem", "setdefault", "update", "clear":
                return .undefined("access to attribute '\(name)' of 'dict' object is unsafe.")
            default: return nil
            }
        }

        /// The methods of `list` and `tuple` that do not change them.
        static func listMethod(_ a: [Value], _ name: String, _ type: String) -> Value? {
            let what = type + "." + name
            switch name {
            case "index":
                return method(what) { args in
                    let b = try args.bind(what, ["value"], required: 1)
                    guard let i = a.firstIndex(where: { Value.equal($0, b[0]!) }) else { throw Failure("\(b[0]!.repr()) is not in \(type)") }
                    return .int(i)
                }
            case "count":
                return method(what) { args in
                    let b = try args.bind(what, ["value"], required: 1)
                    return .int(a.filter { Value.equal($0, b[0]!) }.count)
                }
            case "append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear":
                return type == "list" ? .undefined("access to attribute '\(name)' of 'list' object is unsafe.") : nil
            default: return nil
            }
        }

        // MARK: Globals

        static func globals() -> [String: Value] {
            var g: [String: Value] = [:]
            g["range"] = method("range") { args in
                guard args.keywords.isEmpty else { throw Failure("range() takes no keyword arguments") }
                let p = args.positional
                guard (1...3).contains(p.count) else { throw Failure("range expected 1 to 3 arguments, got \(p.count)") }
                let ints = try p.map { try int($0, "range", default: 0) }
                let (start, stop, step) = p.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], p.count == 3 ? ints[2] : 1)
                guard step != 0 else { throw Failure("range() arg 3 must not be zero") }
                let span = step > 0 ? (stop > start ? (Double(stop) - Double(start) - 1) / Double(step) + 1 : 0)
                    : (start > stop ? (Double(start) - Double(stop) - 1) / Double(-step) + 1 : 0)
                guard span <= 100_000 else { throw Failure("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).") }
                return .list(Swift.stride(from: start, to: stop, by: step).map { Value.int($0) })
            }
            g["namespace"] = method("namespace") { args in
                let ns = Namespace()
                for v in args.positional {
                    guard case .dict(let d) = v else { throw Failure("namespace() takes a mapping, not \(v.typeName)") }
                    for (k, value) in d.pairs { try setAttribute(ns, k, value) }
                }
                for (k, value) in args.keywords { try setAttribute(ns, .string(k), value) }
                return .namespace(ns)
            }
            g["dict"] = method("dict") { args in
                var d = Dict()
                for v in args.positional {
                    guard case .dict(let other) = v else { throw Failure("dict() takes a mapping, not \(v.typeName)") }
                    for (k, value) in other.pairs { try d.set(k, value) }
                }
                for (k, value) in args.keywords { d.set(k, value) }
                return .dict(d)
            }
            g["raise_exception"] = method("raise_exception") { args in
                let b = try args.bind("raise_exception", ["message"], required: 1)
                throw Raised(message: b[0]!.str)
            }
            g["strftime_now"] = method("strftime_now") { args in
                let b = try args.bind("strftime_now", ["format"], required: 1)
                return .string(strftimeNow(try string(b[0], "strftime_now")))
            }
            return g
        }

        /// Namespaces refuse names starting with `_`, as transformers' `TemplateNamespace` does.
        static func setAttribute(_ ns: Namespace, _ key: Value, _ value: Value) throws {
            if case .string(let name) = key, name.hasPrefix("_") {
                throw Failure("Chat templates cannot store underscore-prefixed attributes on a namespace, but got \(Py.repr(name)). Please rename the attribute.")
            }
            guard value.nesting() <= Value.maxNesting else { throw Failure("a value nested more than \(Value.maxNesting) deep") }
            try ns.attrs.set(key, value)
        }

        /// The local time formatted by C's strftime, as Python's `datetime.now().strftime(format)`.
        static func strftimeNow(_ format: String) -> String {
            guard !format.isEmpty else { return "" }
            var now = time(nil)
            var parts = tm()
            localtime_r(&now, &parts)
            // Grow the buffer as Python does, up to 256 bytes per byte of format (a result may legitimately be empty).
            var size = 1024
            while true {
                var buffer = [Int8](repeating: 0, count: size)
                let n = strftime(&buffer, buffer.count, format, &parts)
                if n > 0 || size >= 256 * format.utf8.count || size >= Value.maxLength {
                    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
                size *= 4
            }
        }

        // MARK: Tests

        static func test(_ name: String, _ value: Value, _ args: Arguments) throws -> Bool {
            func arg() throws -> Value {
                let b = try args.bind(name, ["other"], required: 1)
                return b[0]!
            }
            switch name {
            case "defined": return !value.isUndefined
            case "undefined": return value.isUndefined
            case "none": if case .none = value { return true }; return false
            case "boolean": if case .bool = value { return true }; return false
            case "true": if case .bool(true) = value { return true }; return false
            case "false": if case .bool(false) = value { return true }; return false
            case "integer": if case .int = value { return true }; return false
            case "float": if case .float = value { return true }; return false
            case "number": return value.number != nil
            case "string": if case .string = value { return true }; return false
            case "mapping": if case .dict = value { return true }; return false
            case "iterable":
                switch value {
                case .string, .list, .tuple, .dict, .undefined, .iterator: return true
                default: return false
                }
            case "sequence":
                switch value {
                case .string, .list, .tuple, .dict, .undefined: return true
                default: return false
                }
            case "callable":
                switch value {
                case .function, .undefined: return true
                default: return false
                }
            case "escaped": return false
            case "lower": return Py.isLower(value.str)
            case "upper": return Py.isUpper(value.str)
            case "odd", "even":
                if let e = Value.undefinedUse(value) { throw e }
                let r = try Value.arithmetic(.modulo, value, .int(2))
                return Value.equal(r, .int(name == "odd" ? 1 : 0))
            case "divisibleby":
                let r = try Value.arithmetic(.modulo, value, try arg())
                return Value.equal(r, .int(0))
            case "sameas":
                let other = try arg()
                switch (value, other) {
                case (.namespace(let a), .namespace(let b)): return a === b
                case (.none, .none): return true
                case (.bool(let a), .bool(let b)): return a == b
                case (.bool, _), (_, .bool), (.none, _), (_, .none): return false
                default: return Value.equal(value, other)
                }
            case "in": return try Value.contains(try arg(), value)
            case "==", "eq", "equalto": return Value.equal(value, try arg())
            case "!=", "ne": return !Value.equal(value, try arg())
            case "<", "lt", "lessthan": return try Value.less(value, try arg(), orEqual: false, op: "<")
            case "<=", "le": return try Value.less(value, try arg(), orEqual: true, op: "<=")
            case ">", "gt", "greaterthan": return try Value.less(try arg(), value, orEqual: false, op: ">")
            case ">=", "ge": return try Value.less(try arg(), value, orEqual: true, op: ">=")
            case "filter": if case .string(let s) = value { return filterNames.contains(s) }; return false
            case "test": if case .string(let s) = value { return testNames.contains(s) }; return false
            default: throw Failure("No test named '\(name)'.")
            }
        }

        // MARK: Filters

        /// `make_attrgetter`: `a.b.0` looked up part by part as items (digits as indexes).
        static func attributeGetter(_ attribute: Value?, default fallback: Value? = nil) -> (Value) throws -> Value {
            guard let attribute else { return { $0 } }
            let parts: [Value]
            if case .string(let s) = attribute {
                parts = s.split(separator: ".", omittingEmptySubsequences: false).map { part in
                    let text = String(part)
                    if !text.isEmpty, text.unicodeScalars.allSatisfy(Py.isDigit), let i = Int(text) { return .int(i) }
                    return .string(text)
                }
            } else {
                parts = [attribute]
            }
            return { item in
                var v = item
                for part in parts {
                    v = try getitem(v, part)
                    // `default=None` means no default, as in jinja2.
                    if let fallback, !fallback.isNone, v.isUndefined { v = fallback }
                }
                return v
            }
        }

        /// Lower-cases strings for the case-insensitive comparisons of `sort`, `unique`, `min`, `max`, `dictsort`.
        static func ignoreCase(_ v: Value) -> Value {
            if case .string(let s) = v { return .string(Py.lower(s)) }
            return v
        }

        /// The indices 0..<n in a stable order (a merge sort: the standard library's sort promises no stability).
        static func stableOrder(_ n: Int, _ less: (Int, Int) -> Bool) -> [Int] {
            var a = Array(0..<n), b = a
            var width = 1
            while width < n {
                var lo = 0
                while lo < n {
                    let mid = min(lo + width, n), hi = min(lo + 2 * width, n)
                    var i = lo, j = mid, k = lo
                    while i < mid, j < hi {
                        if less(a[j], a[i]) { b[k] = a[j]; j += 1 } else { b[k] = a[i]; i += 1 }
                        k += 1
                    }
                    while i < mid { b[k] = a[i]; i += 1; k += 1 }
                    while j < hi { b[k] = a[j]; j += 1; k += 1 }
                    lo += 2 * width
                }
                swap(&a, &b)
                width *= 2
            }
            return a
        }

        static func sorted(_ items: [Value], key: (Value) throws -> Value, reverse: Bool) throws -> [Value] {
            let keyed = try items.map { (try key($0), $0) }
            // A stable merge sort, so that equal items keep their order and type errors surface.
            var error: Error?
            let order = stableOrder(keyed.count) { a, b in
                do {
                    return try reverse ? Value.less(keyed[b].0, keyed[a].0, orEqual: false, op: "<")
                        : Value.less(keyed[a].0, keyed[b].0, orEqual: false, op: "<")
                } catch let e {
                    if error == nil { error = e }
                    return false
                }
            }
            if let error { throw error }
            return order.map { keyed[$0].1 }
        }

        /// The filters that take no argument beyond their input.
        private static let plainFilters: Set<String> = [
            "upper", "lower", "capitalize", "title", "string", "safe", "escape", "e", "forceescape", "list", "wordcount", "abs",
        ]

        static func filter(_ name: String, _ value: Value, _ args: Arguments) throws -> Value {
            let what = name
            if plainFilters.contains(name) { _ = try args.bind(what, []) }
            switch name {
            case "default", "d":
                let b = try args.bind(what, ["default_value", "boolean"])
                if value.isUndefined || (b[1]?.truthy ?? false) && !value.truthy { return b[0] ?? .string("") }
                return value
            case "length", "count":
                _ = try args.bind(what, [])
                if case .iterator = value { throw Failure("object of type 'generator' has no len()") }
                return .int(try value.length())
            case "trim":
                let b = try args.bind(what, ["chars"])
                return .string(Py.strip(value.str, try optionalString(b[0], "trim")))
            case "upper": return .string(Py.upper(value.str))
            case "lower": return .string(Py.lower(value.str))
            case "capitalize": return .string(Py.capitalize(value.str))
            case "title": return .string(titleFilter(value.str))
            case "string": return .string(value.str)
            case "safe": return value
            case "escape", "e", "forceescape":
                var s = value.str
                for (a, b) in [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\"", "&#34;"), ("'", "&#39;")] { s = Py.replace(s, a, b) }
                return .string(s)
            case "first":
                _ = try args.bind(what, [])
                if case .iterator(let it) = value { return it.next() ?? .undefined("No first item, sequence was empty.") }
                return try value.iterate().first ?? .undefined("No first item, sequence was empty.")
            case "last":
                _ = try args.bind(what, [])
                if case .iterator = value { throw Failure("'generator' object is not reversible") }
                if case .dict(let d) = value { return d.keys.last ?? .undefined("No last item, sequence was empty.") }
                return try value.iterate().last ?? .undefined("No last item, sequence was empty.")
            case "list":
                return .list(try value.iterate())
            case "join":
                let b = try args.bind(what, ["d", "attribute"])
                let getter = attributeGetter(b[1])
                let items = try value.iterate().map { try getter($0).str }
                return .string(items.joined(separator: (b[0] ?? .string("")).str))
            case "replace":
                let b = try args.bind(what, ["old", "new", "count"], required: 2)
                let count: Int
                if case .none? = b[2] { count = -1 } else { count = try int(b[2], "count", default: -1) }
                return .string(Py.replace(value.str, b[0]!.str, b[1]!.str, count: count))
            case "reverse":
                if case .string(let s) = value { return .string(Py.string(s.unicodeScalars.reversed())) }
                if case .undefined = value { return .iterator(Iterator([])) }
                return .iterator(Iterator(try value.iterate().reversed()))
            case "items":
                if case .undefined = value { return .iterator(Iterator([])) }
                guard case .dict(let d) = value else { throw Failure("Can only get item pairs from a mapping.") }
                return .iterator(Iterator(d.pairs.map { .tuple([$0.key, $0.value]) }))
            case "dictsort":
                let b = try args.bind(what, ["case_sensitive", "by", "reverse"])
                guard case .dict(let d) = value else { throw Failure("dictsort needs a mapping, not \(value.typeName)") }
                let by = b[1]?.str ?? "key"
                guard by == "key" || by == "value" else { throw Failure("You can only sort by either \"key\" or \"value\"") }
                let caseSensitive = b[0]?.truthy ?? false
                let pairs: [Value] = d.pairs.map { .tuple([$0.key, $0.value]) }
                return .list(try sorted(pairs, key: { pair in
                    guard case .tuple(let kv) = pair else { return pair }
                    let v = kv[by == "key" ? 0 : 1]
                    return caseSensitive ? v : ignoreCase(v)
                }, reverse: b[2]?.truthy ?? false))
            case "sort":
                let b = try args.bind(what, ["reverse", "case_sensitive", "attribute"])
                let getter = attributeGetter(b[2])
                let caseSensitive = b[1]?.truthy ?? false
                return .list(try sorted(try value.iterate(), key: { v in
                    let k = try getter(v)
                    return caseSensitive ? k : ignoreCase(k)
                }, reverse: b[0]?.truthy ?? false))
            case "unique":
                let b = try args.bind(what, ["case_sensitive", "attribute"])
                let getter = attributeGetter(b[1])
                let caseSensitive = b[0]?.truthy ?? false
                var seen = Dict()
                var out: [Value] = []
                for item in try value.iterate() {
                    var k = try getter(item)
                    if !caseSensitive { k = ignoreCase(k) }
                    if seen[k] == nil {
                        try seen.set(k, .none)
                        out.append(item)
                    }
                }
                return .iterator(Iterator(out))
            case "min", "max":
                let b = try args.bind(what, ["case_sensitive", "attribute"])
                let getter = attributeGetter(b[1])
                let caseSensitive = b[0]?.truthy ?? false
                let items = try value.iterate()
                guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
                func key(_ v: Value) throws -> Value { try caseSensitive ? getter(v) : ignoreCase(getter(v)) }
                var bestKey = try key(best)
                for item in items.dropFirst() {
                    let k = try key(item)
                    if try name == "min" ? Value.less(k, bestKey, orEqual: false, op: "<") : Value.less(bestKey, k, orEqual: false, op: ">") {
                        best = item
                        bestKey = k
                    }
                }
                return best
            case "sum":
                let b = try args.bind(what, ["attribute", "start"])
                let getter = attributeGetter(b[0])
                var total = b[1] ?? .int(0)
                for item in try value.iterate() { total = try Value.arithmetic(.add, total, try getter(item)) }
                return total
            case "map":
                let items = try value.truthy ? value.iterate() : []
                if args.positional.isEmpty, let attribute = args.keywords.first(where: { $0.0 == "attribute" })?.1 {
                    let fallback = args.keywords.first(where: { $0.0 == "default" })?.1
                    if let extra = args.keywords.first(where: { $0.0 != "attribute" && $0.0 != "default" }) {
                        throw Failure("Unexpected keyword argument \(Py.repr(extra.0))")
                    }
                    let getter = attributeGetter(attribute, default: fallback)
                    return .iterator(Iterator(try items.map(getter)))
                }
                guard let first = args.positional.first else { throw Failure("map requires a filter argument") }
                let filterName = first.str
                guard filterNames.contains(filterName) else { throw Failure("No filter named \(Py.repr(filterName)).") }
                let rest = Arguments(positional: Array(args.positional.dropFirst()), keywords: args.keywords)
                return .iterator(Iterator(try items.map { try filter(filterName, $0, rest) }))
            case "select", "reject", "selectattr", "rejectattr":
                let items = try value.truthy ? value.iterate() : []
                let byAttribute = name.hasSuffix("attr")
                var rest = args.positional
                var getter: (Value) throws -> Value = { $0 }
                if byAttribute {
                    guard !rest.isEmpty else { throw Failure("Missing parameter for attribute name") }
                    getter = attributeGetter(rest.removeFirst())
                }
                let testName = rest.isEmpty ? nil : rest.removeFirst().str
                if let testName, !testNames.contains(testName) { throw Failure("No test named \(Py.repr(testName)).") }
                let testArgs = Arguments(positional: rest, keywords: args.keywords)
                let keep = name.hasPrefix("select")
                var out: [Value] = []
                for item in items {
                    let v = try getter(item)
                    let ok = try testName.map { try test($0, v, testArgs) } ?? v.truthy
                    if ok == keep { out.append(item) }
                }
                return .iterator(Iterator(out))
            case "tojson":
                let b = try args.bind(what, ["ensure_ascii", "indent", "separators", "sort_keys"])
                var indent: String?
                switch b[1] {
                case nil, .none?: indent = nil
                case .string(let s)?: indent = s
                case let v?:
                    guard let n = v.index else { throw Failure("indent must be an int or a string") }
                    guard n <= 10_000 else { throw Failure("tojson: indent too large") }
                    indent = String(repeating: " ", count: max(0, n))
                }
                var itemSeparator = indent == nil ? ", " : ",", keySeparator = ": "
                if let sep = b[2], !(sep.isNone) {
                    let parts = try sep.iterate()
                    guard parts.count == 2 else { throw Failure("separators must be a pair of strings") }
                    itemSeparator = parts[0].str
                    keySeparator = parts[1].str
                }
                var out = ""
                try JSONWriter(ensureASCII: b[0]?.truthy ?? false, indent: indent, itemSeparator: itemSeparator,
                         keySeparator: keySeparator, sortKeys: b[3]?.truthy ?? false).write(value, level: 0, into: &out)
                return .string(out)
            case "int":
                let b = try args.bind(what, ["default", "base"])
                let fallback = b[0] ?? .int(0)
                switch value {
                case .int, .bool: return .int(value.index!)
                case .float(let d):
                    guard d.isFinite, abs(d) < 9.2e18 else { return fallback }
                    return .int(Int(d))
                case .string(let s):
                    if let i = Py.parseInt(s, base: try int(b[1], "base", default: 10)) { return .int(i) }
                    if let d = Py.parseFloat(s), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
                    return fallback
                default: return fallback
                }
            case "float":
                let b = try args.bind(what, ["default"])
                switch value {
                case .int, .bool, .float: return .float(value.number!)
                case .string(let s): return Py.parseFloat(s).map { Value.float($0) } ?? b[0] ?? .float(0)
                default: return b[0] ?? .float(0)
                }
            case "abs":
                switch value {
                case .int(let i):
                    guard i != .min else { throw Failure("integer overflow in abs") }
                    return .int(abs(i))
                case .bool(let b): return .int(b ? 1 : 0)
                case .float(let d): return .float(abs(d))
                default: throw Failure("bad operand type for abs(): '\(value.typeName)'")
                }
            case "round":
                let b = try args.bind(what, ["precision", "method"])
                let precision = try int(b[0], "precision", default: 0)
                let method = b[1]?.str ?? "common"
                guard ["common", "ceil", "floor"].contains(method) else { throw Failure("method must be common, ceil or floor") }
                guard let x = value.number else { throw Failure("type \(value.typeName) doesn't define __round__ method") }
                if method == "common" {
                    if precision == 0 { return .float(x.rounded(.toNearestOrEven)) }
                    guard abs(precision) <= 300 else { return .float(x) }
                    if precision > 0 { return .float(Double(String(format: "%.\(precision)f", x)) ?? x) }
                    let scale = pow(10, Double(-precision))
                    return .float((x / scale).rounded(.toNearestOrEven) * scale)
                }
                let scale = pow(10, Double(precision))
                return .float((method == "ceil" ? (x * scale).rounded(.up) : (x * scale).rounded(.down)) / scale)
            case "indent":
                let b = try args.bind(what, ["width", "first", "blank"])
                let indention: String
                if case .string(let s)? = b[0] { indention = s } else {
                    let width = try int(b[0], "width", default: 4)
                    guard width <= Value.maxLength else { throw Failure("string too long") }
                    indention = String(repeating: " ", count: max(0, width))
                }
                let lines = Py.splitlines(value.str + "\n")
                var rv: String
                if b[2]?.truthy ?? false {
                    rv = lines.joined(separator: "\n" + indention)
                } else {
                    rv = lines.first ?? ""
                    let rest = lines.dropFirst()
                    if !rest.isEmpty { rv += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n") }
                }
                if b[1]?.truthy ?? false { rv = indention + rv }
                return .string(rv)
            case "center":
                let b = try args.bind(what, ["width"])
                let width = try int(b[0], "width", default: 80)
                guard width <= Value.maxLength else { throw Failure("string too long") }
                return .string(pad(value.str, width, " ", "center"))
            case "wordcount":
                var count = 0, inWord = false
                for c in value.str.unicodeScalars {
                    let word = c == "_" || Py.isAlpha(c) || Py.isNumeric(c)
                    if word, !inWord { count += 1 }
                    inWord = word
                }
                return .int(count)
            case "attr":
                let b = try args.bind(what, ["name"], required: 1)
                if case .undefined(let message) = value { throw Failure(message) }
                return attribute(value, b[0]!.str) ?? missing(value, b[0]!)
            default:
                throw Failure("No filter named '\(name)'.")
            }
        }

        /// jinja2's `title` filter: each word (after `-`, white space, or an opening bracket) capitalised with
        /// `upper()`, the rest lower-cased.
        static func titleFilter(_ s: String) -> String {
            let c = Array(s.unicodeScalars)
            var out = ""
            var i = 0
            func isSeparator(_ x: Unicode.Scalar) -> Bool { Py.isSpace(x) || "-({[<".unicodeScalars.contains(x) }
            while i < c.count {
                let start = i
                let separator = isSeparator(c[i])
                while i < c.count, isSeparator(c[i]) == separator { i += 1 }
                let item = Array(c[start..<i])
                out += Py.upper(String(item[0])) + Py.lower(Py.string(item.dropFirst()))
            }
            return out
        }
    }

    /// `json.dumps` with the options transformers' `tojson` passes through (`ensure_ascii`, `indent`,
    /// `separators`, `sort_keys`).
    struct JSONWriter {
        var ensureASCII: Bool
        var indent: String?
        var itemSeparator: String
        var keySeparator: String
        var sortKeys: Bool

        func write(_ v: Value, level: Int, into out: inout String) throws {
            guard level < 200 else { throw Failure("tojson: value nested too deeply") }
            switch v {
            case .none: out += "null"
            case .bool(let b): out += b ? "true" : "false"
            case .int(let i): out += String(i)
            case .float(let d): out += float(d)
            case .string(let s): string(s, into: &out)
            case .list(let a), .tuple(let a):
                try container("[", "]", a.count, level, &out) { i, out in try write(a[i], level: level + 1, into: &out) }
            case .dict(let d):
                var pairs = d.pairs
                if sortKeys {
                    let order = try Builtins.sorted(pairs.indices.map { Value.int($0) }, key: { i in pairs[i.index!].key }, reverse: false)
                    pairs = order.map { pairs[$0.index!] }
                }
                try container("{", "}", pairs.count, level, &out) { i, out in
                    let key: String
                    switch pairs[i].key {
                    case .string(let s): key = s
                    case .none: key = "null"
                    case .bool(let b): key = b ? "true" : "false"
                    case .int(let n): key = String(n)
                    case .float(let d): key = float(d)
                    case let other: throw Failure("keys must be str, int, float, bool or None, not \(other.typeName)")
                    }
                    string(key, into: &out)
                    out += keySeparator
                    try write(pairs[i].value, level: level + 1, into: &out)
                }
            default:
                throw Failure("Object of type \(v.typeName) is not JSON serializable")
            }
        }

        private func container(_ open: String, _ close: String, _ count: Int, _ level: Int, _ out: inout String,
                               _ item: (Int, inout String) throws -> Void) throws {
            guard count > 0 else { out += open + close; return }
            out += open
            let newline = indent.map { "\n" + String(repeating: $0, count: level + 1) }
            if let newline { out += newline }
            for i in 0..<count {
                if i > 0 { out += itemSeparator + (newline ?? "") }
                try item(i, &out)
                if out.utf8.count > Value.maxLength { throw Failure("tojson: result too long") }
            }
            if let indent { out += "\n" + String(repeating: indent, count: level) }
            out += close
        }

        private func float(_ d: Double) -> String {
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            return Py.repr(d)
        }

        private func string(_ s: String, into out: inout String) {
            out += "\""
            for c in s.unicodeScalars {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                default:
                    if c.value < 0x20 || (ensureASCII && c.value > 0x7E) {
                        if c.value > 0xFFFF {
                            let v = c.value - 0x10000
                            out += "\\u" + Py.hex(0xD800 | (v >> 10), 4) + "\\u" + Py.hex(0xDC00 | (v & 0x3FF), 4)
                        } else {
                            out += "\\u" + Py.hex(c.value, 4)
                        }
                    } else {
                        out.unicodeScalars.append(c)
                    }
                }
            }
            out += "\""
        }
    }
}

extension Jinja.Value {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}

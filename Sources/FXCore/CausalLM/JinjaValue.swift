import Foundation

extension Jinja {
    /// A value as a template sees it: Python's types as jinja2 hands them over, plus jinja2's `Undefined`.
    enum Value {
        /// What a missing variable, attribute or item gives: prints as "", is false, iterates as nothing; any other
        /// use is an error with this message.
        case undefined(String)
        case none
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
        case list([Value])
        case tuple([Value])
        case dict(Dict)
        case namespace(Namespace)
        /// What `map`, `select`, `reverse`... give: iterates once.
        case iterator(Iterator)
        /// The `loop` variable.
        case object(Object)
        case function(Function)

        init(_ literal: Literal) {
            switch literal {
            case .none: self = .none
            case .bool(let b): self = .bool(b)
            case .int(let i): self = .int(i)
            case .float(let d): self = .float(d)
            case .string(let s): self = .string(s)
            }
        }

        var isUndefined: Bool {
            if case .undefined = self { return true }
            return false
        }

        /// Python's type name, for messages.
        var typeName: String {
            switch self {
            case .undefined: return "Undefined"
            case .none: return "NoneType"
            case .bool: return "bool"
            case .int: return "int"
            case .float: return "float"
            case .string: return "str"
            case .list: return "list"
            case .tuple: return "tuple"
            case .dict: return "dict"
            case .namespace: return "Namespace"
            case .iterator: return "generator"
            case .object(let o): return o.typeName
            case .function: return "function"
            }
        }

        /// Python's truth value.
        var truthy: Bool {
            switch self {
            case .undefined, .none: return false
            case .bool(let b): return b
            case .int(let i): return i != 0
            case .float(let d): return d != 0
            case .string(let s): return !s.isEmpty
            case .list(let a), .tuple(let a): return !a.isEmpty
            case .dict(let d): return d.count > 0
            case .namespace, .iterator, .object, .function: return true
            }
        }

        /// `str(value)`, which is also what `{{ value }}` prints.
        var str: String {
            switch self {
            case .undefined: return ""
            case .string(let s): return s
            default: return repr()
            }
        }

        /// `repr(value)`. `open` holds the namespaces being printed, so that one holding itself prints `{...}` there,
        /// as Python's recursion guard does.
        func repr(_ open: [ObjectIdentifier] = []) -> String {
            switch self {
            case .undefined: return "Undefined"
            case .none: return "None"
            case .bool(let b): return b ? "True" : "False"
            case .int(let i): return String(i)
            case .float(let d): return Py.repr(d)
            case .string(let s): return Py.repr(s)
            case .list(let a): return "[" + a.map { $0.repr(open) }.joined(separator: ", ") + "]"
            case .tuple(let a):
                return "(" + a.map { $0.repr(open) }.joined(separator: ", ") + (a.count == 1 ? ",)" : ")")
            case .dict(let d):
                return "{" + d.pairs.map { $0.key.repr(open) + ": " + $0.value.repr(open) }.joined(separator: ", ") + "}"
            case .namespace(let n):
                let id = ObjectIdentifier(n)
                if open.contains(id) { return "<Namespace {...}>" }
                return "<Namespace {" + n.attrs.pairs.map { $0.key.repr(open + [id]) + ": " + $0.value.repr(open + [id]) }
                    .joined(separator: ", ") + "}>"
            case .iterator: return "<generator object>"
            case .object(let o): return "<\(o.typeName)>"
            case .function(let f): return "<function \(f.name)>"
            }
        }

        /// The deepest nesting a value kept across loop iterations (in a namespace) or macro calls may have: deeper
        /// values would make printing, comparing, or freeing them recurse past the stack.
        static let maxNesting = 100

        /// How deeply lists, tuples, dicts and namespaces nest in the value, counted up to `limit + 1`.
        func nesting(limit: Int = maxNesting) -> Int {
            var seen = Set<ObjectIdentifier>()
            return nesting(limit, &seen)
        }

        private func nesting(_ limit: Int, _ seen: inout Set<ObjectIdentifier>) -> Int {
            if limit < 0 { return 1 }
            var deepest = 0
            func visit(_ items: [Value]) {
                for item in items where deepest <= limit {
                    deepest = Swift.max(deepest, item.nesting(limit - 1, &seen))
                }
            }
            switch self {
            case .list(let a), .tuple(let a): visit(a)
            case .dict(let d): visit(d.keys); visit(d.values)
            case .namespace(let n):
                guard seen.insert(ObjectIdentifier(n)).inserted else { return 0 }
                visit(n.attrs.values)
            default: return 0
            }
            return 1 + deepest
        }

        /// A number as a Double, with booleans as 0 and 1; nil for anything else.
        var number: Double? {
            switch self {
            case .bool(let b): return b ? 1 : 0
            case .int(let i): return Double(i)
            case .float(let d): return d
            default: return nil
            }
        }

        /// A whole number (booleans too), as Python's `__index__`.
        var index: Int? {
            switch self {
            case .bool(let b): return b ? 1 : 0
            case .int(let i): return i
            default: return nil
            }
        }
    }

    /// An insertion-ordered dictionary keyed as Python keys: `1`, `1.0` and `True` are one key; strings compare
    /// by code point.
    struct Dict {
        private(set) var pairs: [(key: Value, value: Value)] = []
        private var index: [Key: Int] = [:]

        var count: Int { pairs.count }
        var keys: [Value] { pairs.map(\.key) }
        var values: [Value] { pairs.map(\.value) }

        subscript(key: Value) -> Value? {
            guard let k = Key(key), let i = index[k] else { return nil }
            return pairs[i].value
        }

        subscript(key: String) -> Value? { self[.string(key)] }

        mutating func set(_ key: Value, _ value: Value) throws {
            guard let k = Key(key) else { throw Failure("unhashable type: '\(key.typeName)'") }
            if let i = index[k] { pairs[i].value = value } else {
                index[k] = pairs.count
                pairs.append((key, value))
            }
        }

        mutating func set(_ key: String, _ value: Value) {
            try? set(.string(key), value)
        }
    }

    /// A dictionary key: the hashable values, with Python's equalities between numbers.
    enum Key: Hashable {
        case none
        case int(Int)
        case float(Double)
        case string(ExactString)
        case tuple([Key])

        init?(_ v: Value) {
            switch v {
            case .none: self = .none
            case .bool(let b): self = .int(b ? 1 : 0)
            case .int(let i): self = .int(i)
            case .float(let d):
                if d == d.rounded(), abs(d) < 9.2e18 { self = .int(Int(d)) } else { self = .float(d) }
            case .string(let s): self = .string(ExactString(s))
            case .tuple(let a):
                var keys: [Key] = []
                for item in a {
                    guard let k = Key(item) else { return nil }
                    keys.append(k)
                }
                self = .tuple(keys)
            default: return nil
            }
        }
    }

    /// A string hashed and compared by its code points.
    struct ExactString: Hashable {
        let value: String
        init(_ value: String) { self.value = value }
        static func == (a: ExactString, b: ExactString) -> Bool { Py.same(a.value, b.value) }
        func hash(into hasher: inout Hasher) {
            for b in value.utf8 { hasher.combine(b) }
        }
    }

    /// `namespace(...)`: the one mutable object a template can make, so that a loop can change what is outside it.
    final class Namespace {
        var attrs = Dict()
    }

    /// A single-use sequence, as Python's generators.
    final class Iterator {
        private let items: [Value]
        private var position = 0
        init(_ items: [Value]) { self.items = items }

        /// The items not yet taken; takes them all.
        func drain() -> [Value] {
            defer { position = items.count }
            return Array(items[position...])
        }

        func next() -> Value? {
            guard position < items.count else { return nil }
            defer { position += 1 }
            return items[position]
        }
    }

    /// An object whose attributes are computed when read, e.g. `loop`.
    final class Object {
        let typeName: String
        let attribute: (String) -> Value?
        init(_ typeName: String, _ attribute: @escaping (String) -> Value?) {
            self.typeName = typeName
            self.attribute = attribute
        }
    }

    /// Arguments of a call: positional, then keywords.
    struct Arguments {
        var positional: [Value] = []
        var keywords: [(String, Value)] = []

        /// Binds to parameters as Python does: positional first, then by keyword; missing optional parameters are
        /// nil. Unknown keywords, duplicates, too many arguments or a missing required one are errors naming `what`.
        func bind(_ what: String, _ params: [String], required: Int = 0) throws -> [Value?] {
            guard positional.count <= params.count else {
                throw Failure("\(what)() takes at most \(params.count) arguments (\(positional.count) given)")
            }
            var bound = [Value?](repeating: nil, count: params.count)
            for (i, v) in positional.enumerated() { bound[i] = v }
            for (key, v) in keywords {
                guard let i = params.firstIndex(of: key) else { throw Failure("\(what)() got an unexpected keyword argument '\(key)'") }
                guard bound[i] == nil else { throw Failure("\(what)() got multiple values for argument '\(key)'") }
                bound[i] = v
            }
            for i in 0..<required where bound[i] == nil {
                throw Failure("\(what)() missing required argument '\(params[i])'")
            }
            return bound
        }
    }

    struct Function {
        let name: String
        let call: (Arguments) throws -> Value
    }
}

// MARK: - Python's operators

extension Jinja.Value {
    typealias Value = Jinja.Value
    typealias Failure = Jinja.Failure
    typealias Py = Jinja.Py

    /// An error for using an undefined value, or nil when neither operand is one.
    static func undefinedUse(_ a: Value, _ b: Value? = nil) -> Failure? {
        if case .undefined(let message) = a { return Failure(message) }
        if case .undefined(let message)? = b { return Failure(message) }
        return nil
    }

    /// Python's `==`.
    static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return Py.same(x, y)
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.dict(let x), .dict(let y)):
            guard x.count == y.count else { return false }
            for (k, v) in x.pairs {
                guard let w = y[k], equal(v, w) else { return false }
            }
            return true
        case (.namespace(let x), .namespace(let y)): return x === y
        case (.iterator(let x), .iterator(let y)): return x === y
        case (.object(let x), .object(let y)): return x === y
        default:
            if let x = a.index, let y = b.index { return x == y }
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// Python's `<` (and, swapped, `>`); `orEqual` for `<=`. Errors for types Python cannot order.
    static func less(_ a: Value, _ b: Value, orEqual: Bool, op: String) throws -> Bool {
        if let e = undefinedUse(a, b) { throw e }
        switch (a, b) {
        case (.string(let x), .string(let y)): return orEqual ? !Py.less(y, x) : Py.less(x, y)
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !equal(p, q) { return try less(p, q, orEqual: false, op: op) }
            return orEqual ? x.count <= y.count : x.count < y.count
        default:
            if let x = a.index, let y = b.index { return orEqual ? x <= y : x < y }
            if let x = a.number, let y = b.number { return orEqual ? x <= y : x < y }
            throw Failure("'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    /// Python's `in`: a substring, an item of a list or tuple, a key of a dict.
    static func contains(_ container: Value, _ item: Value) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let needle) = item else {
                if let e = undefinedUse(item) { throw e }
                throw Failure("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return Py.contains(s, needle)
        case .list(let a), .tuple(let a): return a.contains { equal($0, item) }
        case .dict(let d):
            guard Jinja.Key(item) != nil else { throw Failure("unhashable type: '\(item.typeName)'") }
            return d[item] != nil
        case .undefined: return false
        case .iterator(let it):
            while let next = it.next() { if equal(next, item) { return true } }
            return false
        case .namespace:
            throw Failure("argument of type 'Namespace' is not iterable")
        default:
            throw Failure("argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// The items a `for` loop or a filter walks: a list's items, a string's characters, a dict's keys; nothing
    /// for undefined.
    func iterate() throws -> [Value] {
        switch self {
        case .list(let a), .tuple(let a): return a
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .dict(let d): return d.keys
        case .undefined: return []
        case .iterator(let it): return it.drain()
        default: throw Failure("'\(typeName)' object is not iterable")
        }
    }

    /// `len(value)`.
    func length() throws -> Int {
        switch self {
        case .string(let s): return s.unicodeScalars.count
        case .list(let a), .tuple(let a): return a.count
        case .dict(let d): return d.count
        case .undefined: return 0
        default: throw Failure("object of type '\(typeName)' has no len()")
        }
    }

    static let maxLength = 1 << 26

    static func arithmetic(_ op: Jinja.BinaryOp, _ a: Value, _ b: Value) throws -> Value {
        if let e = undefinedUse(a, b) { throw e }
        func unsupported() -> Failure {
            if op == .add, case .string = a { return Failure("can only concatenate str (not \"\(b.typeName)\") to str") }
            return Failure("unsupported operand type(s) for \(op.rawValue): '\(a.typeName)' and '\(b.typeName)'")
        }
        func overflow() -> Failure { Failure("integer overflow in '\(op.rawValue)'") }
        switch (op, a, b) {
        case (.add, .string(let x), .string(let y)):
            guard x.utf8.count + y.utf8.count <= maxLength else { throw Failure("string too long") }
            return .string(x + y)
        case (.add, .list(let x), .list(let y)): return .list(x + y)
        case (.add, .tuple(let x), .tuple(let y)): return .tuple(x + y)
        case (.multiply, .string(let s), _), (.multiply, _, .string(let s)):
            guard let n = (a.index != nil ? a : b).index else { throw Failure("can't multiply sequence by non-int of type '\((a.index != nil ? b : a).typeName)'") }
            if n <= 0 { return .string("") }
            guard s.isEmpty || n <= maxLength / s.utf8.count else { throw Failure("string too long") }
            return .string(String(repeating: s, count: n))
        case (.multiply, .list(let x), _), (.multiply, _, .list(let x)):
            guard let n = (a.index != nil ? a : b).index else { throw Failure("can't multiply sequence by non-int of type '\((a.index != nil ? b : a).typeName)'") }
            if n <= 0 { return .list([]) }
            guard x.isEmpty || n <= maxLength / x.count else { throw Failure("list too long") }
            return .list(Array([[Value]](repeating: x, count: n).joined()))
        case (.modulo, .string, _):
            throw Failure("unsupported '%' string formatting")
        default:
            break
        }
        if let x = a.index, let y = b.index {
            switch op {
            case .add:
                let r = x.addingReportingOverflow(y)
                if r.overflow { throw overflow() }
                return .int(r.partialValue)
            case .subtract:
                let r = x.subtractingReportingOverflow(y)
                if r.overflow { throw overflow() }
                return .int(r.partialValue)
            case .multiply:
                let r = x.multipliedReportingOverflow(by: y)
                if r.overflow { throw overflow() }
                return .int(r.partialValue)
            case .divide:
                guard y != 0 else { throw Failure("division by zero") }
                return .float(Double(x) / Double(y))
            case .floorDivide, .modulo:
                guard y != 0 else { throw Failure(op == .modulo ? "integer modulo by zero" : "integer division or modulo by zero") }
                if x == .min, y == -1 { throw overflow() }
                var q = x / y, r = x % y
                if r != 0, (r < 0) != (y < 0) { q -= 1; r += y }
                return .int(op == .modulo ? r : q)
            case .power:
                if y < 0 { return .float(pow(Double(x), Double(y))) }
                var result = 1, base = x, e = y
                while e > 0 {
                    if e & 1 == 1 {
                        let r = result.multipliedReportingOverflow(by: base)
                        if r.overflow { throw overflow() }
                        result = r.partialValue
                    }
                    e >>= 1
                    if e > 0 {
                        let r = base.multipliedReportingOverflow(by: base)
                        if r.overflow { throw overflow() }
                        base = r.partialValue
                    }
                }
                return .int(result)
            }
        }
        guard let x = a.number, let y = b.number else { throw unsupported() }
        switch op {
        case .add: return .float(x + y)
        case .subtract: return .float(x - y)
        case .multiply: return .float(x * y)
        case .divide:
            guard y != 0 else { throw Failure("float division by zero") }
            return .float(x / y)
        case .floorDivide, .modulo:
            guard y != 0 else { throw Failure(op == .modulo ? "float modulo" : "float floor division by zero") }
            var mod = fmod(x, y)
            var div = (x - mod) / y
            if mod != 0 {
                if (y < 0) != (mod < 0) { mod += y; div -= 1 }
            } else {
                mod = copysign(0, y)
            }
            var floorDiv = div
            if div != 0 {
                floorDiv = div.rounded(.down)
                if div - floorDiv > 0.5 { floorDiv += 1 }
            } else {
                floorDiv = copysign(0, x / y)
            }
            return .float(op == .modulo ? mod : floorDiv)
        case .power:
            if x < 0, y != y.rounded() { throw Failure("unsupported complex result of '**'") }
            if x == 0, y < 0 { throw Failure("0.0 cannot be raised to a negative power") }
            let r = pow(x, y)
            if r.isInfinite, x.isFinite, y.isFinite { throw Failure("(34, 'Numerical result out of range')") }
            return .float(r)
        }
    }
}

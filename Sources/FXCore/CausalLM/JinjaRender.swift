extension Jinja {
    /// Variables visible at one point: a `for` iteration, a macro call, `with` and `set` blocks each get a scope of
    /// their own, as jinja2's frames do, so `set` inside a loop does not change what is outside it (a namespace
    /// does).
    final class Scope {
        var vars: [String: Value] = [:]
        let parent: Scope?

        init(_ parent: Scope?) { self.parent = parent }

        func lookup(_ name: String) -> Value? {
            var scope: Scope? = self
            while let s = scope {
                if let v = s.vars[name] { return v }
                scope = s.parent
            }
            return nil
        }
    }

    /// How a statement ended: normally, or by `break`/`continue` on the way to its loop.
    enum Flow {
        case normal, breakLoop, continueLoop
    }

    /// Walks the tree once, writing the output. Limits keep any input from exhausting the machine: macro calls
    /// 64 deep, 300 levels of nesting in all (expressions within block bodies within macro calls, as Python's one
    /// recursion limit counts them), five million loop iterations (by default), 64 MiB of output.
    final class Renderer {
        private var out = ""
        private let root: Scope
        private var steps = 0
        private let maxSteps: Int
        private var callDepth = 0
        private var depth = 0
        static let defaultMaxSteps = 5_000_000
        static let maxCallDepth = 64
        static let maxDepth = 300

        init(_ variables: [String: Value], maxSteps: Int = defaultMaxSteps) {
            self.maxSteps = maxSteps
            root = Scope(nil)
            root.vars = Builtins.globals()
            for (name, value) in variables { root.vars[name] = value }
        }

        func render(_ body: [Stmt]) throws -> String {
            _ = try run(body, Scope(root))
            return out
        }

        private func write(_ text: String) throws {
            out += text
            if out.utf8.count > Value.maxLength { throw Failure("the output is too long") }
        }

        private func step() throws {
            steps += 1
            if steps > maxSteps { throw Failure("the template runs too long") }
        }

        private func enter() throws {
            depth += 1
            if depth > Self.maxDepth {
                depth -= 1
                throw Failure("the template nests too deeply while rendering")
            }
        }

        private func run(_ body: [Stmt], _ scope: Scope) throws -> Flow {
            try enter()
            defer { depth -= 1 }
            for stmt in body {
                let flow = try exec(stmt, scope)
                if flow != .normal { return flow }
            }
            return .normal
        }

        /// The output of `body`, written aside.
        private func capture(_ body: [Stmt], _ scope: Scope) throws -> (String, Flow) {
            let saved = out
            out = ""
            defer { out = saved }
            let flow = try run(body, scope)
            return (out, flow)
        }

        private func exec(_ stmt: Stmt, _ scope: Scope) throws -> Flow {
            switch stmt {
            case .text(let text):
                try write(text)
            case .output(let node):
                try write(try eval(node, scope).str)
            case .print(let nodes):
                for node in nodes { try write(try eval(node, scope).str) }
            case .conditional(let branches, let otherwise):
                for (test, body) in branches {
                    if try eval(test, scope).truthy { return try run(body, scope) }
                }
                return try run(otherwise, scope)
            case .loop(let loop):
                return try runLoop(loop, scope)
            case .assign(let target, let node):
                try assign(target, try eval(node, scope), scope, line: node.line)
            case .assignBlock(let target, let filters, let body, let line):
                let (text, flow) = try capture(body, Scope(scope))
                if flow != .normal { return flow }
                var value = Value.string(text)
                for filter in filters { value = try apply(filter, value, scope) }
                try assign(target, value, scope, line: line)
            case .macro(let macro):
                scope.vars[macro.name] = makeMacro(macro, scope)
            case .scoped(let body):
                _ = try run(body, Scope(scope))
            case .with(let pairs, let body):
                let inner = Scope(scope)
                for (target, node) in pairs { try assign(target, try eval(node, scope), inner, line: node.line) }
                return try run(body, inner)
            case .filterBlock(let filters, let body):
                let (text, flow) = try capture(body, Scope(scope))
                var value = Value.string(text)
                for filter in filters { value = try apply(filter, value, scope) }
                try write(value.str)
                return flow
            case .breakLoop:
                return .breakLoop
            case .continueLoop:
                return .continueLoop
            case .declare(let names):
                for name in names { scope.vars[name] = .undefined("'\(name)' is undefined") }
            }
            return .normal
        }

        private func runLoop(_ loop: Loop, _ scope: Scope) throws -> Flow {
            var items: [Value]
            do { items = try eval(loop.iterable, scope).iterate() } catch var f as Failure {
                f.line = f.line ?? loop.iterable.line
                throw f
            }
            if let filter = loop.filter {
                var kept: [Value] = []
                for item in items {
                    try step()
                    let s = Scope(scope)
                    try assign(loop.target, item, s, line: filter.line)
                    if try eval(filter, s).truthy { kept.append(item) }
                }
                items = kept
            }
            if items.isEmpty { return try run(loop.otherwise, Scope(scope)) }
            let changed = Changed()
            for (i, item) in items.enumerated() {
                try step()
                let s = Scope(scope)
                try assign(loop.target, item, s, line: loop.iterable.line)
                s.vars["loop"] = loopObject(i, items, changed)
                if try run(loop.body, s) == .breakLoop { break }
            }
            return .normal
        }

        /// What `loop.changed(...)` compares with, for one loop.
        private final class Changed {
            var last: [Value]?
        }

        /// `loop` in iteration `i` of `items`.
        private func loopObject(_ i: Int, _ items: [Value], _ changed: Changed) -> Value {
            let n = items.count
            return .object(Object("LoopContext") { name in
                switch name {
                case "index": return .int(i + 1)
                case "index0": return .int(i)
                case "revindex": return .int(n - i)
                case "revindex0": return .int(n - i - 1)
                case "first": return .bool(i == 0)
                case "last": return .bool(i == n - 1)
                case "length": return .int(n)
                case "depth": return .int(1)
                case "depth0": return .int(0)
                case "previtem": return i > 0 ? items[i - 1] : .undefined("there is no previous item")
                case "nextitem": return i < n - 1 ? items[i + 1] : .undefined("there is no next item")
                case "cycle":
                    return .function(Function(name: "loop.cycle") { args in
                        guard !args.positional.isEmpty else { throw Failure("no items for cycling given") }
                        return args.positional[i % args.positional.count]
                    })
                case "changed":
                    return .function(Function(name: "loop.changed") { args in
                        if let last = changed.last, last.count == args.positional.count,
                           zip(last, args.positional).allSatisfy({ Value.equal($0, $1) }) {
                            return .bool(false)
                        }
                        changed.last = args.positional
                        return .bool(true)
                    })
                default: return nil
                }
            })
        }

        private func assign(_ target: Target, _ value: Value, _ scope: Scope, line: Int) throws {
            switch target {
            case .name(let name):
                scope.vars[name] = value
            case .tuple(let targets):
                let items: [Value]
                do { items = try value.iterate() } catch var f as Failure {
                    f.line = line
                    throw f
                }
                guard items.count == targets.count else {
                    throw Failure(items.count > targets.count ? "too many values to unpack (expected \(targets.count))"
                        : "not enough values to unpack (expected \(targets.count), got \(items.count))", line: line)
                }
                for (t, v) in zip(targets, items) { try assign(t, v, scope, line: line) }
            case .attribute(let name, let attribute):
                guard case .namespace(let ns)? = scope.lookup(name) else {
                    throw Failure("cannot assign attribute on non-namespace object", line: line)
                }
                do { try Builtins.setAttribute(ns, .string(attribute), value) } catch var f as Failure {
                    f.line = line
                    throw f
                }
            }
        }

        private func makeMacro(_ macro: Macro, _ scope: Scope) -> Value {
            .function(Function(name: macro.name) { [weak self, weak scope] args in
                guard let self else { throw Failure("macro '\(macro.name)' called after rendering") }
                return try self.call(macro, scope ?? self.root, args)
            })
        }

        /// A macro call: parameters from the arguments, then from the defaults (evaluated now, in the macro's
        /// scope); a parameter with neither is undefined, as in jinja2.
        private func call(_ macro: Macro, _ scope: Scope, _ args: Arguments) throws -> Value {
            callDepth += 1
            defer { callDepth -= 1 }
            guard callDepth <= Self.maxCallDepth else { throw Failure("macro calls nested too deeply") }
            for value in args.positional + args.keywords.map(\.1) where value.nesting() > Value.maxNesting {
                throw Failure("a value nested more than \(Value.maxNesting) deep")
            }
            guard args.positional.count <= macro.params.count else {
                throw Failure("macro '\(macro.name)' takes not more than \(macro.params.count) argument(s)")
            }
            for (key, _) in args.keywords where !macro.params.contains(key) {
                throw Failure("macro '\(macro.name)' takes no keyword argument '\(key)'")
            }
            let s = Scope(scope)
            let firstDefault = macro.params.count - macro.defaults.count
            for (i, param) in macro.params.enumerated() {
                if i < args.positional.count {
                    s.vars[param] = args.positional[i]
                } else if let v = args.keywords.first(where: { $0.0 == param })?.1 {
                    s.vars[param] = v
                } else if i >= firstDefault {
                    s.vars[param] = try eval(macro.defaults[i - firstDefault], s)
                } else {
                    s.vars[param] = .undefined("parameter '\(param)' was not provided")
                }
            }
            return .string(try capture(macro.body, s).0)
        }

        private func apply(_ filter: FilterCall, _ value: Value, _ scope: Scope) throws -> Value {
            do {
                let args = Arguments(positional: try filter.args.map { try eval($0, scope) },
                                     keywords: try filter.kwargs.map { ($0.0, try eval($0.1, scope)) })
                return try Builtins.filter(filter.name, value, args)
            } catch var f as Failure {
                f.line = f.line ?? filter.line
                throw f
            }
        }

        func eval(_ node: Node, _ scope: Scope) throws -> Value {
            try enter()
            defer { depth -= 1 }
            do {
                return try evaluate(node, scope)
            } catch var f as Failure {
                f.line = f.line ?? node.line
                throw f
            }
        }

        private func arguments(_ args: [Node], _ kwargs: [(String, Node)], _ scope: Scope) throws -> Arguments {
            Arguments(positional: try args.map { try eval($0, scope) }, keywords: try kwargs.map { ($0.0, try eval($0.1, scope)) })
        }

        private func evaluate(_ node: Node, _ scope: Scope) throws -> Value {
            switch node.expr {
            case .literal(let literal):
                return Value(literal)
            case .name(let name):
                return scope.lookup(name) ?? .undefined("'\(name)' is undefined")
            case .list(let items):
                return .list(try items.map { try eval($0, scope) })
            case .tuple(let items):
                return .tuple(try items.map { try eval($0, scope) })
            case .dict(let pairs):
                var d = Dict()
                for (k, v) in pairs { try d.set(try eval(k, scope), try eval(v, scope)) }
                return .dict(d)
            case .attribute(let obj, let name):
                return try Builtins.getattr(try eval(obj, scope), name)
            case .item(let obj, let key):
                return try Builtins.getitem(try eval(obj, scope), try eval(key, scope))
            case .slice(let obj, let start, let stop, let step):
                let value = try eval(obj, scope)
                return try Builtins.slice(value, try start.map { try eval($0, scope) }, try stop.map { try eval($0, scope) },
                                          try step.map { try eval($0, scope) })
            case .call(let callee, let args, let kwargs):
                let f = try eval(callee, scope)
                let a = try arguments(args, kwargs, scope)
                switch f {
                case .function(let function): return try function.call(a)
                case .undefined(let message): throw Failure(message)
                default: throw Failure("'\(f.typeName)' object is not callable")
                }
            case .filter(let operand, let filter):
                return try apply(filter, try eval(operand, scope), scope)
            case .test(let operand, let name, let args, let kwargs):
                let value = try eval(operand, scope)
                return .bool(try Builtins.test(name, value, try arguments(args, kwargs, scope)))
            case .not(let operand):
                return .bool(!(try eval(operand, scope).truthy))
            case .negate(let operand), .plus(let operand):
                let v = try eval(operand, scope)
                if let e = Value.undefinedUse(v) { throw e }
                var negate = false
                if case .negate = node.expr { negate = true }
                switch v {
                case .int(let i):
                    guard !negate || i != .min else { throw Failure("integer overflow in '-'") }
                    return .int(negate ? -i : i)
                case .bool(let b): return .int(b ? (negate ? -1 : 1) : 0)
                case .float(let d): return .float(negate ? -d : d)
                default: throw Failure("bad operand type for unary \(negate ? "-" : "+"): '\(v.typeName)'")
                }
            case .binary(let op, let a, let b):
                return try Value.arithmetic(op, try eval(a, scope), try eval(b, scope))
            case .concat(let items):
                var text = ""
                for item in items {
                    text += try eval(item, scope).str
                    if text.utf8.count > Value.maxLength { throw Failure("string too long") }
                }
                return .string(text)
            case .and(let a, let b):
                let x = try eval(a, scope)
                return try x.truthy ? eval(b, scope) : x
            case .or(let a, let b):
                let x = try eval(a, scope)
                return try x.truthy ? x : eval(b, scope)
            case .compare(let first, let ops):
                var left = try eval(first, scope)
                for (op, node) in ops {
                    let right = try eval(node, scope)
                    if !(try compare(op, left, right)) { return .bool(false) }
                    left = right
                }
                return .bool(true)
            case .conditional(let test, let then, let otherwise):
                if try eval(test, scope).truthy { return try eval(then, scope) }
                if let otherwise { return try eval(otherwise, scope) }
                return .undefined("the inline if-expression on line \(node.line) evaluated to false and no else section was defined.")
            }
        }

        private func compare(_ op: CompareOp, _ a: Value, _ b: Value) throws -> Bool {
            switch op {
            case .equal: return Value.equal(a, b)
            case .notEqual: return !Value.equal(a, b)
            case .less: return try Value.less(a, b, orEqual: false, op: "<")
            case .lessEqual: return try Value.less(a, b, orEqual: true, op: "<=")
            case .greater: return try Value.less(b, a, orEqual: false, op: ">")
            case .greaterEqual: return try Value.less(b, a, orEqual: true, op: ">=")
            case .contains: return try Value.contains(b, a)
            case .notContains: return !(try Value.contains(b, a))
            }
        }
    }
}

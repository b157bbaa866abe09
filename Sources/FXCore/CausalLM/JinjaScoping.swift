extension Jinja {
    /// jinja2 decides at compile time, frame by frame, where each name comes from (`jinja2/idtracking.py`), as
    /// Python does for locals. A frame is the template, a loop body, a loop's `else`, a macro, a `with` block, the
    /// body of a set block, filter block or `generation` block; `if` branches belong to their frame. In a frame, a
    /// name whose first reference (in template order) is an assignment outside any `if` branch, and that no
    /// enclosing frame references, starts undefined: it does not fall back to the context. So
    /// `{% for m in ms %}{{ n }}{% endfor %}{% set n = 1 %}` prints nothing for `n` even when the context has one.
    /// This pass finds those names and starts each frame's statements with a `.declare` of them; every other name
    /// is looked up through the enclosing scopes at run time, which gives what jinja2's aliases and context
    /// lookups give.
    enum Scoping {
        /// `body` as one frame whose parameters are `params`, inside frames referencing `enclosing`.
        static func frame(_ body: [Stmt], params: Set<String>, enclosing: Set<String>) -> [Stmt] {
            var refs = params
            var undefined: [String] = []
            visit(body, inBranch: false, &refs, &undefined, enclosing)
            let visible = refs.union(enclosing)
            let processed = body.map { nested($0, visible) }
            return undefined.isEmpty ? processed : [.declare(undefined)] + processed
        }

        /// Records the names `body` references in this frame: loads add a reference; an assignment to an
        /// unreferenced name outside a branch also makes it start undefined.
        private static func visit(_ body: [Stmt], inBranch: Bool, _ refs: inout Set<String>, _ undefined: inout [String],
                                  _ enclosing: Set<String>) {
            func load(_ node: Node) {
                for name in names(node) where !enclosing.contains(name) { refs.insert(name) }
            }
            func store(_ target: Target) {
                switch target {
                case .name(let name):
                    guard !refs.contains(name) else { return }
                    refs.insert(name)
                    if !inBranch, !enclosing.contains(name) { undefined.append(name) }
                case .tuple(let targets):
                    targets.forEach(store)
                case .attribute(let name, _):
                    if !enclosing.contains(name) { refs.insert(name) }
                }
            }
            func loadFilters(_ filters: [FilterCall]) {
                for f in filters {
                    f.args.forEach(load)
                    f.kwargs.forEach { load($0.1) }
                }
            }
            for stmt in body {
                switch stmt {
                case .text, .breakLoop, .continueLoop, .declare, .scoped:
                    break
                case .output(let node):
                    load(node)
                case .print(let nodes):
                    nodes.forEach(load)
                case .conditional(let branches, let otherwise):
                    for (test, branch) in branches {
                        load(test)
                        visit(branch, inBranch: true, &refs, &undefined, enclosing)
                    }
                    visit(otherwise, inBranch: true, &refs, &undefined, enclosing)
                case .loop(let loop):
                    load(loop.iterable)
                case .assign(let target, let node):
                    load(node)
                    store(target)
                case .assignBlock(let target, let filters, _, _):
                    loadFilters(filters)
                    store(target)
                case .macro(let macro):
                    store(.name(macro.name))
                case .with(let pairs, _):
                    pairs.forEach { load($0.1) }
                case .filterBlock(let filters, _):
                    loadFilters(filters)
                }
            }
        }

        /// The statement with the frames nested in it analysed, inside a frame referencing `visible`.
        private static func nested(_ stmt: Stmt, _ visible: Set<String>) -> Stmt {
            switch stmt {
            case .conditional(let branches, let otherwise):
                return .conditional(branches.map { ($0.0, $0.1.map { nested($0, visible) }) }, otherwise: otherwise.map { nested($0, visible) })
            case .loop(var loop):
                loop.body = frame(loop.body, params: targetNames(loop.target).union(["loop"]), enclosing: visible)
                loop.otherwise = frame(loop.otherwise, params: [], enclosing: visible)
                return .loop(loop)
            case .macro(var macro):
                macro.body = frame(macro.body, params: Set(macro.params), enclosing: visible)
                return .macro(macro)
            case .assignBlock(let target, let filters, let body, let line):
                return .assignBlock(target, filters, frame(body, params: [], enclosing: visible), line: line)
            case .scoped(let body):
                return .scoped(frame(body, params: [], enclosing: visible))
            case .with(let pairs, let body):
                let params = pairs.reduce(into: Set<String>()) { $0.formUnion(targetNames($1.0)) }
                return .with(pairs, frame(body, params: params, enclosing: visible))
            case .filterBlock(let filters, let body):
                return .filterBlock(filters, frame(body, params: [], enclosing: visible))
            default:
                return stmt
            }
        }

        private static func targetNames(_ target: Target) -> Set<String> {
            switch target {
            case .name(let name): return [name]
            case .tuple(let targets): return targets.reduce(into: Set<String>()) { $0.formUnion(targetNames($1)) }
            case .attribute: return []
            }
        }

        /// The variable names an expression reads.
        static func names(_ node: Node) -> [String] {
            var out: [String] = []
            func walk(_ n: Node) {
                if case .name(let name) = n.expr { out.append(name) }
                n.expr.forEachChild(walk)
            }
            walk(node)
            return out
        }
    }
}

/// A small Jinja interpreter for chat templates: the subset of Jinja2 that models' chat templates use, rendered as
/// Hugging Face transformers renders them (`ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)`
/// with the `loopcontrols` extension, transformers' own `tojson`, `raise_exception` and `strftime_now`).
///
/// The stages, a file each: `JinjaLexer.swift` cuts the source into tokens, applying white-space control as jinja2's
/// lexer does; `JinjaParser.swift` builds the tree below, rejecting unknown filters and tests and unsupported tags up
/// front; `JinjaScoping.swift` marks the names each frame starts undefined, as jinja2's compiler decides them;
/// `JinjaRender.swift` walks the tree with Python's semantics (`JinjaValue.swift`, `JinjaPython.swift`) and the
/// filters, tests and methods of `JinjaBuiltins.swift`.
///
/// Not supported (a clear error, never a wrong rendering): template inheritance and inclusion (`extends`, `block`,
/// `include`, `import`), `call` blocks, recursive loops, `*args`/`**kwargs` in calls, `str.format` and `%`
/// formatting, complex numbers, and the filters and tests not listed in `JinjaBuiltins.swift`. Whole numbers are
/// 64-bit (Python's are unbounded): an overflow is an error. Where jinja2 prints an object's address (a generator,
/// a function) the text differs; `range(...)`, `dict.items()` and the like are lists, so they print as lists.
///
/// No input crashes it: nesting is bounded while parsing (64 levels of blocks and brackets, expression trees 200
/// deep) and while rendering (see `Renderer`), as are loop iterations, output size and the depth of values kept
/// across iterations.
enum Jinja {
    /// A template parsed once, rendered many times.
    struct Template: Sendable {
        let body: [Stmt]

        init(_ source: String) throws {
            var lexer = Lexer(source)
            let tokens = try lexer.tokens()
            var parser = Parser(tokens)
            body = Scoping.frame(try parser.parseTemplate(), params: [], enclosing: [])
        }

        /// Renders with `variables` as the template's context; the globals (`range`, `namespace`, `dict`,
        /// `raise_exception`, `strftime_now`) sit below them. More than `maxSteps` loop iterations is an error.
        func render(_ variables: [String: Value], maxSteps: Int = Renderer.defaultMaxSteps) throws -> String {
            let renderer = Renderer(variables, maxSteps: maxSteps)
            return try renderer.render(body)
        }
    }

    /// An error in the template or while rendering it, without its place; `line` is filled in on the way out.
    struct Failure: Error {
        var message: String
        var line: Int?

        init(_ message: String, line: Int? = nil) {
            self.message = message
            self.line = line
        }

        var fxError: FXError {
            FXError.data("chat template: " + message + (line.map { " at line \($0)" } ?? ""))
        }
    }

    /// `raise_exception(message)` called by the template: the message is the whole error.
    struct Raised: Error {
        var message: String
    }

    // MARK: - The syntax tree

    enum Literal: Sendable {
        case none
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
    }

    /// An expression, the line it starts on, and how deep its tree is.
    struct Node: Sendable {
        let expr: Expr
        let line: Int
        let depth: Int

        init(expr: Expr, line: Int) {
            self.expr = expr
            self.line = line
            var deepest = 0
            expr.forEachChild { deepest = max(deepest, $0.depth) }
            depth = deepest + 1
        }
    }

    enum BinaryOp: String, Sendable {
        case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%", power = "**"
    }

    enum CompareOp: String, Sendable {
        case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
        case contains = "in", notContains = "not in"
    }

    /// `| name(args)`.
    struct FilterCall: Sendable {
        var name: String
        var args: [Node]
        var kwargs: [(String, Node)]
        var line: Int
    }

    indirect enum Expr: Sendable {
        case literal(Literal)
        case name(String)
        case list([Node])
        case tuple([Node])
        case dict([(Node, Node)])
        /// `a.b`: an attribute first, then an item.
        case attribute(Node, String)
        /// `a[b]`: an item first, then an attribute.
        case item(Node, Node)
        /// `a[start:stop:step]`.
        case slice(Node, Node?, Node?, Node?)
        case call(Node, [Node], [(String, Node)])
        case filter(Node, FilterCall)
        case test(Node, String, [Node], [(String, Node)])
        case not(Node)
        case negate(Node)
        case plus(Node)
        case binary(BinaryOp, Node, Node)
        /// `a ~ b ~ c`.
        case concat([Node])
        case and(Node, Node)
        case or(Node, Node)
        /// `a < b <= c`: chained as in Python.
        case compare(Node, [(CompareOp, Node)])
        /// `then if test else otherwise`.
        case conditional(test: Node, then: Node, otherwise: Node?)
    }

    /// Where `set`, `for` and `with` store: a name, a tuple to unpack, or `namespace.attribute`.
    indirect enum Target: Sendable {
        case name(String)
        case tuple([Target])
        case attribute(String, String)
    }

    struct Loop: Sendable {
        var target: Target
        var iterable: Node
        /// `for x in xs if test`.
        var filter: Node?
        var body: [Stmt]
        /// `{% else %}`: rendered when nothing was iterated.
        var otherwise: [Stmt]
    }

    struct Macro: Sendable {
        var name: String
        var params: [String]
        /// The defaults of the last `defaults.count` parameters.
        var defaults: [Node]
        var body: [Stmt]
    }

    indirect enum Stmt: Sendable {
        case text(String)
        case output(Node)
        /// `if`/`elif` branches in order, then `else`.
        case conditional([(Node, [Stmt])], otherwise: [Stmt])
        case loop(Loop)
        case assign(Target, Node)
        /// `{% set x %}...{% endset %}`, with optional filters.
        case assignBlock(Target, [FilterCall], [Stmt], line: Int)
        case macro(Macro)
        /// A body with its own scope (transformers' `{% generation %}` blocks).
        case scoped([Stmt])
        case with([(Target, Node)], [Stmt])
        case filterBlock([FilterCall], [Stmt])
        case print([Node])
        case breakLoop
        case continueLoop
        /// Names this frame starts undefined (see `Scoping`).
        case declare([String])
    }
}

extension Jinja.Expr {
    /// Calls `body` with each direct sub-expression.
    func forEachChild(_ body: (Jinja.Node) -> Void) {
        switch self {
        case .literal, .name: break
        case .list(let items), .tuple(let items), .concat(let items): items.forEach(body)
        case .dict(let pairs): pairs.forEach { body($0.0); body($0.1) }
        case .attribute(let obj, _): body(obj)
        case .item(let a, let b), .binary(_, let a, let b), .and(let a, let b), .or(let a, let b): body(a); body(b)
        case .slice(let obj, let a, let b, let c): body(obj); [a, b, c].compactMap { $0 }.forEach(body)
        case .call(let callee, let args, let kwargs): body(callee); args.forEach(body); kwargs.forEach { body($0.1) }
        case .filter(let operand, let f): body(operand); f.args.forEach(body); f.kwargs.forEach { body($0.1) }
        case .test(let operand, _, let args, let kwargs): body(operand); args.forEach(body); kwargs.forEach { body($0.1) }
        case .not(let x), .negate(let x), .plus(let x): body(x)
        case .compare(let first, let ops): body(first); ops.forEach { body($0.1) }
        case .conditional(let test, let then, let otherwise): body(test); body(then); otherwise.map(body)
        }
    }
}

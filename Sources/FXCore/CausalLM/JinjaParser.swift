extension Jinja {
    /// jinja2's recursive-descent parser, rule for rule: statements (`for`, `if`, `set`, `macro`, `with`, `filter`,
    /// `print`, `break`, `continue`, transformers' `generation`) and expressions with jinja2's precedence, from
    /// the lowest: `x if c else y`, `or`, `and`, `not`, comparisons and `in`, `+ -`, `~`, `* / // %`, `**`, unary
    /// `- +`, then postfix `.a [i] (args)` and the filters and tests (`| f`, `is t`) that bind tighter than any
    /// operator.
    struct Parser {
        private let tokens: [Token]
        private var i = 0
        /// Open blocks, innermost last: tag and line, for messages about a missing end tag.
        private var open: [(String, Int)] = []
        private var loops = 0
        private var depth = 0
        private static let maxDepth = 64

        init(_ tokens: [Token]) { self.tokens = tokens }

        private var current: Token { tokens[i] }
        private func peek(_ n: Int = 1) -> Token { tokens[min(i + n, tokens.count - 1)] }
        private mutating func advance() { if i < tokens.count - 1 { i += 1 } }

        private func fail(_ message: String, _ token: Token? = nil) -> Failure {
            Failure(message, line: (token ?? current).line)
        }

        private mutating func expectOp(_ op: String) throws {
            guard current.isOp(op) else { throw fail("expected '\(op)', got '\(current.described)'") }
            advance()
        }

        private mutating func expectName() throws -> String {
            guard current.kind == .name else { throw fail("expected a name, got '\(current.described)'") }
            defer { advance() }
            return current.text
        }

        private mutating func expectKind(_ kind: Token.Kind, _ what: String) throws {
            guard current.kind == kind else { throw fail("expected \(what), got '\(current.described)'") }
            advance()
        }

        private mutating func skipName(_ name: String) -> Bool {
            guard current.isName(name) else { return false }
            advance()
            return true
        }

        /// The deepest expression tree accepted: a long chain (`a + b + ...`, `x | f | g ...`) nests as deeply as
        /// parentheses do, and evaluating or freeing a tree recurses through it.
        private static let maxExpressionDepth = 200

        private func make(_ expr: Expr, line: Int) throws -> Node {
            let n = Node(expr: expr, line: line)
            if n.depth > Self.maxExpressionDepth { throw Failure("expression nested too deeply", line: line) }
            return n
        }

        private mutating func nest() throws {
            depth += 1
            if depth > Self.maxDepth { throw fail("the template is nested too deeply") }
        }

        // MARK: Statements

        mutating func parseTemplate() throws -> [Stmt] {
            try subparse(until: [])
        }

        /// Statements up to a block tag named in `end` (left unread), or to the end of the template.
        private mutating func subparse(until end: Set<String>) throws -> [Stmt] {
            var body: [Stmt] = []
            while current.kind != .eof {
                switch current.kind {
                case .data:
                    body.append(.text(current.text))
                    advance()
                case .variableBegin:
                    advance()
                    body.append(.output(try parseTuple()))
                    try expectKind(.variableEnd, "'}}'")
                case .blockBegin:
                    advance()
                    if current.kind == .name, end.contains(current.text) { return body }
                    body.append(try parseStatement())
                    try expectKind(.blockEnd, "'%}'")
                default:
                    throw fail("unexpected '\(current.described)'")
                }
            }
            return body
        }

        /// The body of a block, after its opening tag's end, up to one of `end`; with `drop`, the end tag's name is
        /// read too.
        private mutating func parseBody(_ end: Set<String>, drop: Bool = false) throws -> [Stmt] {
            if current.isOp(":") { advance() }
            try expectKind(.blockEnd, "'%}'")
            try nest()
            let body = try subparse(until: end)
            depth -= 1
            if current.kind == .eof {
                let (tag, line) = open.last ?? ("block", current.line)
                let ends = end.sorted().map { "'\($0)'" }.joined(separator: " or ")
                throw Failure("unclosed '\(tag)' (expected \(ends))", line: line)
            }
            if drop { advance() }
            return body
        }

        private mutating func parseStatement() throws -> Stmt {
            let token = current
            guard token.kind == .name else { throw fail("expected a tag name, got '\(token.described)'") }
            open.append((token.text, token.line))
            defer { open.removeLast() }
            advance()
            switch token.text {
            case "if": return try parseIf()
            case "for": return try parseFor()
            case "set": return try parseSet()
            case "macro": return try parseMacro()
            case "with": return try parseWith()
            case "filter":
                let filters = try parseFilters(inline: true)
                return .filterBlock(filters, try parseBody(["endfilter"], drop: true))
            case "print":
                var nodes: [Node] = []
                while current.kind != .blockEnd {
                    if !nodes.isEmpty { try expectOp(",") }
                    nodes.append(try parseExpression())
                }
                return .print(nodes)
            case "generation":
                return .scoped(try parseBody(["endgeneration"], drop: true))
            case "break", "continue":
                guard loops > 0 else { throw fail("'\(token.text)' outside a loop", token) }
                return token.text == "break" ? .breakLoop : .continueLoop
            case "block", "extends", "include", "import", "from", "call", "autoescape", "do", "trans":
                throw fail("unsupported tag '\(token.text)'", token)
            case "elif", "else", "endif", "endfor", "endset", "endmacro", "endwith", "endfilter", "endgeneration":
                throw fail("unexpected '\(token.text)'", token)
            default:
                throw fail("unknown tag '\(token.text)'", token)
            }
        }

        private mutating func parseIf() throws -> Stmt {
            var branches: [(Node, [Stmt])] = []
            var otherwise: [Stmt] = []
            while true {
                let test = try parseTuple(withCondition: false)
                let body = try parseBody(["elif", "else", "endif"])
                branches.append((test, body))
                let tag = current.text
                advance()
                if tag == "elif" { continue }
                if tag == "else" { otherwise = try parseBody(["endif"], drop: true) }
                break
            }
            return .conditional(branches, otherwise: otherwise)
        }

        private mutating func parseFor() throws -> Stmt {
            let target = try parseTarget(extraEnd: ["in"])
            guard skipName("in") else { throw fail("expected 'in', got '\(current.described)'") }
            let iterable = try parseTuple(withCondition: false, extraEnd: ["recursive"])
            let filter = try skipName("if") ? parseExpression() : nil
            if current.isName("recursive") { throw fail("unsupported recursive loop") }
            loops += 1
            let body = try parseBody(["endfor", "else"])
            loops -= 1
            var otherwise: [Stmt] = []
            if current.isName("else") {
                advance()
                otherwise = try parseBody(["endfor"], drop: true)
            } else {
                advance()
            }
            return .loop(Loop(target: target, iterable: iterable, filter: filter, body: body, otherwise: otherwise))
        }

        private mutating func parseSet() throws -> Stmt {
            let line = current.line
            let target = try parseTarget(withNamespace: true)
            if current.isOp("=") {
                advance()
                return .assign(target, try parseTuple())
            }
            let filters = try parseFilters(inline: false)
            return .assignBlock(target, filters, try parseBody(["endset"], drop: true), line: line)
        }

        private mutating func parseMacro() throws -> Stmt {
            let name = try expectName()
            var params: [String] = []
            var defaults: [Node] = []
            try expectOp("(")
            while !current.isOp(")") {
                if !params.isEmpty { try expectOp(",") }
                params.append(try expectName())
                if current.isOp("=") {
                    advance()
                    defaults.append(try parseExpression())
                } else if !defaults.isEmpty {
                    throw fail("non-default argument follows default argument")
                }
            }
            advance()
            let savedLoops = loops
            loops = 0
            defer { loops = savedLoops }
            return .macro(Macro(name: name, params: params, defaults: defaults, body: try parseBody(["endmacro"], drop: true)))
        }

        private mutating func parseWith() throws -> Stmt {
            var pairs: [(Target, Node)] = []
            while current.kind != .blockEnd {
                if !pairs.isEmpty { try expectOp(",") }
                let target = try parseTarget()
                try expectOp("=")
                pairs.append((target, try parseExpression()))
            }
            return .with(pairs, try parseBody(["endwith"], drop: true))
        }

        /// An assignment target: a name, `ns.attr` (with `withNamespace`), or names separated by commas.
        private mutating func parseTarget(extraEnd: Set<String> = [], withNamespace: Bool = false) throws -> Target {
            var targets: [Target] = []
            var isTuple = false
            while true {
                if !targets.isEmpty { try expectOp(",") }
                if isTupleEnd(extraEnd) { break }
                targets.append(try parseTargetPrimary(withNamespace: withNamespace))
                if current.isOp(",") { isTuple = true } else { break }
            }
            if !isTuple, let only = targets.first { return only }
            if targets.isEmpty { throw fail("expected an assignment target, got '\(current.described)'") }
            return .tuple(targets)
        }

        private mutating func parseTargetPrimary(withNamespace: Bool) throws -> Target {
            let token = current
            if token.isOp("(") {
                advance()
                try nest()
                let inner = try parseTarget()
                depth -= 1
                try expectOp(")")
                return inner
            }
            guard token.kind == .name else { throw fail("can't assign to '\(token.described)'") }
            guard !["true", "false", "True", "False", "none", "None"].contains(token.text) else {
                throw fail("can't assign to '\(token.text)'")
            }
            advance()
            if withNamespace, current.isOp(".") {
                advance()
                return .attribute(token.text, try expectName())
            }
            return .name(token.text)
        }

        // MARK: Expressions

        private func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
            switch current.kind {
            case .variableEnd, .blockEnd: return true
            case .op: return current.text == ")"
            case .name: return extraEnd.contains(current.text)
            default: return false
            }
        }

        /// Expressions separated by commas: a tuple when there is a comma, else the one expression.
        private mutating func parseTuple(withCondition: Bool = true, extraEnd: Set<String> = [], parenthesised: Bool = false) throws -> Node {
            let line = current.line
            var items: [Node] = []
            var isTuple = false
            while true {
                if !items.isEmpty { try expectOp(",") }
                if isTupleEnd(extraEnd) { break }
                items.append(try withCondition ? parseExpression() : parseOr())
                if current.isOp(",") { isTuple = true } else { break }
            }
            if !isTuple {
                if let only = items.first { return only }
                if !parenthesised { throw fail("expected an expression, got '\(current.described)'") }
            }
            return try make(.tuple(items), line: line)
        }

        private mutating func parseExpression() throws -> Node {
            var node = try parseOr()
            while current.isName("if") {
                advance()
                let test = try parseOr()
                var otherwise: Node?
                if skipName("else") { otherwise = try parseExpression() }
                node = try make(.conditional(test: test, then: node, otherwise: otherwise), line: node.line)
            }
            return node
        }

        private mutating func parseOr() throws -> Node {
            var left = try parseAnd()
            while current.isName("or") {
                advance()
                left = try make(.or(left, try parseAnd()), line: left.line)
            }
            return left
        }

        private mutating func parseAnd() throws -> Node {
            var left = try parseNot()
            while current.isName("and") {
                advance()
                left = try make(.and(left, try parseNot()), line: left.line)
            }
            return left
        }

        private mutating func parseNot() throws -> Node {
            guard current.isName("not") else { return try parseCompare() }
            let line = current.line
            advance()
            try nest()
            defer { depth -= 1 }
            return try make(.not(try parseNot()), line: line)
        }

        private mutating func parseCompare() throws -> Node {
            let left = try parseMath1()
            var ops: [(CompareOp, Node)] = []
            while true {
                if current.kind == .op, let op = CompareOp(rawValue: current.text), op != .contains, op != .notContains {
                    advance()
                    ops.append((op, try parseMath1()))
                } else if current.isName("in") {
                    advance()
                    ops.append((.contains, try parseMath1()))
                } else if current.isName("not"), peek().isName("in") {
                    advance()
                    advance()
                    ops.append((.notContains, try parseMath1()))
                } else {
                    break
                }
            }
            return ops.isEmpty ? left : try make(.compare(left, ops), line: left.line)
        }

        private mutating func parseMath1() throws -> Node {
            var left = try parseConcat()
            while current.isOp("+") || current.isOp("-") {
                let op: BinaryOp = current.text == "+" ? .add : .subtract
                advance()
                left = try make(.binary(op, left, try parseConcat()), line: left.line)
            }
            return left
        }

        private mutating func parseConcat() throws -> Node {
            var items = [try parseMath2()]
            while current.isOp("~") {
                advance()
                items.append(try parseMath2())
            }
            return items.count == 1 ? items[0] : try make(.concat(items), line: items[0].line)
        }

        private mutating func parseMath2() throws -> Node {
            var left = try parsePow()
            while current.kind == .op, let op = BinaryOp(rawValue: current.text), ([.multiply, .divide, .floorDivide, .modulo] as [BinaryOp]).contains(op) {
                advance()
                left = try make(.binary(op, left, try parsePow()), line: left.line)
            }
            return left
        }

        private mutating func parsePow() throws -> Node {
            var left = try parseUnary()
            while current.isOp("**") {
                advance()
                left = try make(.binary(.power, left, try parseUnary()), line: left.line)
            }
            return left
        }

        private mutating func parseUnary(withFilters: Bool = true) throws -> Node {
            let line = current.line
            var node: Node
            if current.isOp("-") || current.isOp("+") {
                let negate = current.text == "-"
                advance()
                try nest()
                let operand = try parseUnary(withFilters: false)
                depth -= 1
                node = try make(negate ? .negate(operand) : .plus(operand), line: line)
            } else {
                node = try parsePrimary()
            }
            node = try parsePostfix(node)
            if withFilters { node = try parseFilterExpr(node) }
            return node
        }

        private mutating func parsePrimary() throws -> Node {
            let token = current
            let line = token.line
            switch token.kind {
            case .name:
                advance()
                switch token.text {
                case "true", "True": return try make(.literal(.bool(true)), line: line)
                case "false", "False": return try make(.literal(.bool(false)), line: line)
                case "none", "None": return try make(.literal(.none), line: line)
                default: return try make(.name(token.text), line: line)
                }
            case .string:
                var text = token.text
                advance()
                while current.kind == .string {
                    text += current.text
                    advance()
                }
                return try make(.literal(.string(text)), line: line)
            case .integer:
                advance()
                return try make(.literal(.int(token.int)), line: line)
            case .float:
                advance()
                return try make(.literal(.float(token.float)), line: line)
            case .op where token.text == "(":
                advance()
                try nest()
                let node = try parseTuple(parenthesised: true)
                depth -= 1
                try expectOp(")")
                return node
            case .op where token.text == "[":
                advance()
                try nest()
                var items: [Node] = []
                while !current.isOp("]") {
                    if !items.isEmpty { try expectOp(",") }
                    if current.isOp("]") { break }
                    items.append(try parseExpression())
                }
                depth -= 1
                advance()
                return try make(.list(items), line: line)
            case .op where token.text == "{":
                advance()
                try nest()
                var pairs: [(Node, Node)] = []
                while !current.isOp("}") {
                    if !pairs.isEmpty { try expectOp(",") }
                    if current.isOp("}") { break }
                    let key = try parseExpression()
                    try expectOp(":")
                    pairs.append((key, try parseExpression()))
                }
                depth -= 1
                advance()
                return try make(.dict(pairs), line: line)
            default:
                throw fail("unexpected '\(token.described)'")
            }
        }

        private mutating func parsePostfix(_ start: Node) throws -> Node {
            var node = start
            while true {
                if current.isOp(".") || current.isOp("[") {
                    node = try parseSubscript(node)
                } else if current.isOp("(") {
                    node = try parseCall(node)
                } else {
                    return node
                }
            }
        }

        private mutating func parseFilterExpr(_ start: Node) throws -> Node {
            var node = start
            while true {
                if current.isOp("|") {
                    for filter in try parseFilters(inline: false) { node = try make(.filter(node, filter), line: filter.line) }
                } else if current.isName("is") {
                    node = try parseTest(node)
                } else if current.isOp("(") {
                    node = try parseCall(node)
                } else {
                    return node
                }
            }
        }

        private mutating func parseSubscript(_ node: Node) throws -> Node {
            let line = current.line
            if current.isOp(".") {
                advance()
                let token = current
                advance()
                if token.kind == .name { return try make(.attribute(node, token.text), line: line) }
                guard token.kind == .integer else { throw fail("expected a name or number after '.'", token) }
                return try make(.item(node, try make(.literal(.int(token.int)), line: line)), line: line)
            }
            advance()  // [
            try nest()
            defer { depth -= 1 }
            var args: [Node] = []
            var slice: (Node?, Node?, Node?)?
            while !current.isOp("]") {
                if !args.isEmpty || slice != nil { try expectOp(",") }
                if let parts = try parseSubscribed() {
                    guard args.isEmpty, slice == nil else { throw fail("unsupported subscript with several slices") }
                    slice = parts
                } else {
                    args.append(try parseExpression())
                }
            }
            advance()
            if let slice {
                guard args.isEmpty else { throw fail("unsupported subscript with several slices") }
                return try make(.slice(node, slice.0, slice.1, slice.2), line: line)
            }
            guard !args.isEmpty else { throw fail("expected a subscript expression") }
            let key = args.count == 1 ? args[0] : try make(.tuple(args), line: line)
            return try make(.item(node, key), line: line)
        }

        /// A slice `start:stop:step` (any part optional), or nil (with nothing read) when the subscript is a
        /// plain expression.
        private mutating func parseSubscribed() throws -> (Node?, Node?, Node?)? {
            let save = i
            var start: Node?
            if !current.isOp(":") {
                let saveDepth = depth
                let node = try parseExpression()
                guard current.isOp(":") else { i = save; depth = saveDepth; return nil }
                start = node
            }
            advance()  // :
            var stop: Node?
            if !current.isOp(":"), !current.isOp("]"), !current.isOp(",") { stop = try parseExpression() }
            var step: Node?
            if current.isOp(":") {
                advance()
                if !current.isOp("]"), !current.isOp(",") { step = try parseExpression() }
            }
            return (start, stop, step)
        }

        private mutating func parseCallArgs() throws -> ([Node], [(String, Node)]) {
            try expectOp("(")
            try nest()
            defer { depth -= 1 }
            var args: [Node] = []
            var kwargs: [(String, Node)] = []
            var first = true
            while !current.isOp(")") {
                if !first {
                    try expectOp(",")
                    if current.isOp(")") { break }
                }
                first = false
                if current.isOp("*") || current.isOp("**") { throw fail("unsupported '\(current.text)' argument") }
                if current.kind == .name, peek().isOp("=") {
                    let key = current.text
                    advance()
                    advance()
                    kwargs.append((key, try parseExpression()))
                } else {
                    guard kwargs.isEmpty else { throw fail("a positional argument follows a keyword argument") }
                    args.append(try parseExpression())
                }
            }
            advance()
            return (args, kwargs)
        }

        private mutating func parseCall(_ node: Node) throws -> Node {
            let line = current.line
            let (args, kwargs) = try parseCallArgs()
            return try make(.call(node, args, kwargs), line: line)
        }

        /// `| name(args) | name ...`; with `inline`, the first filter has no `|` (the `filter` tag).
        private mutating func parseFilters(inline: Bool) throws -> [FilterCall] {
            var filters: [FilterCall] = []
            var first = inline
            while current.isOp("|") || first {
                if !first { advance() }
                first = false
                let line = current.line
                var name = try expectName()
                while current.isOp(".") {
                    advance()
                    name += "." + (try expectName())
                }
                guard Builtins.filterNames.contains(name) else { throw Failure("unsupported filter '\(name)'", line: line) }
                var args: [Node] = []
                var kwargs: [(String, Node)] = []
                if current.isOp("(") { (args, kwargs) = try parseCallArgs() }
                filters.append(FilterCall(name: name, args: args, kwargs: kwargs, line: line))
            }
            return filters
        }

        private mutating func parseTest(_ node: Node) throws -> Node {
            let line = current.line
            advance()  // is
            let negated = skipName("not")
            var name = try expectName()
            while current.isOp(".") {
                advance()
                name += "." + (try expectName())
            }
            guard Builtins.testNames.contains(name) else { throw Failure("unsupported test '\(name)'", line: line) }
            var args: [Node] = []
            var kwargs: [(String, Node)] = []
            if current.isOp("(") {
                (args, kwargs) = try parseCallArgs()
            } else if ([.name, .string, .integer, .float] as [Token.Kind]).contains(current.kind) || current.isOp("[") || current.isOp("{"),
                      !current.isName("else"), !current.isName("or"), !current.isName("and") {
                if current.isName("is") { throw fail("cannot chain tests with 'is'") }
                args = [try parsePostfix(try parsePrimary())]
            }
            let test = try make(.test(node, name, args, kwargs), line: line)
            return negated ? try make(.not(test), line: line) : test
        }
    }
}

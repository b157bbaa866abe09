/// Charts as inline SVG for fx-eval --report: heat maps, bars, scatter maps, lines and histograms, drawn from
/// numbers alone (no script, no font or style fetched), with every value also in a `<title>` for hover.
enum SVG {
    /// Text for HTML and SVG: &, <, >, " and ' escaped.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab and newline are not allowed in XML.
                if c.value < 0x20 && c != "\t" && c != "\n" { out += " " } else { out.unicodeScalars.append(c) }
            }
        }
        return out
    }

    /// A number for an attribute: at most two decimals.
    static func n(_ x: Double) -> String {
        let r = (x * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// A label cut to `limit` characters (the whole label stays in the `<title>`).
    static func short(_ s: String, _ limit: Int) -> String {
        s.count <= limit ? s : String(s.prefix(limit - 1)) + "…"
    }

    /// About how wide `s` is at `size` px in a sans-serif font.
    static func width(_ s: String, _ size: Double) -> Double { Double(s.count) * size * 0.58 }

    /// Round tick values covering lo...hi, about `count` of them (1, 2, 2.5 or 5 times a power of ten apart).
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(max(count, 1))
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-9) } ?? raw
        let first = (lo / step - 1e-9).rounded(.up), last = (hi / step + 1e-9).rounded(.down)
        guard last >= first, last - first < 1000 else { return [lo, hi] }
        // k x step, rounded to a multiple of a tenth of the magnitude, so 3 x 0.1 is 0.3
        return stride(from: first, through: last, by: 1).map { k in (k * step / magnitude * 10).rounded() * magnitude / 10 }
    }

    static func tickText(_ t: Double) -> String {
        if t != 0 && (abs(t) >= 1e5 || abs(t) < 1e-3) { return String(Float(t)) }
        let r = (t * 1000).rounded() / 1000
        return r == r.rounded() ? String(Int(r)) : String(r)
    }


    // MARK: - Charts

    /// A heat map: `counts[i][j]` for row i and column j, coloured by `shade[i][j]` in 0...1 (sequential
    /// palette; light grey where the count is 0), with the count in each cell large enough to hold it and `title(i, j)` on hover.
    static func heatMap(rows: [String], columns: [String], counts: [[Int]], shade: [[Double]], rowAxis: String, columnAxis: String,
                        legend: String, title: (Int, Int) -> String) -> String {
        let cell = max(8.0, min(30.0, 720.0 / Double(max(rows.count, columns.count, 1))))
        let font = min(12.0, max(9.0, cell * 0.8))
        let left = min(220.0, (rows.map { width(short($0, 32), font) }.max() ?? 0) + 10) + 18
        let bottom = min(200.0, (columns.map { width(short($0, 32), font) }.max() ?? 0) * 0.82 + 12) + 22
        let top = 8.0
        let w = left + cell * Double(columns.count) + 90, h = top + cell * Double(rows.count) + bottom
        var s = "<svg class=\"heatmap\" role=\"img\" width=\"\(n(w))\" height=\"\(n(h))\" viewBox=\"0 0 \(n(w)) \(n(h))\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (i, r) in rows.enumerated() {
            let y = top + cell * (Double(i) + 0.5)
            s += "<text class=\"row-label\" x=\"\(n(left - 6))\" y=\"\(n(y))\" font-size=\"\(n(font))\" text-anchor=\"end\" dominant-baseline=\"middle\"><title>\(escape(r))</title>\(escape(short(r, 32)))</text>"
        }
        for (j, c) in columns.enumerated() {
            let x = left + cell * (Double(j) + 0.5), y = top + cell * Double(rows.count) + 6
            s += "<text class=\"column-label\" transform=\"translate(\(n(x)),\(n(y))) rotate(-55)\" font-size=\"\(n(font))\" text-anchor=\"end\" dominant-baseline=\"middle\"><title>\(escape(c))</title>\(escape(short(c, 32)))</text>"
        }
        for i in rows.indices {
            for j in columns.indices {
                let x = left + cell * Double(j), y = top + cell * Double(i)
                let v = shade[i][j]
                s += "<rect class=\"cell\" x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(cell))\" height=\"\(n(cell))\" fill=\"\(counts[i][j] == 0 ? "#f2f2f2" : Palette.sequential(v))\" stroke=\"#fff\" stroke-width=\"0.5\"><title>\(escape(title(i, j)))</title></rect>"
                let text = String(counts[i][j])
                if counts[i][j] > 0 && cell >= 16 && width(text, font * 0.85) < cell - 2 {
                    s += "<text x=\"\(n(x + cell / 2))\" y=\"\(n(y + cell / 2))\" font-size=\"\(n(font * 0.85))\" text-anchor=\"middle\" dominant-baseline=\"central\" fill=\"\(v > 0.55 ? "#000" : "#fff")\" pointer-events=\"none\">\(text)</text>"
                }
            }
        }
        // Axis names, and the colour scale.
        s += "<text x=\"\(n(left + cell * Double(columns.count) / 2))\" y=\"\(n(h - 4))\" font-size=\"12\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(columnAxis))</text>"
        s += "<text transform=\"translate(12,\(n(top + cell * Double(rows.count) / 2))) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(rowAxis))</text>"
        let lx = left + cell * Double(columns.count) + 24, lh = min(200, cell * Double(rows.count))
        for k in 0..<20 {
            let v = 1 - Double(k) / 19
            s += "<rect x=\"\(n(lx))\" y=\"\(n(top + lh * Double(k) / 20))\" width=\"14\" height=\"\(n(lh / 20 + 0.5))\" fill=\"\(Palette.sequential(v))\"/>"
        }
        s += "<text x=\"\(n(lx + 18))\" y=\"\(n(top + 8))\" font-size=\"10\">100%</text><text x=\"\(n(lx + 18))\" y=\"\(n(top + lh))\" font-size=\"10\">0%</text>"
        s += "<text transform=\"translate(\(n(lx + 50)),\(n(top + lh / 2))) rotate(90)\" font-size=\"10\" text-anchor=\"middle\">\(escape(legend))</text>"
        return s + "</svg>"
    }

    /// Horizontal bars: for each row, one bar per series (values in 0...1, shown on an axis up to `axisMax`), a
    /// note at the right.
    static func bars(rows: [String], series: [(name: String, css: String, values: [Double])], notes: [String], axisMax: Double = 1) -> String {
        let font = 11.0, bar = series.count == 1 ? 11.0 : 5.0, gap = 4.0
        let group = bar * Double(series.count) + gap
        let left = min(220.0, (rows.map { width(short($0, 32), font) }.max() ?? 0) + 10), plot = 420.0, top = 24.0
        let w = left + plot + 110, h = top + group * Double(rows.count) + 24
        var s = "<svg class=\"bars\" role=\"img\" width=\"\(n(w))\" height=\"\(n(h))\" viewBox=\"0 0 \(n(w)) \(n(h))\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (k, one) in series.enumerated() {  // legend
            let x = left + Double(k) * 110
            s += "<rect x=\"\(n(x))\" y=\"4\" width=\"12\" height=\"10\" fill=\"\(Palette.category(k))\"/><text x=\"\(n(x + 16))\" y=\"13\" font-size=\"11\">\(escape(one.name))</text>"
        }
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            let x = left + plot * t
            s += "<line x1=\"\(n(x))\" y1=\"\(n(top - 4))\" x2=\"\(n(x))\" y2=\"\(n(h - 20))\" stroke=\"#ddd\"/><text x=\"\(n(x))\" y=\"\(n(h - 6))\" font-size=\"10\" text-anchor=\"middle\">\(tickText(axisMax == 1 ? t : (t * axisMax).rounded()))</text>"
        }
        for (i, r) in rows.enumerated() {
            let y = top + group * Double(i)
            s += "<text x=\"\(n(left - 6))\" y=\"\(n(y + group / 2 - gap / 2))\" font-size=\"\(n(font))\" text-anchor=\"end\" dominant-baseline=\"middle\"><title>\(escape(r))</title>\(escape(short(r, 32)))</text>"
            for (k, one) in series.enumerated() {
                let v = max(0, min(1, one.values[i]))
                s += "<rect class=\"bar bar-\(one.css)\" x=\"\(n(left))\" y=\"\(n(y + bar * Double(k)))\" width=\"\(n(max(plot * v, 0.5)))\" height=\"\(n(bar))\" fill=\"\(Palette.category(k))\"><title>\(escape(r)): \(one.name) \(tickText((one.values[i] * axisMax * 1000).rounded() / 1000))</title></rect>"
            }
            s += "<text x=\"\(n(left + plot + 6))\" y=\"\(n(y + group / 2 - gap / 2))\" font-size=\"10\" dominant-baseline=\"middle\" fill=\"#444\">\(escape(notes[i]))</text>"
        }
        return s + "</svg>"
    }

    /// A scatter map: each point coloured and shaped by its group (eight colours times five shapes), `title` on hover.
    static func scatter(points: [(x: Double, y: Double, group: Int, title: String)], groups: [String], xAxis: String, yAxis: String) -> String {
        let w = 760.0, h = 560.0, pad = 36.0, legendWidth = 200.0
        let xs = points.map(\.x), ys = points.map(\.y)
        let (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1), (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        let sx = (w - legendWidth - 2 * pad) / max(x1 - x0, 1e-12), sy = (h - 2 * pad) / max(y1 - y0, 1e-12)
        var s = "<svg class=\"scatter\" role=\"img\" width=\"\(n(w))\" height=\"\(n(h))\" viewBox=\"0 0 \(n(w)) \(n(h))\" xmlns=\"http://www.w3.org/2000/svg\">"
        s += "<rect x=\"\(n(pad - 6))\" y=\"\(n(pad - 6))\" width=\"\(n(w - legendWidth - 2 * pad + 12))\" height=\"\(n(h - 2 * pad + 12))\" fill=\"none\" stroke=\"#bbb\"/>"
        s += "<text x=\"\(n((w - legendWidth) / 2))\" y=\"\(n(h - 8))\" font-size=\"12\" text-anchor=\"middle\">\(escape(xAxis))</text>"
        s += "<text transform=\"translate(14,\(n(h / 2))) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">\(escape(yAxis))</text>"
        for p in points {
            let x = pad + (p.x - x0) * sx, y = h - pad - (p.y - y0) * sy
            s += "<g class=\"point\">" + marker(x, y, p.group, 3.2) + "<title>\(escape(p.title))</title></g>"
        }
        let shown = min(groups.count, Int((h - 20) / 13))
        for (g, name) in groups.prefix(shown).enumerated() {
            let y = 16 + Double(g) * 13
            s += marker(w - legendWidth + 10, y, g, 4) + "<text x=\"\(n(w - legendWidth + 20))\" y=\"\(n(y))\" font-size=\"10\" dominant-baseline=\"middle\"><title>\(escape(name))</title>\(escape(short(name, 30)))</text>"
        }
        if shown < groups.count {
            s += "<text x=\"\(n(w - legendWidth + 10))\" y=\"\(n(16 + Double(shown) * 13))\" font-size=\"10\">… \(groups.count - shown) more</text>"
        }
        return s + "</svg>"
    }

    /// Group `g`'s marker: colour `g % 8` of Okabe and Ito's palette, one of five shapes by `g / 8`.
    static func marker(_ x: Double, _ y: Double, _ g: Int, _ r: Double) -> String {
        let fill = Palette.category(g)
        switch (g / Palette.categories.count) % 5 {
        case 0: return "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" fill=\"\(fill)\" fill-opacity=\"0.8\"/>"
        case 1: return "<rect x=\"\(n(x - r))\" y=\"\(n(y - r))\" width=\"\(n(2 * r))\" height=\"\(n(2 * r))\" fill=\"\(fill)\" fill-opacity=\"0.8\"/>"
        case 2: return "<path d=\"M\(n(x)),\(n(y - r * 1.2))L\(n(x + r * 1.1)),\(n(y + r * 0.8))L\(n(x - r * 1.1)),\(n(y + r * 0.8))Z\" fill=\"\(fill)\" fill-opacity=\"0.8\"/>"
        case 3: return "<path d=\"M\(n(x)),\(n(y - r * 1.3))L\(n(x + r * 1.3)),\(n(y))L\(n(x)),\(n(y + r * 1.3))L\(n(x - r * 1.3)),\(n(y))Z\" fill=\"\(fill)\" fill-opacity=\"0.8\"/>"
        default: return "<path d=\"M\(n(x - r)),\(n(y - r))L\(n(x + r)),\(n(y + r))M\(n(x + r)),\(n(y - r))L\(n(x - r)),\(n(y + r))\" stroke=\"\(fill)\" stroke-width=\"2\"/>"
        }
    }

    /// Lines over a shared x axis: one per series, with a point and a `<title>` at each value.
    static func lines(series: [(name: String, points: [(x: Double, y: Double)])], xAxis: String, yAxis: String) -> String {
        let w = 640.0, h = 300.0, left = 56.0, right = 170.0, top = 14.0, bottom = 40.0
        let all = series.flatMap(\.points).filter { $0.y.isFinite }
        var (x0, x1) = (all.map(\.x).min() ?? 0, all.map(\.x).max() ?? 1)
        var (y0, y1) = (all.map(\.y).min() ?? 0, all.map(\.y).max() ?? 1)
        if x1 <= x0 { x0 -= 0.5; x1 += 0.5 }
        if y1 <= y0 { y0 -= 0.5; y1 += 0.5 }
        let pw = w - left - right, ph = h - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * pw }
        func py(_ y: Double) -> Double { top + ph - (y - y0) / (y1 - y0) * ph }
        var s = "<svg class=\"lines\" role=\"img\" width=\"\(n(w))\" height=\"\(n(h))\" viewBox=\"0 0 \(n(w)) \(n(h))\" xmlns=\"http://www.w3.org/2000/svg\">"
        for t in ticks(y0, y1) {
            s += "<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(left + pw))\" y2=\"\(n(py(t)))\" stroke=\"#e3e3e3\"/><text x=\"\(n(left - 6))\" y=\"\(n(py(t)))\" font-size=\"10\" text-anchor=\"end\" dominant-baseline=\"middle\">\(tickText(t))</text>"
        }
        for t in ticks(x0, x1) {
            s += "<text x=\"\(n(px(t)))\" y=\"\(n(top + ph + 14))\" font-size=\"10\" text-anchor=\"middle\">\(tickText(t))</text>"
        }
        s += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(pw))\" height=\"\(n(ph))\" fill=\"none\" stroke=\"#999\"/>"
        s += "<text x=\"\(n(left + pw / 2))\" y=\"\(n(h - 6))\" font-size=\"12\" text-anchor=\"middle\">\(escape(xAxis))</text>"
        s += "<text transform=\"translate(14,\(n(top + ph / 2))) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\">\(escape(yAxis))</text>"
        for (k, one) in series.enumerated() {
            let points = one.points.filter { $0.y.isFinite }
            let colour = Palette.category(k)
            if points.count > 1 {
                s += "<polyline class=\"series\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(k % 2 == 1 ? " stroke-dasharray=\"6 3\"" : "") points=\"\(points.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " "))\"/>"
            }
            for p in points {
                s += "<circle class=\"epoch-point\" cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"3\" fill=\"\(colour)\"><title>\(escape(one.name)) at \(xAxis) \(tickText(p.x)): \(tickText((p.y * 10000).rounded() / 10000))</title></circle>"
            }
            s += "<line x1=\"\(n(w - right + 10))\" y1=\"\(n(top + 8 + 16 * Double(k)))\" x2=\"\(n(w - right + 30))\" y2=\"\(n(top + 8 + 16 * Double(k)))\" stroke=\"\(colour)\" stroke-width=\"2\"\(k % 2 == 1 ? " stroke-dasharray=\"6 3\"" : "")/>"
            s += "<text x=\"\(n(w - right + 34))\" y=\"\(n(top + 8 + 16 * Double(k)))\" font-size=\"11\" dominant-baseline=\"middle\">\(escape(one.name))</text>"
        }
        return s + "</svg>"
    }

    /// A histogram: `counts[i]` for bin i, named `names[i]`.
    static func histogram(counts: [Int], names: [String], xAxis: String) -> String {
        let w = 600.0, h = 260.0, left = 48.0, top = 12.0, bottom = 52.0
        let pw = w - left - 12, ph = h - top - bottom
        let peak = Double(max(counts.max() ?? 1, 1))
        let bw = pw / Double(max(counts.count, 1))
        var s = "<svg class=\"histogram\" role=\"img\" width=\"\(n(w))\" height=\"\(n(h))\" viewBox=\"0 0 \(n(w)) \(n(h))\" xmlns=\"http://www.w3.org/2000/svg\">"
        for t in ticks(0, peak, count: 4) {
            let y = top + ph - t / peak * ph
            s += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + pw))\" y2=\"\(n(y))\" stroke=\"#e3e3e3\"/><text x=\"\(n(left - 6))\" y=\"\(n(y))\" font-size=\"10\" text-anchor=\"end\" dominant-baseline=\"middle\">\(tickText(t))</text>"
        }
        for (i, c) in counts.enumerated() {
            let bh = Double(c) / peak * ph, x = left + bw * Double(i)
            s += "<rect class=\"bin\" x=\"\(n(x + 1))\" y=\"\(n(top + ph - bh))\" width=\"\(n(max(bw - 2, 1)))\" height=\"\(n(bh))\" fill=\"\(Palette.category(4))\"><title>\(escape(names[i])): \(c)</title></rect>"
            if i % max(1, counts.count / 10) == 0 {
                s += "<text transform=\"translate(\(n(x + bw / 2)),\(n(top + ph + 8))) rotate(-45)\" font-size=\"10\" text-anchor=\"end\">\(escape(names[i]))</text>"
            }
        }
        s += "<line x1=\"\(n(left))\" y1=\"\(n(top + ph))\" x2=\"\(n(left + pw))\" y2=\"\(n(top + ph))\" stroke=\"#999\"/>"
        s += "<text x=\"\(n(left + pw / 2))\" y=\"\(n(h - 4))\" font-size=\"12\" text-anchor=\"middle\">\(escape(xAxis))</text>"
        return s + "</svg>"
    }
}

/// Colour-blind-safe colours: Okabe and Ito's eight for categories, viridis for quantities.
enum Palette {
    static let categories = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

    static func category(_ i: Int) -> String { categories[i % categories.count] }

    /// Viridis at `t` in 0...1 (dark purple to yellow), interpolated between nine stops.
    static func sequential(_ t: Double) -> String {
        let stops: [(Double, Double, Double)] = [(68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
                                                  (31, 158, 137), (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37)]
        let x = max(0, min(1, t.isFinite ? t : 0)) * Double(stops.count - 1)
        let i = min(Int(x), stops.count - 2), f = x - Double(i)
        let (a, b) = (stops[i], stops[i + 1])
        func hex(_ v: Double) -> String {
            let s = String(Int((v).rounded()), radix: 16)
            return s.count == 1 ? "0" + s : s
        }
        return "#" + hex(a.0 + (b.0 - a.0) * f) + hex(a.1 + (b.1 - a.1) * f) + hex(a.2 + (b.2 - a.2) * f)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

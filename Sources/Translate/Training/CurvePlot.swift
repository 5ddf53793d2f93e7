import Foundation

/// A line chart as a standalone SVG document: training and validation curves against updates.
///
/// Several panels stack vertically (e.g. loss on top, BLEU below); each panel has its own y axis
/// and any number of named series. No fonts or scripts are needed to view it.
struct CurvePlot {
    struct Series {
        var name: String
        var color: String
        /// (x, y) points; non-finite y values are skipped.
        var points: [(x: Double, y: Double)]
    }

    struct Panel {
        var title: String
        var series: [Series]
    }

    var xLabel: String
    var panels: [Panel]
    var width = 720.0
    var panelHeight = 260.0

    func svg() -> String {
        let height = panelHeight * Double(panels.count)
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" \
            viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>

            """
        for (index, panel) in panels.enumerated() {
            out += render(panel, top: Double(index) * panelHeight)
        }
        return out + "</svg>\n"
    }

    private func render(_ panel: Panel, top: Double) -> String {
        let left = 64.0, right = width - 16, upper = top + 28, lower = top + panelHeight - 36
        let points = panel.series.flatMap { $0.points.filter { $0.y.isFinite && $0.x.isFinite } }
        var out = "<text x=\"\(fmt(left))\" y=\"\(fmt(top + 18))\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
        out += "<rect x=\"\(fmt(left))\" y=\"\(fmt(upper))\" width=\"\(fmt(right - left))\" height=\"\(fmt(lower - upper))\" fill=\"none\" stroke=\"#888\"/>\n"
        guard let minX = points.map(\.x).min(), let maxX = points.map(\.x).max(),
            let minY = points.map(\.y).min(), let maxY = points.map(\.y).max()
        else {
            return out + "<text x=\"\(fmt((left + right) / 2))\" y=\"\(fmt((upper + lower) / 2))\" text-anchor=\"middle\" fill=\"#888\">no data yet</text>\n"
        }
        let spanX = maxX > minX ? maxX - minX : 1
        let padY = maxY > minY ? (maxY - minY) * 0.05 : max(abs(maxY) * 0.05, 1)
        let lowY = minY - padY, spanY = (maxY + padY) - lowY
        func sx(_ x: Double) -> Double { left + (x - minX) / spanX * (right - left) }
        func sy(_ y: Double) -> Double { lower - (y - lowY) / spanY * (lower - upper) }
        // Axis ticks: five on each axis, labelled with the data values.
        for tick in 0...4 {
            let fraction = Double(tick) / 4
            let yValue = lowY + fraction * spanY, xValue = minX + fraction * spanX
            out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(sy(yValue) + 4))\" text-anchor=\"end\">\(label(yValue))</text>\n"
            out += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(right))\" y1=\"\(fmt(sy(yValue)))\" y2=\"\(fmt(sy(yValue)))\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(fmt(sx(xValue)))\" y=\"\(fmt(lower + 16))\" text-anchor=\"middle\">\(label(xValue))</text>\n"
        }
        out += "<text x=\"\(fmt((left + right) / 2))\" y=\"\(fmt(lower + 32))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        for (index, series) in panel.series.enumerated() {
            let valid = series.points.filter { $0.y.isFinite && $0.x.isFinite }
            if valid.count > 1 {
                let path = valid.map { "\(fmt(sx($0.x))),\(fmt(sy($0.y)))" }.joined(separator: " ")
                out += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
            }
            for point in valid where valid.count <= 60 {
                out += "<circle cx=\"\(fmt(sx(point.x)))\" cy=\"\(fmt(sy(point.y)))\" r=\"2.5\" fill=\"\(series.color)\"/>\n"
            }
            let legendY = upper + 16 + Double(index) * 16
            out += "<line x1=\"\(fmt(right - 150))\" x2=\"\(fmt(right - 130))\" y1=\"\(fmt(legendY - 4))\" y2=\"\(fmt(legendY - 4))\" stroke=\"\(series.color)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(fmt(right - 124))\" y=\"\(fmt(legendY))\">\(escape(series.name))</text>\n"
        }
        return out
    }
}

private func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

/// A tick label: integers without decimals, small values with a few.
private func label(_ value: Double) -> String {
    if abs(value) >= 100 || value == value.rounded() { return String(format: "%.0f", value) }
    return String(format: abs(value) >= 10 ? "%.1f" : "%.2f", value)
}

private func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;")
}

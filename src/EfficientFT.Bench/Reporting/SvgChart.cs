using System.Globalization;
using System.Xml.Linq;

namespace EfficientFT.Bench.Reporting;

internal enum AxisScale { Linear, Log10, Log2 }

/// <summary>
/// One point of a series; <see cref="Error"/> draws a ±error bar, <see cref="Label"/> a text beside it, and
/// <see cref="Dodge"/> shifts it that many pixels sideways so points at one x (and their bars) stay apart.
/// </summary>
internal sealed record ChartPoint(double X, double Y, double Error = 0, string? Label = null, string? Tooltip = null, double Dodge = 0);

internal sealed record ChartSeries(string Name, string Color, IReadOnlyList<ChartPoint> Points)
{
    public bool Line { get; init; } = true;
    public string Dash { get; init; } = "";
    public MarkerShape? Marker { get; init; } = MarkerShape.Circle;
}

/// <summary>
/// A small inline-SVG x/y chart: axes with round ticks (linear, log10 or log2), grid, error bars, labelled markers
/// placed so labels do not overlap, and a legend under the plot. Built as an <see cref="XElement"/>, so the output is
/// well-formed XML; no xmlns is written because inline SVG in HTML needs none.
/// </summary>
internal sealed class SvgChart(string title, string xLabel, string yLabel)
{
    private const double Width = 560, PlotHeight = 300, Left = 62, Right = 18, Top = 34, BottomAxis = 46;
    private const double FontSize = 12, CharWidth = 6.6;

    private readonly List<ChartSeries> _series = [];

    public AxisScale XScale { get; init; } = AxisScale.Linear;
    public AxisScale YScale { get; init; } = AxisScale.Linear;
    public Func<double, string> XTickFormat { get; init; } = DefaultTick;
    public Func<double, string> YTickFormat { get; init; } = DefaultTick;

    /// <summary>Legend entries that explain encodings (e.g. marker shape = targets) beyond the series names.</summary>
    public List<(string Name, string Color, MarkerShape? Marker, string? Dash)> ExtraLegend { get; } = [];

    public bool SeriesInLegend { get; init; } = true;

    public void Add(ChartSeries series) => _series.Add(series);

    public XElement Render()
    {
        var points = _series.SelectMany(s => s.Points).Where(p => Finite(p.X, XScale) && Finite(p.Y, YScale)).ToList();
        var (x0, x1) = Domain(points.Select(p => p.X), XScale);
        var (y0, y1) = Domain(points.SelectMany(p => new[] { p.Y - p.Error, p.Y + p.Error }).Where(v => Finite(v, YScale)), YScale);
        var plotW = Width - Left - Right;
        double Px(double x) => Left + (T(x, XScale) - T(x0, XScale)) / (T(x1, XScale) - T(x0, XScale)) * plotW;
        double Py(double y) => Top + PlotHeight - (T(y, YScale) - T(y0, YScale)) / (T(y1, YScale) - T(y0, YScale)) * PlotHeight;

        var legend = LegendEntries();
        var legendRows = LayoutLegend(legend, Width - Left, out var legendItems);
        var height = Top + PlotHeight + BottomAxis + legendRows * 18 + (legendRows > 0 ? 8 : 0);
        var svg = new XElement("svg",
            new XAttribute("viewBox", $"0 0 {F(Width)} {F(height)}"),
            new XAttribute("width", "100%"),
            new XAttribute("role", "img"),
            new XAttribute("font-family", "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"),
            new XAttribute("font-size", F(FontSize)),
            new XElement("title", title),
            Text(Width / 2, 18, title, "middle", weight: "600", size: 13));

        // Grid, ticks and axis labels.
        foreach (var t in Ticks(x0, x1, XScale))
        {
            var px = Px(t);
            svg.Add(Line(px, Top, px, Top + PlotHeight, "#e3e3e3"), Line(px, Top + PlotHeight, px, Top + PlotHeight + 5, "#555"),
                Text(px, Top + PlotHeight + 18, XTickFormat(t), "middle", fill: "#333"));
        }
        foreach (var t in Ticks(y0, y1, YScale))
        {
            var py = Py(t);
            svg.Add(Line(Left, py, Left + plotW, py, "#e3e3e3"), Line(Left - 5, py, Left, py, "#555"),
                Text(Left - 8, py + 4, YTickFormat(t), "end", fill: "#333"));
        }
        svg.Add(new XElement("rect", A("x", Left), A("y", Top), A("width", plotW), A("height", PlotHeight),
            new XAttribute("fill", "none"), new XAttribute("stroke", "#555")));
        svg.Add(Text(Left + plotW / 2, Top + PlotHeight + 38, xLabel, "middle", fill: "#222"));
        var yl = Text(16, Top + PlotHeight / 2, yLabel, "middle", fill: "#222");
        yl.Add(new XAttribute("transform", $"rotate(-90 16 {F(Top + PlotHeight / 2)})"));
        svg.Add(yl);

        // Data: error bars, lines, markers.
        var placed = new List<(double X0, double Y0, double X1, double Y1)>();
        var labels = new List<(double Px, double Py, string Text, string Color)>();
        foreach (var s in _series)
        {
            var pts = s.Points.Where(p => Finite(p.X, XScale) && Finite(p.Y, YScale)).OrderBy(p => p.X).ToList();
            var group = new XElement("g");
            foreach (var p in pts.Where(p => p.Error > 0))
            {
                var (px, lo, hi) = (Px(p.X) + p.Dodge, Py(Math.Max(p.Y - p.Error, YScale == AxisScale.Linear ? double.MinValue : y0)), Py(p.Y + p.Error));
                group.Add(Line(px, lo, px, hi, s.Color, 1.2), Line(px - 3, lo, px + 3, lo, s.Color, 1.2), Line(px - 3, hi, px + 3, hi, s.Color, 1.2));
                if (pts.Any(q => q.Label != null)) placed.Add((px - 3, hi, px + 3, lo)); // Labels keep off error bars too.
            }
            if (s.Line && pts.Count > 1)
            {
                var line = new XElement("polyline", new XAttribute("fill", "none"), new XAttribute("stroke", s.Color), A("stroke-width", 1.8),
                    new XAttribute("stroke-linejoin", "round"),
                    new XAttribute("points", string.Join(" ", pts.Select(p => $"{F(Px(p.X) + p.Dodge)},{F(Py(p.Y))}"))));
                if (s.Dash != "") line.Add(new XAttribute("stroke-dasharray", s.Dash));
                group.Add(line);
            }
            if (s.Marker is { } shape)
            {
                foreach (var p in pts)
                {
                    var (mx, my) = (Px(p.X) + p.Dodge, Py(p.Y));
                    var m = Marker(shape, mx, my, s.Color);
                    if (p.Tooltip != null) m.Add(new XElement("title", p.Tooltip));
                    group.Add(m);
                    placed.Add((mx - 4, my - 4, mx + 4, my + 4));
                    if (p.Label != null) labels.Add((mx, my, p.Label, s.Color));
                }
            }
            svg.Add(group);
        }
        foreach (var label in PlaceLabels(labels, placed, Left, Left + plotW, Top, Top + PlotHeight))
            svg.Add(label);

        // Legend under the axis label.
        var legendTop = Top + PlotHeight + BottomAxis + 6;
        foreach (var (entry, lx, row) in legendItems)
        {
            var ly = legendTop + row * 18;
            var g = new XElement("g");
            if (entry.Dash is not null)
            {
                var l = Line(lx, ly, lx + 22, ly, entry.Color, 2);
                if (entry.Dash is { Length: > 0 }) l.Add(new XAttribute("stroke-dasharray", entry.Dash));
                g.Add(l);
            }
            if (entry.Marker is { } shape) g.Add(Marker(shape, lx + 11, ly, entry.Color));
            g.Add(Text(lx + 28, ly + 4, entry.Name, "start", fill: "#222"));
            svg.Add(g);
        }
        return svg;
    }

    private List<(string Name, string Color, MarkerShape? Marker, string? Dash)> LegendEntries()
    {
        var entries = new List<(string, string, MarkerShape?, string?)>();
        if (SeriesInLegend)
            entries.AddRange(_series.Select(s => (s.Name, s.Color, s.Marker, s.Line ? s.Dash : null)));
        entries.AddRange(ExtraLegend);
        return entries;
    }

    private static int LayoutLegend(List<(string Name, string Color, MarkerShape? Marker, string? Dash)> entries, double width,
        out List<((string Name, string Color, MarkerShape? Marker, string? Dash) Entry, double X, int Row)> items)
    {
        items = [];
        if (entries.Count == 0) return 0;
        double x = Left;
        var row = 0;
        foreach (var e in entries)
        {
            var w = 28 + e.Name.Length * CharWidth + 16;
            if (x + w > Left + width && x > Left) { row++; x = Left; }
            items.Add((e, x, row));
            x += w;
        }
        return row + 1;
    }

    /// <summary>
    /// Puts each label right of its marker, or the nearest free slot above/below/left of it, so labels neither overlap
    /// each other nor markers; a label moved away from its marker gets a thin leader line.
    /// </summary>
    private static IEnumerable<XElement> PlaceLabels(List<(double Px, double Py, string Text, string Color)> labels,
        List<(double X0, double Y0, double X1, double Y1)> taken, double left, double right, double top, double bottom)
    {
        const double h = 12;
        foreach (var (px, py, text, color) in labels.OrderBy(l => l.Py))
        {
            var w = text.Length * CharWidth * 0.92;
            (double X, double Y)? best = null;
            foreach (var dy in new[] { 0.0, -13, 13, -26, 26, -39, 39, -52, 52, -65, 65 })
            {
                foreach (var side in new[] { 1, -1 })
                {
                    var x = side > 0 ? px + 7 : px - 7 - w;
                    var y = py + dy - h / 2;
                    if (x < left + 2 || x + w > right - 2 || y < top + 1 || y + h > bottom - 1) continue;
                    if (taken.Any(b => x < b.X1 && x + w > b.X0 && y < b.Y1 && y + h > b.Y0)) continue;
                    best = (x, y);
                    break;
                }
                if (best != null) break;
            }
            if (best is not { } at) continue; // No free slot: the marker's tooltip still names it.
            taken.Add((at.X, at.Y, at.X + w, at.Y + h));
            if (Math.Abs(at.Y + h / 2 - py) > 6)
                yield return Line(at.X > px ? at.X - 1 : at.X + w + 1, at.Y + h / 2, px, py, "#999", 0.7);
            yield return Text(at.X, at.Y + h - 2, text, "start", fill: color, size: 10.5);
        }
    }

    private static XElement Marker(MarkerShape shape, double x, double y, string color)
    {
        const double r = 4;
        XElement m = shape switch
        {
            MarkerShape.Circle => new XElement("circle", A("cx", x), A("cy", y), A("r", r)),
            MarkerShape.Square => new XElement("rect", A("x", x - r * 0.9), A("y", y - r * 0.9), A("width", r * 1.8), A("height", r * 1.8)),
            MarkerShape.Triangle => new XElement("polygon", new XAttribute("points", $"{F(x)},{F(y - r * 1.2)} {F(x + r * 1.1)},{F(y + r * 0.8)} {F(x - r * 1.1)},{F(y + r * 0.8)}")),
            _ => new XElement("polygon", new XAttribute("points", $"{F(x)},{F(y - r * 1.3)} {F(x + r * 1.1)},{F(y)} {F(x)},{F(y + r * 1.3)} {F(x - r * 1.1)},{F(y)}")),
        };
        m.Add(new XAttribute("fill", color), new XAttribute("stroke", "#fff"), A("stroke-width", 0.8));
        return m;
    }

    private static (double, double) Domain(IEnumerable<double> values, AxisScale scale)
    {
        var v = values.Where(x => Finite(x, scale)).ToList();
        if (v.Count == 0) return scale == AxisScale.Linear ? (0, 1) : (1, 10);
        double lo = v.Min(), hi = v.Max();
        if (scale == AxisScale.Linear)
        {
            var pad = hi > lo ? (hi - lo) * 0.08 : Math.Max(Math.Abs(hi) * 0.05, 0.5);
            return (lo >= 0 && lo - pad < 0 ? 0 : lo - pad, hi + pad); // Steps and losses do not go below 0.
        }
        var b = scale == AxisScale.Log2 ? 2.0 : 10.0;
        var (llo, lhi) = (Math.Log(lo, b), Math.Log(hi, b));
        var lpad = lhi > llo ? (lhi - llo) * 0.08 : 0.3;
        return (Math.Pow(b, llo - lpad), Math.Pow(b, lhi + lpad));
    }

    private static IEnumerable<double> Ticks(double lo, double hi, AxisScale scale)
    {
        if (scale == AxisScale.Log2)
        {
            for (var e = Math.Ceiling(Math.Log2(lo)); e <= Math.Floor(Math.Log2(hi)); e++) yield return Math.Pow(2, e);
            yield break;
        }
        if (scale == AxisScale.Log10)
        {
            var decades = Math.Log10(hi) - Math.Log10(lo);
            double[] steps = decades > 3 ? [1] : decades > 1.2 ? [1, 3] : [1, 2, 5];
            for (var e = Math.Floor(Math.Log10(lo)); e <= Math.Ceiling(Math.Log10(hi)); e++)
                foreach (var m in steps)
                {
                    var t = m * Math.Pow(10, e);
                    if (t >= lo && t <= hi) yield return t;
                }
            yield break;
        }
        var raw = (hi - lo) / 5;
        var mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * mag).First(s => s >= raw);
        for (var t = Math.Ceiling(lo / step) * step; t <= hi + step * 1e-9; t += step) yield return Math.Abs(t) < step * 1e-9 ? 0 : t;
    }

    private static double T(double v, AxisScale s) => s switch { AxisScale.Log10 => Math.Log10(v), AxisScale.Log2 => Math.Log2(v), _ => v };

    private static bool Finite(double v, AxisScale s) => double.IsFinite(v) && (s == AxisScale.Linear || v > 0);

    private static string DefaultTick(double v) => v.ToString(Math.Abs(v) >= 1000 || v == Math.Round(v) ? "0" : Math.Abs(v) >= 1 ? "0.##" : "0.###", CultureInfo.InvariantCulture);

    private static XElement Line(double x1, double y1, double x2, double y2, string stroke, double width = 1) =>
        new("line", A("x1", x1), A("y1", y1), A("x2", x2), A("y2", y2), new XAttribute("stroke", stroke), A("stroke-width", width));

    private static XElement Text(double x, double y, string text, string anchor, string fill = "#000", string? weight = null, double size = FontSize)
    {
        var e = new XElement("text", A("x", x), A("y", y), new XAttribute("text-anchor", anchor), new XAttribute("fill", fill), text);
        if (weight != null) e.Add(new XAttribute("font-weight", weight));
        if (size != FontSize) e.Add(A("font-size", size));
        return e;
    }

    private static XAttribute A(string name, double value) => new(name, F(value));

    private static string F(double v) => Math.Round(v, 2).ToString(CultureInfo.InvariantCulture);
}

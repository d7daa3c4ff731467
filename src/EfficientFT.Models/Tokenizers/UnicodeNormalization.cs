using System.Globalization;
using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Unicode normalization (UAX #15) in managed code. The project runs with invariant globalization, where
/// <see cref="string.Normalize(NormalizationForm)"/> leaves non-ASCII text untouched, yet BERT's accent stripping and
/// the NFC/NFKC normalizers need real decompositions; the tables come from the UCD (see UnicodeNormalization.txt).
/// </summary>
internal static class UnicodeNormalization
{
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    private static readonly Lazy<Tables> Data = new(Tables.Load);

    public static string Normalize(string text, NormalizationForm form)
    {
        // Nothing below U+00A0 decomposes, composes or has a non-zero combining class.
        if (!text.AsSpan().ContainsAnyExceptInRange('\0', '\u009F'))
            return text;

        var tables = Data.Value;
        var compatibility = form is NormalizationForm.FormKC or NormalizationForm.FormKD;
        var decomposed = new List<int>(text.Length + 8);
        for (var i = 0; i < text.Length;)
        {
            var cp = UnicodeChars.CodePointAt(text, i, out var length);
            i += length;
            Decompose(tables, cp, compatibility, decomposed);
        }
        ReorderCombiningMarks(tables, decomposed);
        if (form is NormalizationForm.FormC or NormalizationForm.FormKC)
            Compose(tables, decomposed);

        var builder = new StringBuilder(decomposed.Count);
        foreach (var cp in decomposed)
            UnicodeChars.AppendCodePoint(builder, cp);
        return builder.ToString();
    }

    /// <summary>NFD with every non-spacing mark removed: the accent stripping of BERT's normalizer.</summary>
    public static string StripNonSpacingMarks(string text)
    {
        var decomposed = Normalize(text, NormalizationForm.FormD);
        // Non-spacing marks start at U+0300.
        if (!decomposed.AsSpan().ContainsAnyExceptInRange('\0', '\u02FF'))
            return decomposed;
        var builder = new StringBuilder(decomposed.Length);
        for (var i = 0; i < decomposed.Length;)
        {
            var cp = UnicodeChars.CodePointAt(decomposed, i, out var length);
            if (UnicodeChars.Category(cp) != UnicodeCategory.NonSpacingMark)
                builder.Append(decomposed, i, length);
            i += length;
        }
        return builder.ToString();
    }

    private static void Decompose(Tables tables, int cp, bool compatibility, List<int> output)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            DecomposeHangul(cp, output);
            return;
        }
        var map = compatibility ? tables.Compatibility : tables.Canonical;
        if (map.TryGetValue(cp, out var full))
            output.AddRange(full);
        else
            output.Add(cp);
    }

    private static void DecomposeHangul(int syllable, List<int> output)
    {
        var s = syllable - SBase;
        output.Add(LBase + s / NCount);
        output.Add(VBase + s % NCount / TCount);
        if (s % TCount != 0)
            output.Add(TBase + s % TCount);
    }

    private static void ReorderCombiningMarks(Tables tables, List<int> cps)
    {
        // Each run of non-starters sorted by combining class, stably as the algorithm requires. A sort rather than an
        // insertion sort keeps a long run of marks ("Zalgo" text) O(n log n) instead of quadratic.
        var start = 0;
        while (start < cps.Count)
        {
            if (tables.CombiningClass(cps[start]) == 0)
            {
                start++;
                continue;
            }
            var end = start + 1;
            while (end < cps.Count && tables.CombiningClass(cps[end]) != 0)
                end++;
            if (end - start > 1)
            {
                var run = cps.GetRange(start, end - start).OrderBy(tables.CombiningClass).ToList();
                for (var i = 0; i < run.Count; i++)
                    cps[start + i] = run[i];
            }
            start = end;
        }
    }

    private static void Compose(Tables tables, List<int> cps)
    {
        var write = 0;
        var starter = -1;
        var lastClass = 0;
        for (var read = 0; read < cps.Count; read++)
        {
            var cp = cps[read];
            var ccc = tables.CombiningClass(cp);
            // A mark is blocked from the starter when something between them has a class of zero or one at least
            // its own; after canonical reordering only the character just before it needs checking.
            var adjacent = starter == write - 1;
            if (starter >= 0 && (adjacent || (lastClass != 0 && lastClass < ccc))
                && TryCompose(tables, cps[starter], cp, out var composite))
            {
                cps[starter] = composite;
                continue;
            }
            if (ccc == 0)
                starter = write;
            lastClass = ccc;
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    private static bool TryCompose(Tables tables, int first, int second, out int composite)
    {
        if (first is >= LBase and < LBase + LCount && second is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((first - LBase) * VCount + second - VBase) * TCount;
            return true;
        }
        if (first is >= SBase and < SBase + SCount && (first - SBase) % TCount == 0
            && second is > TBase and < TBase + TCount)
        {
            composite = first + second - TBase;
            return true;
        }
        return tables.Compositions.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    private sealed class Tables
    {
        private readonly Dictionary<int, byte> _classes;

        private Tables(Dictionary<int, int[]> canonical, Dictionary<int, int[]> compatibility,
            Dictionary<long, int> compositions, Dictionary<int, byte> classes)
        {
            Canonical = canonical;
            Compatibility = compatibility;
            Compositions = compositions;
            _classes = classes;
        }

        /// <summary>Full (recursively applied) canonical decompositions.</summary>
        public Dictionary<int, int[]> Canonical { get; }

        /// <summary>Full compatibility decompositions, canonical ones included.</summary>
        public Dictionary<int, int[]> Compatibility { get; }

        public Dictionary<long, int> Compositions { get; }

        public int CombiningClass(int cp) => cp < 0x300 ? 0 : _classes.GetValueOrDefault(cp);

        public static Tables Load()
        {
            const string name = "EfficientFT.Models.Tokenizers.UnicodeNormalization.txt";
            using var stream = typeof(UnicodeNormalization).Assembly.GetManifestResourceStream(name)
                ?? throw new InvalidOperationException($"The embedded resource {name} is missing from the assembly.");
            using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);

            var classes = new Dictionary<int, byte>();
            var canonicalStep = new Dictionary<int, int[]>();
            var compatibilityStep = new Dictionary<int, int[]>();
            var excluded = new HashSet<int>();
            while (reader.ReadLine() is { } line)
            {
                if (line.Length == 0 || line[0] == '#')
                    continue;
                var fields = line.Split(' ');
                switch (fields[0])
                {
                    case "c":
                        var range = fields[1].Split('-');
                        var first = Hex(range[0]);
                        var last = range.Length > 1 ? Hex(range[1]) : first;
                        var value = byte.Parse(fields[2], CultureInfo.InvariantCulture);
                        for (var cp = first; cp <= last; cp++)
                            classes[cp] = value;
                        break;
                    case "d":
                        canonicalStep[Hex(fields[1])] = fields[2..].Select(Hex).ToArray();
                        break;
                    case "k":
                        compatibilityStep[Hex(fields[1])] = fields[2..].Select(Hex).ToArray();
                        break;
                    case "x":
                        excluded.Add(Hex(fields[1]));
                        break;
                }
            }

            var canonical = new Dictionary<int, int[]>(canonicalStep.Count);
            foreach (var cp in canonicalStep.Keys)
                canonical[cp] = Expand(cp, canonicalStep, null);
            var compatibility = new Dictionary<int, int[]>(canonicalStep.Count + compatibilityStep.Count);
            foreach (var cp in canonicalStep.Keys.Concat(compatibilityStep.Keys))
                compatibility[cp] = Expand(cp, canonicalStep, compatibilityStep);

            var compositions = new Dictionary<long, int>();
            foreach (var (cp, parts) in canonicalStep)
                if (parts.Length == 2 && !excluded.Contains(cp))
                    compositions[((long)parts[0] << 21) | (uint)parts[1]] = cp;
            return new Tables(canonical, compatibility, compositions, classes);
        }

        private static int[] Expand(int cp, Dictionary<int, int[]> canonical, Dictionary<int, int[]>? compatibility)
        {
            var output = new List<int>();
            Append(cp);
            return output.ToArray();

            void Append(int c)
            {
                if (canonical.TryGetValue(c, out var parts) || (compatibility?.TryGetValue(c, out parts) ?? false))
                {
                    foreach (var part in parts)
                        Append(part);
                }
                else if (c is >= SBase and < SBase + SCount)
                {
                    DecomposeHangul(c, output);
                }
                else
                {
                    output.Add(c);
                }
            }
        }

        private static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}

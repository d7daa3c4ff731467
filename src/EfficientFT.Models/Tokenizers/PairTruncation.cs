namespace EfficientFT.Models.Tokenizers;

/// <summary>HF's <c>truncate_encodings</c> with stride 0 and right-side truncation.</summary>
internal static class PairTruncation
{
    /// <exception cref="ArgumentException">OnlyFirst/OnlySecond cannot make room, or OnlySecond has no pair.</exception>
    public static (Encoding First, Encoding? Second) Apply(Encoding first, Encoding? second, int maxLength,
        TruncationStrategy strategy)
    {
        var total = first.Length + (second?.Length ?? 0);
        if (total <= maxLength)
            return (first, second);
        var excess = total - maxLength;

        switch (strategy)
        {
            case TruncationStrategy.LongestFirst when second is null:
                return (first.Truncate(maxLength), null);
            case TruncationStrategy.LongestFirst:
            {
                var swap = first.Length > second.Length;
                var (n1, n2) = swap ? (second.Length, first.Length) : (first.Length, second.Length);
                n2 = n1 > maxLength ? n1 : Math.Max(n1, maxLength - n1);
                if (n1 + n2 > maxLength)
                {
                    n1 = maxLength / 2;
                    n2 = n1 + maxLength % 2;
                }
                if (swap)
                    (n1, n2) = (n2, n1);
                return (first.Truncate(n1), second.Truncate(n2));
            }
            case TruncationStrategy.OnlyFirst:
                if (first.Length <= excess)
                    throw new ArgumentException(
                        $"the first sequence ({first.Length} tokens) is too short to remove the {excess} tokens " +
                        $"needed to fit {maxLength}; use LongestFirst or a larger maximum length.");
                return (first.Truncate(first.Length - excess), second);
            default:
                if (second is null)
                    throw new ArgumentException("OnlySecond truncation needs a pair, but this input has one sequence.");
                if (second.Length <= excess)
                    throw new ArgumentException(
                        $"the second sequence ({second.Length} tokens) is too short to remove the {excess} tokens " +
                        $"needed to fit {maxLength}; use LongestFirst or a larger maximum length.");
                return (first, second.Truncate(second.Length - excess));
        }
    }
}

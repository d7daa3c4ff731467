namespace EfficientFT.Models.Tokenizers;

/// <summary>Which sequence loses tokens when an input is longer than the maximum length (HF's names and rules).</summary>
public enum TruncationStrategy
{
    /// <summary>
    /// For a pair, the longer sequence gives way: if the shorter fits in half the budget it is kept whole and the
    /// longer gets the rest, otherwise each gets half (the originally longer one the odd token). A single sequence is
    /// simply cut.
    /// </summary>
    LongestFirst,

    /// <summary>Only the first sequence is cut; it is an error if it is too short to make room.</summary>
    OnlyFirst,

    /// <summary>Only the second sequence is cut; it is an error if there is none or it is too short.</summary>
    OnlySecond,
}

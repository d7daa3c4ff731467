namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Adds the model's special tokens around encoded sequences and sets their type ids (HF's <c>post_processor</c>).
/// Like HF's <c>process_encodings</c>, it returns the parts in order; the tokenizer concatenates them.
/// </summary>
internal interface IPostProcessor
{
    /// <summary>How many tokens processing adds, which truncation must leave room for.</summary>
    int AddedTokens(bool isPair);

    /// <summary>The ids of the special tokens placed right before and right after a single sequence, if any.</summary>
    (int? Before, int? After) SingleSequenceMarkers { get; }

    List<Encoding> Process(List<Encoding> sequences, bool addSpecialTokens);
}

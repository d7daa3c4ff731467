using System.Text.Json.Serialization;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>One line of a golden .jsonl file, as written by Hugging Face's tokenizers.</summary>
internal sealed record GoldenRecord(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("add_special_tokens")] bool AddSpecialTokens,
    [property: JsonPropertyName("ids")] int[] Ids,
    [property: JsonPropertyName("tokens")] string[] Tokens,
    [property: JsonPropertyName("decoded")] string Decoded,
    [property: JsonPropertyName("decoded_skip_special")] string DecodedSkipSpecial);

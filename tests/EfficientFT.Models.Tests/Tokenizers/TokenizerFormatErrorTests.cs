using EfficientFT.Models.Tokenizers;

namespace EfficientFT.Models.Tests.Tokenizers;

/// <summary>Bad or unsupported tokenizer.json files fail with a message that names the file and the component.</summary>
public sealed class TokenizerFormatErrorTests
{
    private const string UnigramJson = """
        {"version": "1.0", "added_tokens": [], "normalizer": {"type": "Precompiled", "precompiled_charsmap": "AA=="},
         "pre_tokenizer": null, "post_processor": null,
         "decoder": null, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.5]]}}
        """;

    /// <summary>
    /// XLM-R's and T5's files (a Unigram model behind a Precompiled normalizer) are refused for the model, which is
    /// what is missing, not for the normalizer read before it.
    /// </summary>
    [Fact]
    public void UnsupportedModelType_NamesTheFileAndTheType()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("eft-tokenizer-").FullName, "tokenizer.json");
        File.WriteAllText(path, UnigramJson);

        var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromFile(path));

        Assert.Equal(path, error.Origin);
        Assert.StartsWith(path, error.Message);
        Assert.Contains("unsupported model type 'Unigram'", error.Message);
        Assert.Contains("BPE, WordPiece, WordLevel", error.Message);
        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [Fact]
    public void UnsupportedPreTokenizer_IsNamedWithItsPosition()
    {
        const string json = """
            {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
             {"type": "UnicodeScripts"}]}, "model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}}
            """;
        var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromJson(json));
        Assert.Contains("unsupported pre_tokenizer type 'UnicodeScripts' at pre_tokenizer (Sequence)[1]", error.Message);
    }

    [Theory]
    [InlineData("{\"model\": ")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"model\": null}")]
    [InlineData("{\"model\": []}")]
    [InlineData("{\"model\": {\"type\": 5}}")]
    [InlineData("{\"model\": {\"type\": \"BPE\"}}")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}}}")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 2147483647}}}")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [[\"a\"]]}}")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": \"a a\"}}")]
    [InlineData("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"dropout\": 0.1}}")]
    [InlineData("{\"model\": {\"vocab\": [[\"a\", 0.0]]}}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"normalizer\": \"lowercase\"}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"normalizer\": {\"type\": \"Precompiled\"}}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"normalizer\": {\"type\": \"Replace\"}}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"pre_tokenizer\": {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}}}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"prepend_scheme\": \"sometimes\"}}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"added_tokens\": [{\"id\": 1}]}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"added_tokens\": {}}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"post_processor\": {\"type\": \"BertProcessing\", \"cls\": \"[CLS]\"}}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"[CLS]\", \"type_id\": 0}}], \"pair\": [], \"special_tokens\": {}}}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"decoder\": {\"type\": \"CTC\"}}")]
    [InlineData("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}, \"decoder\": {\"type\": \"Strip\", \"content\": \"ab\"}}")]
    public void MalformedFiles_FailWithAFormatException(string json)
    {
        var error = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromJson(json));
        Assert.StartsWith("tokenizer JSON text: ", error.Message);
    }
}

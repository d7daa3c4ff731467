namespace EfficientFT.Models.Tokenizers;

/// <summary>Cuts normalized text into the words the model sees separately (HF's <c>pre_tokenizer</c>).</summary>
internal interface IPreTokenizer
{
    void PreTokenize(Piece piece, List<Piece> output);
}

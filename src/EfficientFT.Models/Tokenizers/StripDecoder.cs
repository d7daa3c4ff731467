namespace EfficientFT.Models.Tokenizers;

/// <summary>Removes up to <c>start</c> leading and <c>stop</c> trailing occurrences of a character from each token.</summary>
internal sealed class StripDecoder(char content, int start, int stop) : ITokenDecoder
{
    public List<string> Decode(List<string> tokens) => tokens.ConvertAll(token =>
    {
        var from = 0;
        while (from < start && from < token.Length && token[from] == content)
            from++;
        var to = token.Length;
        while (token.Length - to < stop && to > from && token[to - 1] == content)
            to--;
        return token[from..to];
    });
}

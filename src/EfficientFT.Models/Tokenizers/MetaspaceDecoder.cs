using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>Turns ▁ back into spaces; in the first token they are dropped when the pre-tokenizer prepends one.</summary>
internal sealed class MetaspaceDecoder(char replacement, PrependScheme prependScheme) : ITokenDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (var i = 0; i < tokens.Count; i++)
        {
            var dropReplacement = i == 0 && prependScheme != PrependScheme.Never;
            var builder = new StringBuilder(tokens[i].Length);
            foreach (var c in tokens[i])
            {
                if (c != replacement)
                    builder.Append(c);
                else if (!dropReplacement)
                    builder.Append(' ');
            }
            result.Add(builder.ToString());
        }
        return result;
    }
}

using System.Globalization;
using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Reassembles runs of &lt;0xNN&gt; tokens into the text their bytes encode; a run that is not valid UTF-8 becomes one
/// U+FFFD per byte, as HF does.
/// </summary>
internal sealed class ByteFallbackDecoder : ITokenDecoder
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public List<string> Decode(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            if (TryParseByte(token, out var b))
            {
                bytes.Add(b);
                continue;
            }
            Flush(bytes, result);
            result.Add(token);
        }
        Flush(bytes, result);
        return result;
    }

    private static bool TryParseByte(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture,
                out value);
    }

    private static void Flush(List<byte> bytes, List<string> result)
    {
        if (bytes.Count == 0)
            return;
        try
        {
            result.Add(Strict.GetString(bytes.ToArray()));
        }
        catch (DecoderFallbackException)
        {
            for (var i = 0; i < bytes.Count; i++)
                result.Add("\uFFFD");
        }
        bytes.Clear();
    }
}

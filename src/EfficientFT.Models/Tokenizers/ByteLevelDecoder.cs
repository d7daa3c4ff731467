using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// Maps byte-level characters back to bytes and reads them as UTF-8, all tokens at once because one character may be
/// split across tokens; invalid sequences become U+FFFD, as Rust's lossy UTF-8 decoding does.
/// </summary>
internal sealed class ByteLevelDecoder : ITokenDecoder
{
    public List<string> Decode(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
            ByteLevelAlphabet.AppendBytes(token, bytes);
        return [System.Text.Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes))];
    }
}

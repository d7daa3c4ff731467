using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>
/// GPT-2's reversible byte-to-character map: printable bytes stand for themselves, the other 68 are moved to U+0100
/// and up so that every byte has a visible, non-space character and a BPE vocabulary never needs a raw control byte.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly short[] CharToByte = BuildCharToByte();

    /// <summary>The character that stands for <paramref name="b"/>.</summary>
    public static char CharOf(byte b) => ByteToChar[b];

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, each written as its byte-level character.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        // Most text is ASCII, whose UTF-8 is itself; map it without the encoder.
        if (!text.ContainsAnyExceptInRange('\0', '\u007F'))
        {
            var ascii = text.Length <= 256 ? stackalloc char[text.Length] : new char[text.Length];
            for (var i = 0; i < text.Length; i++)
                ascii[i] = ByteToChar[text[i]];
            return new string(ascii);
        }

        var byteCount = System.Text.Encoding.UTF8.GetByteCount(text);
        var bytes = byteCount <= 256 ? stackalloc byte[byteCount] : new byte[byteCount];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        var chars = byteCount <= 256 ? stackalloc char[byteCount] : new char[byteCount];
        for (var i = 0; i < byteCount; i++)
            chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>
    /// Appends the bytes <paramref name="token"/> stands for. A token with any character outside the alphabet (an
    /// added token such as "&lt;|end of text|&gt;") is taken as its own UTF-8 text, as HF's ByteLevel decoder does.
    /// </summary>
    public static void AppendBytes(string token, List<byte> output)
    {
        foreach (var c in token)
        {
            if (c >= CharToByte.Length || CharToByte[c] < 0)
            {
                output.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
                return;
            }
        }
        foreach (var c in token)
            output.Add((byte)CharToByte[c]);
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[ByteToChar.Max() + 1];
        Array.Fill(map, (short)-1);
        for (var b = 0; b < 256; b++)
            map[ByteToChar[b]] = (short)b;
        return map;
    }
}

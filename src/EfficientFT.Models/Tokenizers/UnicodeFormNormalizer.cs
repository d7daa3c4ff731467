using System.Text;

namespace EfficientFT.Models.Tokenizers;

/// <summary>The NFC, NFD, NFKC and NFKD normalizers.</summary>
internal sealed class UnicodeFormNormalizer(NormalizationForm form) : INormalizer
{
    public string Normalize(string text) => UnicodeNormalization.Normalize(text, form);
}

using System.Text.Encodings.Web;
using System.Text.Json;

namespace EfficientFT.Models.Tokenizers.Training;

/// <summary>
/// A trained byte-level BPE vocabulary: <paramref name="Tokens"/> by id and <paramref name="Merges"/> by rank. It
/// becomes a tokenizer.json in roberta-base's layout, which both <see cref="Tokenizer.FromJson"/> and Hugging Face's
/// tokenizers load.
/// </summary>
public sealed record ByteLevelBpeVocabulary(IReadOnlyList<string> Tokens, IReadOnlyList<(string Left, string Right)> Merges, RobertaSpecialTokens SpecialTokens)
{
    /// <summary>
    /// The tokenizer.json text: ByteLevel pre-tokenizer without prefix space, BPE model, RobertaProcessing
    /// (&lt;s&gt; A &lt;/s&gt;), ByteLevel decoder, the special tokens as added tokens (mask with lstrip, so
    /// "a &lt;mask&gt;" masks the word with its space as RoBERTa's does), no truncation or padding.
    /// </summary>
    public string ToJson()
    {
        var buffer = new MemoryStream();
        // Relaxed escaping keeps "Ġthe" readable instead of "\u0120the"; both parse the same.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            var s = SpecialTokens;
            foreach (var (token, id) in s.Leading.Select((t, i) => (t, i)).Append((s.Mask, Tokens.Count - 1)))
            {
                w.WriteStartObject();
                w.WriteNumber("id", id);
                w.WriteString("content", token);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", token == s.Mask);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            WriteByteLevel(w, addPrefixSpace: false);
            w.WriteEndObject();
            w.WriteStartObject("post_processor");
            w.WriteString("type", "RobertaProcessing");
            WriteTokenAndId(w, "sep", s.Eos, 2);
            WriteTokenAndId(w, "cls", s.Bos, 0);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("add_prefix_space", false);
            w.WriteEndObject();
            w.WriteStartObject("decoder");
            WriteByteLevel(w, addPrefixSpace: true);
            w.WriteEndObject();
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteString("continuing_subword_prefix", "");
            w.WriteString("end_of_word_suffix", "");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            for (var id = 0; id < Tokens.Count; id++)
                w.WriteNumber(Tokens[id], id);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (left, right) in Merges)
            {
                w.WriteStartArray();
                w.WriteStringValue(left);
                w.WriteStringValue(right);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The tokenizer this vocabulary describes, read back from <see cref="ToJson"/>.</summary>
    public Tokenizer ToTokenizer() => Tokenizer.FromJson(ToJson());

    private static void WriteByteLevel(Utf8JsonWriter w, bool addPrefixSpace)
    {
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", addPrefixSpace);
        w.WriteBoolean("trim_offsets", true);
        w.WriteBoolean("use_regex", true);
    }

    private static void WriteTokenAndId(Utf8JsonWriter w, string name, string token, int id)
    {
        w.WriteStartArray(name);
        w.WriteStringValue(token);
        w.WriteNumberValue(id);
        w.WriteEndArray();
    }
}

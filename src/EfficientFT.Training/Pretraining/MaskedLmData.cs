using EfficientFT.Models;
using EfficientFT.Models.Nn;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Training.Pretraining;

/// <summary>The token ids masked-LM data needs from a tokenizer.</summary>
public sealed record MaskedLmTokens(int Bos, int Eos, int Pad, int Mask, int VocabSize);

/// <summary>
/// Masked-language-model data as RoBERTa trains on it: documents packed into full blocks, and BERT's masking rule
/// (transformers' DataCollatorForLanguageModeling): each ordinary token is chosen with the masking probability; a
/// chosen token becomes the target and its input is &lt;mask&gt; 80% of the time, a uniformly random token 10%, and
/// itself 10%.
/// </summary>
public static class MaskedLmData
{
    /// <summary>
    /// RoBERTa's FULL-SENTENCES packing, simplified to token granularity: the documents' tokens as one stream with
    /// &lt;/s&gt; between documents, cut into chunks of <paramref name="maxLength"/> − 2 tokens, each chunk framed as
    /// &lt;s&gt; chunk &lt;/s&gt;. Blocks therefore cross document boundaries; only the last one can be shorter.
    /// </summary>
    public static List<int[]> Pack(IEnumerable<int[]> documents, int maxLength, MaskedLmTokens ids)
    {
        if (maxLength < 3) throw new ArgumentException($"A block of {maxLength} tokens has no room between <s> and </s>; the maximum length must be at least 3.");
        var stream = new List<int>();
        foreach (var document in documents)
        {
            if (document.Length == 0) continue;
            if (stream.Count > 0) stream.Add(ids.Eos);
            stream.AddRange(document);
        }
        var chunk = maxLength - 2;
        var blocks = new List<int[]>((stream.Count + chunk - 1) / chunk);
        for (var start = 0; start < stream.Count; start += chunk)
        {
            var length = Math.Min(chunk, stream.Count - start);
            var block = new int[length + 2];
            block[0] = ids.Bos;
            stream.CopyTo(start, block, 1, length);
            block[^1] = ids.Eos;
            blocks.Add(block);
        }
        return blocks;
    }

    /// <summary>
    /// <paramref name="copies"/> masked copies of every block (BERT's dupe factor: static masking, each copy drawn
    /// with its own seed), rows of <paramref name="maxLength"/> padded with pad (attention 0, label −100). A copy's
    /// masks depend only on (seed, copy, block), not on the other blocks.
    /// </summary>
    public static ModelBatch Mask(IReadOnlyList<int[]> blocks, int maxLength, MaskedLmTokens ids, double probability, int copies, ulong seed)
    {
        if (blocks.Count == 0) throw new ArgumentException("There are no blocks to mask.");
        if (probability is <= 0 or > 1) throw new ArgumentException($"The masking probability must be in (0, 1], got {probability}.");
        if (copies < 1) throw new ArgumentException($"At least one masked copy is needed, got {copies}.");
        var rows = blocks.Count * copies;
        var input = new int[rows * maxLength];
        var mask = new int[rows * maxLength];
        var labels = new int[rows * maxLength];
        Array.Fill(input, ids.Pad);
        Array.Fill(labels, -100);
        for (var copy = 0; copy < copies; copy++)
        {
            for (var b = 0; b < blocks.Count; b++)
            {
                var block = blocks[b];
                if (block.Length > maxLength) throw new ArgumentException($"Block {b} has {block.Length} tokens, more than the maximum length {maxLength}.");
                var offset = (copy * blocks.Count + b) * maxLength;
                block.CopyTo(input, offset);
                mask.AsSpan(offset, block.Length).Fill(1);
                var rng = new Rng(Rng.Hash(Rng.Hash(seed, (ulong)copy), (ulong)b));
                var chosen = 0;
                for (var j = 0; j < block.Length; j++)
                    if (Eligible(block[j], ids) && rng.NextDouble() < probability)
                    {
                        Corrupt(input, labels, offset + j, ids, rng);
                        chosen++;
                    }
                // A short block can draw no target at all, and a batch made only of such rows has no loss, which the
                // Trainer rejects; one target in such a row costs nothing measurable and keeps every row useful.
                if (chosen == 0 && Enumerable.Range(0, block.Length).Where(j => Eligible(block[j], ids)).ToList() is { Count: > 0 } eligible)
                    Corrupt(input, labels, offset + eligible[rng.NextInt(eligible.Count)], ids, rng);
            }
        }
        return new ModelBatch(rows, maxLength, input, mask) { TokenLabels = labels };
    }

    /// <summary>The mean cross-entropy over every target of <paramref name="data"/>, without dropout or gradients.</summary>
    public static double Loss(PretrainedModel model, ModelBatch data, int batchSize)
    {
        using var _ = GradMode.NoGrad();
        double total = 0;
        long targets = 0;
        for (var start = 0; start < data.Batch; start += batchSize)
        {
            var batch = data.Select(Enumerable.Range(start, Math.Min(batchSize, data.Batch - start)).ToList());
            var count = batch.TokenLabels!.Count(l => l != -100);
            if (count == 0) continue;
            // The model's loss is the mean over the batch's targets; weighting by their number gives the mean over all.
            total += (double)model.Forward(batch, ForwardContext.Inference).Loss!.Item() * count;
            targets += count;
        }
        return targets == 0 ? double.NaN : total / targets;
    }

    private static bool Eligible(int id, MaskedLmTokens ids) => id != ids.Bos && id != ids.Eos && id != ids.Pad && id != ids.Mask;

    private static void Corrupt(int[] input, int[] labels, int at, MaskedLmTokens ids, Rng rng)
    {
        labels[at] = input[at];
        var draw = rng.NextDouble();
        if (draw < 0.8) input[at] = ids.Mask;
        // transformers draws the random token from the whole vocabulary, special tokens included.
        else if (draw < 0.9) input[at] = rng.NextInt(ids.VocabSize);
    }
}

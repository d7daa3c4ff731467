using EfficientFT.Tensors.Linalg;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// Incremental PCA (Ross et al. 2008, as scikit-learn's IncrementalPCA and peft's torch port of it), fitted batch by
/// batch: each step decomposes [diag(σ)·V_prev; X − x̄_batch; mean correction], so the components track the principal
/// axes of all rows seen so far without keeping them. Like peft's EVA configuration it uses a randomized SVD with
/// 2·k sketch columns and four power iterations, and signs each component so its largest-magnitude entry is positive
/// (svd_flip on V), which keeps successive fits comparable by cosine similarity.
/// </summary>
internal sealed class IncrementalPca(int components, ulong seed)
{
    private const int PowerIterations = 4;

    private double[]? _mean;
    private double[]? _variance;
    private long _seen;

    public int Components { get; } = components;

    /// <summary>Row-major Components×features principal axes, strongest first; null before the first fit.</summary>
    public float[]? Axes { get; private set; }

    public float[] SingularValues { get; private set; } = [];

    /// <summary>σᵢ² over the total variance of every feature: the share of the data each axis explains.</summary>
    public double[] ExplainedVarianceRatio { get; private set; } = [];

    public void PartialFit(ReadOnlySpan<float> x, int rows, int features)
    {
        if (Components > features || Components > rows)
            throw new ArgumentException($"incremental PCA: {Components} components from {rows} rows of {features} features.");
        var (mean, variance, total) = UpdatedMoments(x, rows, features);
        float[] stacked;
        int stackedRows;
        if (Axes == null)
        {
            stacked = new float[rows * features];
            for (var r = 0; r < rows; r++)
            for (var f = 0; f < features; f++)
                stacked[r * features + f] = (float)(x[r * features + f] - mean[f]);
            stackedRows = rows;
        }
        else
        {
            // The previous fit stands in for the rows already seen; the last row restores the shift between their
            // mean and this batch's.
            var batchMean = new double[features];
            for (var r = 0; r < rows; r++)
            for (var f = 0; f < features; f++)
                batchMean[f] += x[r * features + f];
            for (var f = 0; f < features; f++) batchMean[f] /= rows;
            stackedRows = Components + rows + 1;
            stacked = new float[stackedRows * features];
            for (var c = 0; c < Components; c++)
            for (var f = 0; f < features; f++)
                stacked[c * features + f] = SingularValues[c] * Axes[c * features + f];
            for (var r = 0; r < rows; r++)
            for (var f = 0; f < features; f++)
                stacked[(Components + r) * features + f] = (float)(x[r * features + f] - batchMean[f]);
            var correction = Math.Sqrt((double)_seen / total * rows);
            for (var f = 0; f < features; f++)
                stacked[(stackedRows - 1) * features + f] = (float)(correction * (_mean![f] - batchMean[f]));
        }

        var svd = LinearAlgebra.RandomizedSvd(stacked, stackedRows, features, Components, oversample: Components,
            powerIterations: PowerIterations, seed: seed);
        var axes = svd.Vt;
        for (var c = 0; c < Components; c++)
        {
            var row = axes.AsSpan(c * features, features);
            var largest = 0;
            for (var f = 1; f < features; f++)
                if (Math.Abs(row[f]) > Math.Abs(row[largest])) largest = f;
            if (row[largest] < 0)
                for (var f = 0; f < features; f++) row[f] = -row[f];
        }
        var totalVariance = 0.0;
        for (var f = 0; f < features; f++) totalVariance += variance[f] * total;
        Axes = axes;
        SingularValues = svd.S;
        ExplainedVarianceRatio = svd.S.Select(s => (double)s * s / totalVariance).ToArray();
        _mean = mean;
        _variance = variance;
        _seen = total;
    }

    /// <summary>Per-feature mean and (population) variance of everything seen, merged with Chan et al.'s update.</summary>
    private (double[] Mean, double[] Variance, long Total) UpdatedMoments(ReadOnlySpan<float> x, int rows, int features)
    {
        var total = _seen + rows;
        var sum = new double[features];
        for (var r = 0; r < rows; r++)
        for (var f = 0; f < features; f++)
            sum[f] += x[r * features + f];
        var mean = new double[features];
        var variance = new double[features];
        for (var f = 0; f < features; f++)
        {
            var batchMean = sum[f] / rows;
            var squares = 0.0;
            for (var r = 0; r < rows; r++)
            {
                var d = x[r * features + f] - batchMean;
                squares += d * d;
            }
            if (_seen == 0)
            {
                mean[f] = batchMean;
                variance[f] = squares / total;
                continue;
            }
            var lastSum = _mean![f] * _seen;
            mean[f] = (lastSum + sum[f]) / total;
            var ratio = (double)_seen / rows;
            var shift = lastSum / ratio - sum[f];
            variance[f] = (_variance![f] * _seen + squares + ratio / total * shift * shift) / total;
        }
        return (mean, variance, total);
    }
}

using EfficientFT.Models;
using EfficientFT.Models.Data;
using EfficientFT.Models.Nn;
using EfficientFT.Peft.Methods;
using EfficientFT.Tensors;
using EfficientFT.Tensors.Autograd;

namespace EfficientFT.Peft.Tests;

/// <summary>
/// The matrix pattern constraints by statements that need no reference run: the penalties vanish on factors of the
/// pattern they ask for and equal the formula on small factors worked by hand; their gradients are the closed forms
/// ∂‖AAᵀ − I‖²/∂A = 4(AAᵀ − I)A, ∂‖BᵀB − I‖²/∂B = 4B(BᵀB − I), ∂‖off(AAᵀ)‖²/∂A = 4·off(AAᵀ)A; MPC_n computes
/// s·B·code/(1 + c·|code|), starts at the base model and, on AdaLoRA, has AdaLoRA's first gradients.
/// </summary>
public sealed class MpcTests
{
    private static string Case(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", name);

    private static (PeftModel Peft, ModelBatch Batch) Roberta(PeftOptions options)
    {
        var (model, _) = Pretrained.Load(Path.Combine(Case("roberta_cls__lora"), "base"));
        var batch = JsonlBatchReader.Read(Path.Combine(Case("roberta_cls__lora"), "batch.jsonl"), 1, false);
        return (PeftModel.Create(model, options), batch);
    }

    private static PeftOptions Options(string method, MpcOptions? mpc) => new()
    {
        Method = method,
        Targets = TargetSpec.Parse("query,value"),
        Rank = 2,
        Seed = 7,
        Mpc = mpc,
        AdaLora = new AdaLoraOptions { InitR = 2, TargetR = 1, TotalStep = 3 },
    };

    /// <summary>Rows of a plane rotation by θ, padded to <paramref name="width"/>: orthonormal, not the identity.</summary>
    private static float[,] RotatedRows(double theta, int width)
    {
        var m = new float[2, width];
        (m[0, 0], m[0, 1]) = ((float)Math.Cos(theta), (float)Math.Sin(theta));
        (m[1, 0], m[1, 1]) = ((float)-Math.Sin(theta), (float)Math.Cos(theta));
        return m;
    }

    private static Tensor ToTensor(float[,] m)
    {
        var (rows, cols) = (m.GetLength(0), m.GetLength(1));
        var data = new float[rows * cols];
        for (var i = 0; i < rows; i++)
        for (var j = 0; j < cols; j++)
            data[i * cols + j] = m[i, j];
        return Tensor.Parameter(Tensor.Wrap(data, rows, cols));
    }

    private static float[,] Transpose(float[,] m)
    {
        var t = new float[m.GetLength(1), m.GetLength(0)];
        for (var i = 0; i < m.GetLength(0); i++)
        for (var j = 0; j < m.GetLength(1); j++)
            t[j, i] = m[i, j];
        return t;
    }

    private static float[,] ScaleRows(float[,] m, params float[] factors)
    {
        var s = (float[,])m.Clone();
        for (var i = 0; i < s.GetLength(0); i++)
        for (var j = 0; j < s.GetLength(1); j++)
            s[i, j] *= factors[i];
        return s;
    }

    [Theory]
    [InlineData(MpcKind.Orthogonal)]
    [InlineData(MpcKind.Diagonal)]
    public void Penalty_IsZeroOnSemiOrthogonalFactors(MpcKind kind)
    {
        var a = ToTensor(RotatedRows(0.3, 5));
        var b = ToTensor(Transpose(RotatedRows(1.1, 4)));
        Assert.Equal(0f, MpcRegularizer.LayerPenalty(kind, a, b).Item(), 1e-6f);
    }

    [Fact]
    public void Diagonal_LeavesTheLengthsOfARowsFree_Orthogonal_DoesNot()
    {
        var a = ToTensor(ScaleRows(RotatedRows(0.3, 5), 2, 3));
        var b = ToTensor(Transpose(RotatedRows(1.1, 4)));
        Assert.Equal(0f, MpcRegularizer.LayerPenalty(MpcKind.Diagonal, a, b).Item(), 1e-5f);
        // A Aᵀ = diag(4, 9): ‖diag(3, 8)‖² = 73.
        Assert.Equal(73f, MpcRegularizer.LayerPenalty(MpcKind.Orthogonal, a, b).Item(), 1e-4f);
    }

    [Fact]
    public void Penalty_OnFactorsWorkedByHand_EqualsTheFormula()
    {
        // A Aᵀ = [[2, 1], [1, 1]]: ‖A Aᵀ − I‖² = 1 + 1 + 1 + 0 = 3, ‖off(A Aᵀ)‖² = 2.
        var a = ToTensor(new float[,] { { 1, 1, 0 }, { 0, 1, 0 } });
        // Bᵀ B = [[2, 0], [0, 4]]: ‖Bᵀ B − I‖² = 1 + 9 = 10.
        var b = ToTensor(new float[,] { { 1, 0 }, { 0, 2 }, { 1, 0 } });
        Assert.Equal(13f, MpcRegularizer.LayerPenalty(MpcKind.Orthogonal, a, b).Item());
        Assert.Equal(12f, MpcRegularizer.LayerPenalty(MpcKind.Diagonal, a, b).Item());
    }

    [Theory]
    [InlineData(MpcKind.Orthogonal)]
    [InlineData(MpcKind.Diagonal)]
    public void Gradients_AreTheClosedForms(MpcKind kind)
    {
        var rng = new Rng(11);
        var (r, inFeatures, outFeatures) = (3, 6, 5);
        var a = Tensor.Parameter(Tensor.Normal(rng, 0f, 0.5f, r, inFeatures));
        var b = Tensor.Parameter(Tensor.Normal(rng, 0f, 0.5f, outFeatures, r));
        MpcRegularizer.LayerPenalty(kind, a, b).Backward();

        double[,] Product(Tensor x, bool transposeX, Tensor y, bool transposeY)
        {
            var (xs, ys) = (x.ToArray(), y.ToArray());
            var (xr, xc, yc) = (x.Dim(0), x.Dim(1), y.Dim(1));
            var (m, k, n) = (transposeX ? xc : xr, transposeX ? xr : xc, transposeY ? y.Dim(0) : yc);
            var p = new double[m, n];
            for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            for (var t = 0; t < k; t++)
                p[i, j] += (double)xs[transposeX ? t * xc + i : i * xc + t] * ys[transposeY ? j * yc + t : t * yc + j];
            return p;
        }

        // G = A Aᵀ − I (MPC_o) or off(A Aᵀ) (MPC_d); ∂/∂A = 4 G A.
        var g = Product(a, false, a, true);
        for (var i = 0; i < r; i++) g[i, i] = kind == MpcKind.Orthogonal ? g[i, i] - 1 : 0;
        var (av, ag) = (a.ToArray(), a.Grad!.ToArray());
        for (var i = 0; i < r; i++)
        for (var j = 0; j < inFeatures; j++)
        {
            double expected = 0;
            for (var t = 0; t < r; t++) expected += 4 * g[i, t] * av[t * inFeatures + j];
            Assert.Equal(expected, ag[i * inFeatures + j], 1e-5);
        }

        // H = Bᵀ B − I; ∂/∂B = 4 B H for both kinds.
        var h = Product(b, true, b, false);
        for (var i = 0; i < r; i++) h[i, i] -= 1;
        var (bv, bg) = (b.ToArray(), b.Grad!.ToArray());
        for (var o = 0; o < outFeatures; o++)
        for (var j = 0; j < r; j++)
        {
            double expected = 0;
            for (var t = 0; t < r; t++) expected += 4 * bv[o * r + t] * h[t, j];
            Assert.Equal(expected, bg[o * r + j], 1e-5);
        }
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    [InlineData("adalora")]
    public void LossTerm_IsTheCoefficientTimesTheMeanOverLayers(string method)
    {
        var (peft, _) = Roberta(Options(method, new MpcOptions(MpcKind.Orthogonal, 0.1)));
        var adapters = peft.Targets.Select(t => (ILowRankAdapter)t.Layer.Adapter!).ToList();
        var mean = adapters.Average(l => MpcRegularizer.LayerPenalty(MpcKind.Orthogonal, l.A, l.B).Item());
        var own = method == "adalora" ? ((AdaLora)peft.Method).LossTerm()!.Item() : 0f;
        Assert.Equal(method == "adalora" ? 2 : 1, peft.Hooks.Count);
        Assert.Equal(own + 0.1 * mean, peft.LossTerm()!.Item(), 1e-5);
    }

    [Fact]
    public void Nonlinear_IsTheSoftSignOfTheCodeBetweenTheFactors()
    {
        var (peft, _) = Roberta(Options("lora", new MpcOptions(MpcKind.Nonlinear, 0.5)));
        var layer = peft.Targets[0].Layer;
        var inner = ((NonlinearLowRankAdapter)layer.Adapter!).Inner;
        new Rng(3).FillNormal(inner.B.AsSpan(), 0f, 0.3f);
        var x = Tensor.Normal(new Rng(4), 0f, 1f, 3, layer.InFeatures);
        var y = layer.Forward(x, ForwardContext.Inference).ToArray();

        var (w, bias, a, b) = (layer.Weight.ToArray(), layer.Bias!.ToArray(), inner.A.ToArray(), inner.B.ToArray());
        var (xs, r, n, m) = (x.ToArray(), inner.A.Dim(0), layer.InFeatures, layer.OutFeatures);
        for (var row = 0; row < 3; row++)
        {
            var code = new double[r];
            for (var k = 0; k < r; k++)
            {
                double z = 0;
                for (var j = 0; j < n; j++) z += (double)a[k * n + j] * xs[row * n + j];
                code[k] = z / (1 + 0.5 * Math.Abs(z));
            }
            for (var o = 0; o < m; o++)
            {
                double expected = bias[o];
                for (var j = 0; j < n; j++) expected += (double)w[o * n + j] * xs[row * n + j];
                for (var k = 0; k < r; k++) expected += inner.Scale * b[o * r + k] * code[k];
                Assert.Equal(expected, y[row * m + o], 1e-4);
            }
        }
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("adalora")]
    public void Nonlinear_StartsAtTheBaseModel(string method)
    {
        var (plain, batch) = Roberta(Options(method, null));
        var (nonlinear, _) = Roberta(Options(method, new MpcOptions(MpcKind.Nonlinear, 2)));
        using var _ = GradMode.NoGrad();
        Assert.Equal(plain.Forward(batch, ForwardContext.Inference).Logits.ToArray(),
            nonlinear.Forward(batch, ForwardContext.Inference).Logits.ToArray());
    }

    [Fact]
    public void Nonlinear_OnAdaLora_HasAdaLorasFirstGradients()
    {
        var (plain, batch) = Roberta(Options("adalora", null));
        var (nonlinear, _) = Roberta(Options("adalora", new MpcOptions(MpcKind.Nonlinear, 2)));
        foreach (var peft in new[] { plain, nonlinear }) peft.Forward(batch, ForwardContext.Inference).Loss!.Backward();
        for (var i = 0; i < plain.Trainable.Count; i++)
        {
            var (expected, actual) = (plain.Trainable[i].Value.Grad!.ToArray(), nonlinear.Trainable[i].Value.Grad!.ToArray());
            Assert.Equal(expected, actual);
        }
    }

    [Theory]
    [InlineData("pissa")]
    [InlineData("olora")]
    [InlineData("dora")]
    public void Nonlinear_RefusesAdaptersThatMustStayLinear(string method) =>
        Assert.Throws<NotSupportedException>(() => Roberta(Options(method, new MpcOptions(MpcKind.Nonlinear, 1))));

    [Fact]
    public void Nonlinear_CannotBeMerged_AndSurvivesSavingAndLoading()
    {
        var (peft, _) = Roberta(Options("lora", new MpcOptions(MpcKind.Nonlinear, 0.25)));
        Assert.Throws<NotSupportedException>(peft.Merge);
        var dir = Directory.CreateTempSubdirectory("eft-mpc-").FullName;
        try
        {
            peft.SaveAdapter(dir);
            var path = Path.Combine(dir, "adapter_config.json");
            var read = AdapterConfigReader.Read(path);
            Assert.Equal(new MpcOptions(MpcKind.Nonlinear, 0.25), read.Mpc);
            Assert.Equal("lora", read.Method);
            // Not "LORA": peft would load it as a linear adapter, which computes another function.
            Assert.Equal("EFT_LORA_MPC_NONLINEAR", System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!["peft_type"]!.GetValue<string>());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Coefficient_MustBePositive() =>
        Assert.Throws<ArgumentException>(() => Roberta(Options("lora", new MpcOptions(MpcKind.Orthogonal, 0))));
}

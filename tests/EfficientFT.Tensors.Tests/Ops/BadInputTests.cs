using T = EfficientFT.Tensors.Tensor;
using O = EfficientFT.Tensors.Ops;

namespace EfficientFT.Tensors.Tests.Ops;

/// <summary>Bad input gives an exception that names the op and the shapes, never garbage.</summary>
public sealed class BadInputTests
{
    [Fact]
    public void MatMul_InnerSizeMismatch_NamesOpAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => O.MatMul(T.Zeros(2, 3), T.Zeros(4, 5)));
        Assert.Contains("matmul", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 5]", e.Message);
    }

    [Fact]
    public void Add_NonBroadcastable_NamesOpAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => T.Zeros(2, 3) + T.Zeros(4));
        Assert.Contains("add", e.Message);
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4]", e.Message);
    }

    [Fact]
    public void Linear_WrongFeatureCount_NamesOpAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => O.Linear(T.Zeros(2, 7), T.Zeros(3, 5)));
        Assert.Contains("linear", e.Message);
        Assert.Contains("[2, 7]", e.Message);
    }

    [Theory]
    [InlineData(2, 2, 3, 4)]   // a code of rank 2 for an up-projection of rank 4
    [InlineData(2, 2, 5, 2)]   // an up-projection of 5 rows for a layer of 3 outputs
    [InlineData(4, 2, 3, 2)]   // a code of 4 rows for an input of 2
    public void LowRankLinear_MismatchedUpdate_NamesOpAndShape(int codeRows, int codeRank, int upRows, int upRank)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            O.LowRankLinear(T.Zeros(2, 7), T.Zeros(3, 7), null, T.Zeros(codeRows, codeRank), T.Zeros(upRows, upRank)));
        Assert.Contains("low_rank_linear", e.Message);
    }

    [Fact]
    public void Dropout_ProbabilityOutsideUnitInterval_NamesOp()
    {
        var x = T.Zeros(4, 3);
        Assert.Contains("dropout", Assert.Throws<ArgumentOutOfRangeException>(() => O.Dropout(x, 1f, 7UL)).Message);
        Assert.Contains("dropout_add", Assert.Throws<ArgumentOutOfRangeException>(() => O.DropoutAdd(x, x, -0.1f, 7UL)).Message);
    }

    [Fact]
    public void Attention_WrongRank_NamesOp()
    {
        var e = Assert.Throws<ArgumentException>(() => O.Attention(T.Zeros(2, 3), T.Zeros(2, 3), T.Zeros(2, 3)));
        Assert.Contains("attention", e.Message);
    }

    [Theory]
    [InlineData("log")]
    [InlineData("sqrt")]
    [InlineData("pow")]
    public void NaNProducingInputs_AreRejected(string op)
    {
        var x = T.FromArray([1f, -0.5f, 2f], 3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => op switch
        {
            "log" => O.Log(x),
            "sqrt" => O.Sqrt(x),
            _ => O.Pow(x, 0.5f),
        });
        Assert.Contains(op, e.Message);
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void CrossEntropy_TargetOutOfRange_IsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => O.CrossEntropy(T.Zeros(2, 3), [1, 3]));
        Assert.Contains("cross_entropy", e.Message);
    }

    [Fact]
    public void CrossEntropy_AllIgnored_IsRejectedRatherThanNaN()
    {
        var e = Assert.Throws<ArgumentException>(() => O.CrossEntropy(T.Zeros(2, 3), [-100, -100]));
        Assert.Contains("ignore index", e.Message);
    }

    [Fact]
    public void Embedding_IdOutsideVocabulary_IsRejected()
    {
        var e = Assert.Throws<IndexOutOfRangeException>(() => O.Embedding(T.Zeros(4, 2), [1, 4], [2]));
        Assert.Contains("embedding", e.Message);
        Assert.Contains("4", e.Message);
    }

    [Fact]
    public void Reshape_WrongSize_NamesShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => T.Zeros(2, 3).Reshape(4, 2));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4, 2]", e.Message);
    }

    [Fact]
    public void Gemm_TooShortBuffer_NamesTheOperand()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            EfficientFT.Tensors.Blas.NaiveGemm.Instance.Multiply(false, false, 2, 2, 2, 1f, new float[3], 2, new float[4], 2, 0f, new float[4], 2));
        Assert.Contains("A is 2×2", e.Message);
    }
}

using System.Runtime.InteropServices;
using EfficientFT.Models.IO;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Models.Tests.SafeTensors;

public sealed class SafeTensorsRoundTripTests
{
    /// <summary>Bytes of six elements of each dtype, and the float32 values they must widen to exactly.</summary>
    public static TheoryData<SafeTensorsDType, byte[], float[]> EveryDType() => new()
    {
        { SafeTensorsDType.F32, Bytes([0f, -1.5f, 3.25f, float.PositiveInfinity, -0f, 1e-40f]), [0f, -1.5f, 3.25f, float.PositiveInfinity, -0f, 1e-40f] },
        // F16: 1.0, -2.0, smallest subnormal 2^-24, +inf, -inf, largest finite 65504.
        { SafeTensorsDType.F16, Bytes<ushort>([0x3C00, 0xC000, 0x0001, 0x7C00, 0xFC00, 0x7BFF]), [1f, -2f, MathF.Pow(2, -24), float.PositiveInfinity, float.NegativeInfinity, 65504f] },
        // BF16: 1.0, -2.0, smallest subnormal 2^-133, +inf, -inf, largest finite (2 - 2^-7) * 2^127.
        { SafeTensorsDType.BF16, Bytes<ushort>([0x3F80, 0xC000, 0x0001, 0x7F80, 0xFF80, 0x7F7F]), [1f, -2f, BitConverter.UInt32BitsToSingle(0x00010000), float.PositiveInfinity, float.NegativeInfinity, (2 - MathF.Pow(2, -7)) * MathF.Pow(2, 127)] },
        { SafeTensorsDType.F64, Bytes([0.5, -2.0, 1e300, 0.1, -0.0, 3.0]), [0.5f, -2f, float.PositiveInfinity, 0.1f, -0f, 3f] },
        // F8_E5M2 is the top byte of a half: 1.0, -2.0, subnormal 2^-16, +inf, largest finite 57344, 0.
        { SafeTensorsDType.F8E5M2, [0x3C, 0xC0, 0x01, 0x7C, 0x7B, 0x00], [1f, -2f, MathF.Pow(2, -16), float.PositiveInfinity, 57344f, 0f] },
        // F8_E4M3 (e4m3fn): 1.0, -2.0, subnormal 2^-9, largest finite 448, NaN code 0x7F, 0.
        { SafeTensorsDType.F8E4M3, [0x38, 0xC0, 0x01, 0x7E, 0x7F, 0x00], [1f, -2f, MathF.Pow(2, -9), 448f, float.NaN, 0f] },
        { SafeTensorsDType.Bool, [0, 1, 1, 0, 1, 0], [0f, 1f, 1f, 0f, 1f, 0f] },
        { SafeTensorsDType.U8, [0, 255, 1, 2, 3, 128], [0f, 255f, 1f, 2f, 3f, 128f] },
        { SafeTensorsDType.I8, Bytes<sbyte>([-128, 127, -1, 0, 5, -6]), [-128f, 127f, -1f, 0f, 5f, -6f] },
        { SafeTensorsDType.I16, Bytes<short>([short.MinValue, short.MaxValue, -1, 0, 7, 300]), [-32768f, 32767f, -1f, 0f, 7f, 300f] },
        { SafeTensorsDType.U16, Bytes<ushort>([0, ushort.MaxValue, 1, 2, 3, 4]), [0f, 65535f, 1f, 2f, 3f, 4f] },
        { SafeTensorsDType.I32, Bytes([int.MinValue, int.MaxValue, -1, 0, 16777216, 9]), [-2147483648f, 2147483648f, -1f, 0f, 16777216f, 9f] },
        { SafeTensorsDType.U32, Bytes([0u, uint.MaxValue, 1u, 2u, 3u, 4u]), [0f, 4294967296f, 1f, 2f, 3f, 4f] },
        { SafeTensorsDType.I64, Bytes([long.MinValue, long.MaxValue, -1L, 0L, 42L, -42L]), [-9.223372e18f, 9.223372e18f, -1f, 0f, 42f, -42f] },
        { SafeTensorsDType.U64, Bytes([0UL, 1UL << 40, 1UL, 2UL, 3UL, 4UL]), [0f, 1099511627776f, 1f, 2f, 3f, 4f] },
    };

    [Theory]
    [MemberData(nameof(EveryDType))]
    public void EveryDType_RoundTripsBytesAndWidensExactly(SafeTensorsDType dtype, byte[] data, float[] expected)
    {
        using var dir = new TempDirectory();
        var path = dir.File("t.safetensors");
        SafeTensorsWriter.Save(path, [SafeTensorsEntry.FromBytes("x", dtype, data, 2, 3)]);

        using var file = SafeTensorsFile.Open(path);
        var info = file.GetInfo("x");
        Assert.Equal(dtype, info.DType);
        Assert.Equal([2L, 3L], info.Shape);
        Assert.Equal(data, file.GetBytes("x"));
        var tensor = file.GetTensor("x");
        Assert.Equal("x", tensor.Name);
        Assert.Equal([2, 3], tensor.ShapeArray());
        Assert.Equal(expected, tensor.ToArray());
    }

    [Fact]
    public void IntegerTensors_ReadExactlyThroughTypedAccessors()
    {
        using var dir = new TempDirectory();
        var path = dir.File("ints.safetensors");
        long[] big = [long.MinValue, long.MaxValue, (1L << 24) + 1, -7];
        SafeTensorsWriter.Save(path,
        [
            SafeTensorsEntry.FromValues("i64", SafeTensorsDType.I64, big, 2, 2),
            SafeTensorsEntry.FromValues("i32", SafeTensorsDType.I32, new[] { int.MinValue, 5, 6, int.MaxValue }, 4),
            SafeTensorsEntry.FromValues("u8", SafeTensorsDType.U8, new byte[] { 0, 200 }, 2),
            SafeTensorsEntry.FromValues("mask", SafeTensorsDType.Bool, new byte[] { 1, 0, 1 }, 3),
            SafeTensorsEntry.FromValues("f", SafeTensorsDType.F32, new[] { 1f }, 1),
        ]);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(big, file.GetInt64("i64"));
        Assert.Equal([int.MinValue, 5, 6, int.MaxValue], file.GetInt32("i32"));
        Assert.Equal([0, 200], file.GetInt32("u8"));
        Assert.Equal([1L, 0L, 1L], file.GetInt64("mask"));
        var e = Assert.Throws<SafeTensorsFormatException>(() => file.GetInt32("i64"));
        Assert.Contains("i64", e.Message);
        Assert.Throws<InvalidOperationException>(() => file.GetInt64("f"));
    }

    [Theory]
    [InlineData(SafeTensorsDType.F16)]
    [InlineData(SafeTensorsDType.BF16)]
    public void SavingAsHalf_RoundsToNearestEven(SafeTensorsDType dtype)
    {
        // Mantissa bits kept: 10 for F16, 7 for BF16. 1 + half an ulp is a tie and rounds to the even 1.0;
        // 1 + 3/2 ulp is a tie between 1 + ulp (odd) and 1 + 2 ulp (even) and rounds up.
        var ulp = dtype == SafeTensorsDType.F16 ? MathF.Pow(2, -10) : MathF.Pow(2, -7);
        float[] values = [1f + ulp / 2, 1f + 1.5f * ulp, -3f, float.NaN, float.PositiveInfinity, 0f];
        float[] expected = [1f, 1f + 2 * ulp, -3f, float.NaN, float.PositiveInfinity, 0f];
        using var dir = new TempDirectory();
        var path = dir.File("h.safetensors");
        SafeTensorsWriter.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray(values, 2, 3) },
            new SafeTensorsSaveOptions { DType = dtype });

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(dtype, file.GetInfo("w").DType);
        Assert.Equal(expected, file.GetTensor("w").ToArray());
        Assert.Equal("pt", file.Metadata["format"]);
    }

    /// <summary>
    /// A tensor held in bfloat16 is saved from its bits: as BF16 they are written unchanged, as F32 widened exactly,
    /// as F16 rounded from those widened values. Its length spans several write chunks.
    /// </summary>
    [Theory]
    [InlineData(SafeTensorsDType.BF16)]
    [InlineData(SafeTensorsDType.F32)]
    [InlineData(SafeTensorsDType.F16)]
    public void HeldInBFloat16_SavesItsRoundedValues(SafeTensorsDType dtype)
    {
        var w = Tensor.Normal(new Rng(11), 0f, 1f, 300, 700);
        var reference = w.ToArray().Select(v => BFloat16.ToSingle(BFloat16.FromSingle(v))).ToArray();
        w.HoldInBFloat16();
        using var dir = new TempDirectory();
        var path = dir.File("b.safetensors");
        SafeTensorsWriter.Save(path, new Dictionary<string, Tensor> { ["w"] = w }, new SafeTensorsSaveOptions { DType = dtype });

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(dtype, file.GetInfo("w").DType);
        var expected = dtype == SafeTensorsDType.F16 ? reference.Select(v => (float)(Half)v).ToArray() : reference;
        Assert.Equal(expected, file.GetTensor("w").ToArray());
        Assert.Equal([300, 700], file.GetTensor("w").ShapeArray());
    }

    /// <summary>
    /// ReadInto, over several 2²⁰-element read chunks: into a float32 target it gives GetTensor's values, into a held
    /// target those values rounded, and from a BF16 file into a held target the file's bits.
    /// </summary>
    [Theory]
    [InlineData(SafeTensorsDType.F32)]
    [InlineData(SafeTensorsDType.BF16)]
    [InlineData(SafeTensorsDType.F16)]
    public void ReadInto_PieceByPiece_MatchesGetTensor(SafeTensorsDType dtype)
    {
        var source = Tensor.Normal(new Rng(12), 0f, 1f, 1100, 1000);
        using var dir = new TempDirectory();
        var path = dir.File("r.safetensors");
        SafeTensorsWriter.Save(path, new Dictionary<string, Tensor> { ["w"] = source }, new SafeTensorsSaveOptions { DType = dtype });
        using var file = SafeTensorsFile.Open(path);
        var expected = file.GetTensor("w").ToArray();

        var single = Tensor.Zeros(1100, 1000);
        file.ReadInto("w", single);
        Assert.Equal(expected, single.ToArray());

        var held = Tensor.Zeros(1100, 1000);
        held.HoldInBFloat16();
        file.ReadInto("w", held);
        Assert.Equal(expected.Select(v => BFloat16.ToSingle(BFloat16.FromSingle(v))), held.ToArray());
        if (dtype == SafeTensorsDType.BF16)
            Assert.Equal(MemoryMarshal.Cast<byte, ushort>(file.GetBytes("w")).ToArray(), held.AsBFloat16Span().ToArray());

        var wrongSize = Assert.Throws<SafeTensorsFormatException>(() => file.ReadInto("w", Tensor.Zeros(1100, 999)));
        Assert.Contains(path, wrongSize.Message);
    }

    /// <summary>
    /// A packed tensor, over several chunks, is saved with its exact values, and ReadInto a packed target loads those
    /// values and leaves it packed.
    /// </summary>
    [Fact]
    public void PackedTensor_SavesItsValues_AndLoadsBackPacked()
    {
        var w = Tensor.Normal(new Rng(13), 0f, 1f, 1100, 1000);
        var values = w.ToArray();
        Assert.True(w.HoldPacked());
        using var dir = new TempDirectory();
        var path = dir.File("p.safetensors");
        SafeTensorsWriter.Save(path, new Dictionary<string, Tensor> { ["w"] = w });
        Assert.True(w.IsPacked);

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(values, file.GetTensor("w").ToArray());
        var target = Tensor.Zeros(1100, 1000);
        Assert.True(target.HoldPacked());
        file.ReadInto("w", target);
        Assert.True(target.IsPacked);
        Assert.Equal(values, target.ToArray());
    }

    [Fact]
    public void Float32Tensors_RoundTripBitExact_IncludingTransposedViewsAndScalars()
    {
        var rng = new Rng(7);
        var w = Tensor.Normal(rng, 0f, 1f, 3, 5);
        var tensors = new Dictionary<string, Tensor>
        {
            ["layer.0.weight"] = w,
            ["layer.0.weight_t"] = w.Transpose(),
            ["scale"] = Tensor.Scalar(0.25f),
            ["empty"] = Tensor.Zeros(0, 4),
        };
        using var dir = new TempDirectory();
        var path = dir.File("f.safetensors");
        SafeTensorsWriter.Save(path, tensors);

        var loaded = SafeTensorsFile.LoadAll(path);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.ShapeArray(), loaded[name].ShapeArray());
            Assert.Equal(t.ToArray(), loaded[name].ToArray());
        }
    }

    [Fact]
    public void Writer_MatchesReferenceLibraryBytes()
    {
        // The expected bytes are the reference Rust library's own test vectors (safetensors tensor.rs,
        // test_serialization and test_empty).
        using var dir = new TempDirectory();
        var path = dir.File("ref.safetensors");
        SafeTensorsWriter.Save(path, [SafeTensorsEntry.FromValues("attn.0", SafeTensorsDType.F32, new[] { 0f, 1f, 2f, 3f, 4f, 5f }, 1, 2, 3)]);
        byte[] expected =
        [
            64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
            116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
            58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
            101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
            0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
        ];
        Assert.Equal(expected, File.ReadAllBytes(path));

        SafeTensorsWriter.Save(path, Array.Empty<SafeTensorsEntry>());
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32], File.ReadAllBytes(path));

        SafeTensorsWriter.Save(path, Array.Empty<SafeTensorsEntry>(), new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal("{\"__metadata__\":{\"framework\":\"pt\"}}     ", System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(path)[8..]));
    }

    [Fact]
    public void Writer_OrdersByDescendingAlignmentThenName()
    {
        using var dir = new TempDirectory();
        var path = dir.File("order.safetensors");
        SafeTensorsWriter.Save(path,
        [
            SafeTensorsEntry.FromValues("b", SafeTensorsDType.F32, new[] { 1f }, 1),
            SafeTensorsEntry.FromValues("a", SafeTensorsDType.U8, new byte[] { 1 }, 1),
            SafeTensorsEntry.FromValues("z", SafeTensorsDType.I64, new[] { 1L }, 1),
            SafeTensorsEntry.FromValues("a2", SafeTensorsDType.F32, new[] { 1f }, 1),
            SafeTensorsEntry.FromValues("m", SafeTensorsDType.BF16, new ushort[] { 0x3F80 }, 1),
        ]);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(["z", "a2", "b", "m", "a"], file.Names);
        Assert.All(file.Tensors, t => Assert.Equal(0, t.Begin % t.DType.ElementSize()));
    }

    [Fact]
    public void Save_ReplacesAtomically_AndLeavesNoTemporaryFiles()
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.safetensors");
        SafeTensorsWriter.Save(path, new Dictionary<string, Tensor> { ["x"] = Tensor.Ones(4) });
        using (var open = SafeTensorsFile.Open(path))
        {
            // Replacing a file that is open and mapped works, and the open reader keeps seeing the old bytes.
            SafeTensorsWriter.Save(path, new Dictionary<string, Tensor> { ["x"] = Tensor.Full(2f, 4) });
            Assert.Equal([1f, 1f, 1f, 1f], open.GetTensor("x").ToArray());
        }
        Assert.Equal([2f, 2f, 2f, 2f], SafeTensorsFile.LoadAll(path)["x"].ToArray());

        // A write that fails half way leaves the old file untouched and no temporary file behind.
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[100]);
            throw new IOException("disk full");
        }));
        Assert.Equal([2f, 2f, 2f, 2f], SafeTensorsFile.LoadAll(path)["x"].ToArray());
        Assert.Equal(["a.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    private static byte[] Bytes<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}

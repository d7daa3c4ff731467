using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace EfficientFT.Models.Tests.SafeTensors;

/// <summary>
/// Random files round-trip through the writer and reader, and random corruptions of valid files are refused with a
/// <see cref="SafeTensorsFormatException"/> naming the file, never another exception or a hang. Every property runs
/// from a fixed seed, so a failure replays exactly; the counterexample FsCheck prints says which case broke.
/// </summary>
public sealed class SafeTensorsPropertyTests : IDisposable
{
    /// <summary>A read of a few hundred bytes takes microseconds; anything near this limit is a loop that never ends.</summary>
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(5);

    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly SafeTensorsDType[] AllDTypes = Enum.GetValues<SafeTensorsDType>();

    private static readonly SafeTensorsDType[] FloatTensorDTypes = [SafeTensorsDType.F32, SafeTensorsDType.F16, SafeTensorsDType.BF16];

    /// <summary>Name pieces: dots as in real checkpoints, multi-byte and astral UTF-8, and characters JSON must escape.</summary>
    private static readonly string[] NameParts =
        ["a", "b", "x", "0", "7", ".", ".", "_", "-", "/", " ", "weight", "layers", "é", "ß", "中", "Ω", "😀", "\"", "\\", "\n", "\u0001"];

    private static readonly Gen<byte> AnyByte = Gen.Choose(0, 255).Select(b => (byte)b);

    private static readonly Gen<float> AnyFloat = Gen.ArrayOf(AnyByte, 4).Select(b => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(b)));

    /// <summary>Floats at the edges of F16/BF16 rounding: overflow to inf, subnormals, and exact ties either way.</summary>
    private static readonly float[] SpecialFloats =
    [
        float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, float.MaxValue, float.MinValue,
        65504f, 65519.996f, 65520f, 1e-8f, MathF.Pow(2, -25), BitConverter.UInt32BitsToSingle(0x3F808000), BitConverter.UInt32BitsToSingle(0x3F818000),
        BitConverter.UInt32BitsToSingle(0x7F7F8000),
    ];

    /// <summary>Pieces of JSON-looking garbage, including raw bytes that are not UTF-8 and escapes of lone surrogates.</summary>
    private static readonly byte[][] GarbageTokens =
    [
        .. new[]
        {
            "{", "}", "[", "]", ":", ",", "\"", " ", "0", "-1", "1e400", "18446744073709551616", "true", "null", "\"dtype\"", "\"F32\"",
            "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"\\ud800\"", "\\u00", "é", "😀",
        }.Select(Encoding.UTF8.GetBytes),
        [0xFF], [0xC3], [0x80], [0x00], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
    ];

    private readonly TempDirectory _dir = new();
    private int _files;

    public void Dispose() => _dir.Dispose();

    private enum Source
    {
        /// <summary>A float32 <see cref="Tensor"/> saved as F32, F16 or BF16.</summary>
        Tensor,

        /// <summary>A typed array through <see cref="SafeTensorsEntry.FromValues{T}"/>.</summary>
        Values,

        /// <summary>Raw bytes through <see cref="SafeTensorsEntry.FromBytes"/>.</summary>
        Bytes,
    }

    /// <summary>One generated tensor: how it goes to the writer, and the values it holds (floats or raw bytes, by source).</summary>
    private sealed record TensorCase(string Name, Source Source, SafeTensorsDType DType, long[] Shape, float[] Floats, byte[] Bytes)
    {
        public long ByteLength => Shape.Aggregate(1L, (a, d) => a * d) * DType.ElementSize();

        public override string ToString() => $"'{Name}' {DType} [{string.Join(", ", Shape)}] from {Source}";
    }

    private sealed record FileCase(TensorCase[] Tensors, Dictionary<string, string>? Metadata)
    {
        public override string ToString() =>
            $"{{{string.Join("; ", Tensors.Select(t => t.ToString()))}}} metadata {(Metadata == null ? "none" : JsonSerializer.Serialize(Metadata))}";
    }

    /// <summary>A valid file as the writer lays it out, kept in parts so corruptions can edit the header.</summary>
    private sealed record ValidFile(FileCase Case, byte[] Header, byte[] Data)
    {
        public byte[] Bytes => Assemble(Header, Data);

        /// <summary>A fresh, editable parse of the header.</summary>
        public JsonObject Json => (JsonObject)JsonNode.Parse(Header)!;

        public override string ToString() => Case.ToString();
    }

    private sealed record Corruption(string What, byte[] Bytes, bool MustFail)
    {
        public override string ToString() => $"{What} ({Bytes.Length} bytes, must fail: {MustFail})";
    }

    [Fact]
    public void RandomFiles_RoundTripThroughWriterAndReader() =>
        Check.One(Seeded(0x5AFE7E45, 200), Prop.ForAll(Files.ToArbitrary(), RoundTrips));

    [Fact]
    public void TruncatedFiles_AreRefused() =>
        CheckCorruptions(0x7A11, 100, f =>
        {
            var bytes = f.Bytes;
            return Gen.Frequency((1, Gen.Choose(0, 7)), (3, Gen.Choose(0, bytes.Length - 1)))
                .Select(n => new Corruption($"{f}: truncated to {n} of {bytes.Length} bytes", bytes[..n], MustFail: true));
        });

    [Fact]
    public void LyingHeaderLengths_AreRefused() =>
        CheckCorruptions(0x1E46, 100, f =>
        {
            var bytes = f.Bytes;
            var actual = (ulong)f.Header.Length;
            var claimed = Gen.OneOf(
                Gen.Constant(0UL),
                Gen.Choose(1, bytes.Length).Select(n => (ulong)n),
                Gen.Choose(1, 64).Select(k => (ulong)(bytes.Length - 8 + k)),
                Gen.Elements(100_000_000UL, 100_000_001UL, 1UL << 32, 1UL << 40, 1UL << 63, ulong.MaxValue));
            return claimed.Where(n => n != actual).Select(n =>
            {
                var lie = (byte[])bytes.Clone();
                BinaryPrimitives.WriteUInt64LittleEndian(lie, n);
                return new Corruption($"{f}: header length {n} instead of {actual}", lie, MustFail: true);
            });
        });

    [Fact]
    public void FlippedOrReplacedHeaderBytes_AreRefusedOrRead() =>
        CheckCorruptions(0xF11B, 250, f => Gen.OneOf(
            from flips in Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gen.Zip(Gen.Choose(0, f.Header.Length - 1), Gen.Choose(1, 255)), n))
            select new Corruption(
                $"{f}: header bytes flipped at {string.Join(", ", flips.Select(p => $"{p.Item1}^0x{p.Item2:X2}"))}",
                Flipped(f.Bytes, flips), MustFail: false),
            from garbage in Garbage
            from padded in Gen.Elements(false, true)
            let header = padded && garbage.Length < f.Header.Length
                ? [.. garbage, .. Enumerable.Repeat((byte)' ', f.Header.Length - garbage.Length)]
                : garbage
            select new Corruption($"{f}: header replaced by {Convert.ToHexString(header)}", Assemble(header, f.Data), MustFail: false)));

    [Fact]
    public void EditedDataOffsets_AreRefused() =>
        CheckCorruptions(0x0FF5, 150, f =>
        {
            var dataLength = f.Data.Length;
            return from t in Gen.Elements(f.Case.Tensors.Where(t => t.ByteLength > 0).ToArray())
                   let offsets = f.Json[t.Name]!["data_offsets"]!.AsArray()
                   let begin = (long)offsets[0]!
                   let end = (long)offsets[1]!
                   let size = end - begin
                   // Moving or resizing one non-empty tensor of an exact tiling always leaves a hole or an overlap.
                   from literal in Gen.OneOf(
                       Gen.Choose(0, dataLength).Where(b => b != begin).Select(b => $"[{b},{b + size}]"),
                       Gen.Choose(1, 9).Select(k => $"[{begin},{end + k}]"),
                       Gen.Choose(1, 9).Select(k => $"[{begin},{Math.Max(0, end - k)}]"),
                       Gen.Elements(
                           $"[{end},{begin}]", $"[{dataLength},{dataLength + size}]", $"[-1,{size - 1}]", $"[{begin}]", "[]",
                           $"[{begin},{end},{end}]", $"[0,{long.MaxValue}]", $"[{long.MaxValue},{long.MaxValue}]", "[0,18446744073709551615]",
                           $"[{begin},1e20]", $"[{begin}.0,{end}.0]", $"[\"{begin}\",\"{end}\"]", "null"))
                   select Edited(f, $"data_offsets of '{t.Name}' [{begin},{end}] -> {literal}", mustFail: true,
                       json => json[t.Name]!["data_offsets"] = JsonNode.Parse(literal));
        });

    [Fact]
    public void EditedShapesAndDTypes_AreRefusedUnlessTheSizeStillMatches() =>
        CheckCorruptions(0x5A9E, 200, f =>
            from t in Gen.Elements(f.Case.Tensors)
            from edit in Gen.OneOf(ShapeEdits(t), DTypeEdits(t))
            select Edited(f, $"'{t.Name}' {edit.What}", edit.MustFail, json => edit.Apply((JsonObject)json[t.Name]!)));

    [Fact]
    public void StructuralHeaderEdits_AreRefusedOrRead() =>
        CheckCorruptions(0x57C7, 150, f =>
        {
            var names = f.Case.Tensors.Select(t => t.Name).ToArray();
            var nonEmpty = f.Case.Tensors.Where(t => t.ByteLength > 0).Select(t => t.Name).ToArray();
            var entryKeys = new[] { "dtype", "shape", "data_offsets" };
            string EntryOf(string name) => f.Json[name]!.ToJsonString(RelaxedJson);
            return Gen.OneOf(
                Gen.Elements(nonEmpty).Select(n => Edited(f, $"'{n}' removed", mustFail: true, json => json.Remove(n))),
                Gen.Elements(names).Select(n => WithRawEntry(f, $"{JsonSerializer.Serialize(n, RelaxedJson)}:{EntryOf(n)}", null, $"'{n}' listed twice")),
                // The reference library reads strings into Rust strings, which cannot hold an unpaired surrogate.
                Gen.Elements(names).Select(n => WithRawEntry(f, $"\"a\\ud800\":{EntryOf(n)}", n, $"'{n}' renamed to an unpaired surrogate")),
                Gen.Constant(WithRawEntry(f, "\"__metadata__\":{\"format\":\"\\udc00\"}", "__metadata__", "a metadata value is an unpaired surrogate")),
                from n in Gen.Elements(names)
                from value in Gen.Elements("null", "1", "\"F32\"", "[]", "{}")
                select Edited(f, $"'{n}' entry replaced by {value}", mustFail: true, json => json[n] = JsonNode.Parse(value)),
                from n in Gen.Elements(names)
                from key in Gen.Elements(entryKeys)
                select Edited(f, $"'{n}' lost \"{key}\"", mustFail: true, json => json[n]!.AsObject().Remove(key)),
                // Unknown keys in an entry are ignored, as the reference library's serde struct ignores them.
                Gen.Elements(names).Select(n => Edited(f, $"'{n}' gained an unknown key", mustFail: false, json => json[n]!["extra"] = 1)),
                from value in Gen.Elements("1", "{}", "[\"pt\"]", "null", "true")
                select Edited(f, $"a metadata value replaced by {value}", mustFail: true,
                    json => (json["__metadata__"] as JsonObject ?? (JsonObject)(json["__metadata__"] = new JsonObject()))["format"] = JsonNode.Parse(value)),
                from value in Gen.Elements("[]", "\"pt\"", "7", "null")
                select Edited(f, $"__metadata__ replaced by {value}", mustFail: value != "null", json => json["__metadata__"] = JsonNode.Parse(value)),
                from extra in Gen.Choose(1, 16)
                select new Corruption($"{f}: {extra} bytes appended", [.. f.Bytes, .. new byte[extra]], MustFail: true));
        });

    // ---- round trip ----

    private void RoundTrips(FileCase f)
    {
        var path = NewPath();
        try
        {
            SafeTensorsWriter.Save(path, f.Tensors.Select(ToEntry), f.Metadata);
            using var file = SafeTensorsFile.Open(path);
            Assert.Equal((f.Metadata ?? []).OrderBy(kv => kv.Key, StringComparer.Ordinal), file.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            Assert.Equal(f.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
            foreach (var t in f.Tensors)
            {
                var info = file.GetInfo(t.Name);
                Assert.Equal(t.DType, info.DType);
                Assert.Equal(t.Shape, info.Shape);
                // The writer's ordering promises every tensor starts aligned to its element size.
                Assert.Equal(0, info.Begin % t.DType.ElementSize());
                var tensor = file.GetTensor(t.Name);
                Assert.Equal(t.Name, tensor.Name);
                Assert.Equal(IntShape(t.Shape), tensor.ShapeArray());
                if (t.Source == Source.Tensor)
                {
                    var exact = t.DType == SafeTensorsDType.F32;
                    Assert.Equal(t.Floats.Select(x => Bits(Stored(x, t.DType), exact)), tensor.ToArray().Select(x => Bits(x, exact)));
                    continue;
                }
                Assert.Equal(t.Bytes, file.GetBytes(t.Name));
                if (t.DType == SafeTensorsDType.F32)
                    Assert.Equal(MemoryMarshal.Cast<byte, uint>(t.Bytes).ToArray(), tensor.ToArray().Select(x => Bits(x, exact: true)));
                if (!t.DType.IsFloatingPoint())
                {
                    var expected = Integers(t.DType, t.Bytes);
                    if (expected.Any(v => v > long.MaxValue))
                        Assert.Contains(path, Assert.Throws<SafeTensorsFormatException>(() => file.GetInt64(t.Name)).Message);
                    else
                        Assert.Equal(expected.Select(v => (long)v), file.GetInt64(t.Name));
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static SafeTensorsEntry ToEntry(TensorCase t) => t.Source switch
    {
        Source.Tensor => SafeTensorsEntry.FromTensor(t.Name, Tensor.Wrap(t.Floats, IntShape(t.Shape)), t.DType),
        Source.Bytes => SafeTensorsEntry.FromBytes(t.Name, t.DType, t.Bytes, t.Shape),
        _ => t.DType switch
        {
            SafeTensorsDType.I8 => Values<sbyte>(t),
            SafeTensorsDType.I16 => Values<short>(t),
            SafeTensorsDType.U16 or SafeTensorsDType.BF16 => Values<ushort>(t),
            SafeTensorsDType.F16 => Values<Half>(t),
            SafeTensorsDType.I32 => Values<int>(t),
            SafeTensorsDType.U32 => Values<uint>(t),
            SafeTensorsDType.F32 => Values<float>(t),
            SafeTensorsDType.F64 => Values<double>(t),
            SafeTensorsDType.I64 => Values<long>(t),
            SafeTensorsDType.U64 => Values<ulong>(t),
            _ => Values<byte>(t),
        },
    };

    private static SafeTensorsEntry Values<T>(TensorCase t) where T : unmanaged =>
        SafeTensorsEntry.FromValues(t.Name, t.DType, MemoryMarshal.Cast<byte, T>(t.Bytes).ToArray(), t.Shape);

    /// <summary>What a float32 becomes once stored as <paramref name="dtype"/> and widened back.</summary>
    private static float Stored(float x, SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F32 => x,
        SafeTensorsDType.F16 => (float)(Half)x,
        _ => NearestBFloat16(x),
    };

    /// <summary>
    /// The bfloat16 nearest to <paramref name="x"/>, found by comparing distances rather than by the writer's bit trick:
    /// the candidates are the float32s with the low 16 bits cleared on either side, the step past the largest finite
    /// value counts as 2^128 (IEEE overflow rounding), and a tie goes to the even code.
    /// </summary>
    private static float NearestBFloat16(float x)
    {
        if (float.IsNaN(x)) return x;
        var bits = BitConverter.SingleToUInt32Bits(x);
        var magnitude = bits & 0x7FFFFFFFu;
        var down = magnitude & 0xFFFF0000u;
        var up = down + 0x10000u;
        static double Value(uint code) => code == 0x7F800000u ? Math.Pow(2, 128) : BitConverter.UInt32BitsToSingle(code);
        var below = Value(magnitude) - Value(down);
        var above = Value(up) - Value(magnitude);
        var nearest = below < above ? down : above < below ? up : (down & 0x10000u) == 0 ? down : up;
        return BitConverter.UInt32BitsToSingle((bits & 0x80000000u) | nearest);
    }

    /// <summary>A float's bits; F16/BF16 conversions may change a NaN's payload, so those compare NaN as one value.</summary>
    private static uint Bits(float x, bool exact) => !exact && float.IsNaN(x) ? 0x7FC00000u : BitConverter.SingleToUInt32Bits(x);

    private static Int128[] Integers(SafeTensorsDType dtype, byte[] bytes)
    {
        var size = dtype.ElementSize();
        var values = new Int128[bytes.Length / size];
        for (var i = 0; i < values.Length; i++)
        {
            var e = bytes.AsSpan(i * size, size);
            values[i] = dtype switch
            {
                SafeTensorsDType.I8 => (sbyte)e[0],
                SafeTensorsDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(e),
                SafeTensorsDType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(e),
                SafeTensorsDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(e),
                SafeTensorsDType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(e),
                SafeTensorsDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(e),
                SafeTensorsDType.U64 => BinaryPrimitives.ReadUInt64LittleEndian(e),
                _ => e[0],
            };
        }
        return values;
    }

    // ---- corruption ----

    private void CheckCorruptions(ulong seed, int maxTest, Func<ValidFile, Gen<Corruption>> corrupt) =>
        Check.One(Seeded(seed, maxTest), Prop.ForAll(ValidFiles.SelectMany(corrupt).ToArbitrary(), RefusedOrReadable));

    private void RefusedOrReadable(Corruption c)
    {
        var path = NewPath();
        File.WriteAllBytes(path, c.Bytes);
        try
        {
            var opened = WithinHangLimit(() => OpenAndReadEverything(path));
            if (c.MustFail) Assert.False(opened, $"{c.What}: the reader accepted the file.");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>False when the file is refused; otherwise every tensor is read through every accessor that applies.</summary>
    private static bool OpenAndReadEverything(string path)
    {
        SafeTensorsFile file;
        try
        {
            file = SafeTensorsFile.Open(path);
        }
        catch (SafeTensorsFormatException e)
        {
            AssertNamesFile(e, path);
            return false;
        }
        using (file)
        {
            foreach (var info in file.Tensors)
            {
                ReadOrRefuse(path, () =>
                {
                    var tensor = file.GetTensor(info.Name);
                    Assert.Equal(info.Shape, tensor.ShapeArray().Select(d => (long)d));
                });
                ReadOrRefuse(path, () => Assert.Equal(info.ByteLength, file.GetBytes(info.Name).LongLength));
                if (!info.DType.IsFloatingPoint()) ReadOrRefuse(path, () => Assert.Equal(info.ElementCount, file.GetInt64(info.Name).LongLength));
            }
        }
        return true;
    }

    private static void ReadOrRefuse(string path, Action read)
    {
        try
        {
            read();
        }
        catch (SafeTensorsFormatException e)
        {
            AssertNamesFile(e, path);
        }
    }

    private static void AssertNamesFile(SafeTensorsFormatException e, string path)
    {
        Assert.Equal(path, e.File);
        Assert.Contains(path, e.Message);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on its own thread so a read that never returns fails the property instead of the
    /// whole test run; a dedicated thread, unlike the pool, starts at once on a busy machine.
    /// </summary>
    private static T WithinHangLimit<T>(Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }) { IsBackground = true };
        thread.Start();
        if (!thread.Join(HangLimit)) Assert.Fail($"The read did not finish within {HangLimit.TotalSeconds} s.");
        failure?.Throw();
        return result;
    }

    private static Gen<(string What, bool MustFail, Action<JsonObject> Apply)> ShapeEdits(TensorCase t)
    {
        // Each extent is JSON text with its value, or null where the reader must refuse the text itself.
        var extents = Gen.Elements<(string Text, BigInteger? Value)>(
            ("0", 0), ("1", 1), ("2", 2), ("3", 3), ("5", 5), ("2147483648", 2147483648), ("4294967296", 4294967296),
            ("6442450944", 6442450944), ("9223372036854775807", long.MaxValue), ("18446744073709551616", null),
            ("-1", null), ("1.5", null), ("\"2\"", null), ("null", null));
        var shape = t.Shape.Select(d => (Text: d.ToString(), Value: (BigInteger?)d)).ToList();
        var edits = new List<Gen<List<(string Text, BigInteger? Value)>>>
        {
            extents.Select(e => shape.Append(e).ToList()),
        };
        if (shape.Count > 0)
        {
            edits.Add(Gen.Choose(0, shape.Count - 1).Select(i => shape.Where((_, j) => j != i).ToList()));
            edits.Add(Gen.Zip(Gen.Choose(0, shape.Count - 1), extents).Select(p => shape.Select((d, j) => j == p.Item1 ? p.Item2 : d).ToList()));
        }
        return Gen.OneOf(edits).Select(edited =>
        {
            var literal = $"[{string.Join(",", edited.Select(d => d.Text))}]";
            var mustFail = edited.Any(d => d.Value == null)
                || edited.Aggregate(BigInteger.One, (a, d) => a * d.Value!.Value) * t.DType.ElementSize() != t.ByteLength;
            return ($"shape -> {literal}", mustFail, (Action<JsonObject>)(entry => entry["shape"] = JsonNode.Parse(literal)));
        });
    }

    private static Gen<(string What, bool MustFail, Action<JsonObject> Apply)> DTypeEdits(TensorCase t)
    {
        var count = t.ByteLength / t.DType.ElementSize();
        var known = Gen.Elements(AllDTypes).Select(d => (
            $"dtype -> {d.HeaderName()}", count * d.ElementSize() != t.ByteLength, (Action<JsonObject>)(entry => entry["dtype"] = d.HeaderName())));
        var unknown = Gen.Elements("F128", "f32", "", "Q4", "U4", "F8_E4M3FN", " F32", "BOOL ", "中").Select(name => (
            $"dtype -> '{name}'", true, (Action<JsonObject>)(entry => entry["dtype"] = name)));
        var notAString = Gen.Elements("32", "null", "[\"F32\"]", "{}").Select(value => (
            $"dtype -> {value}", true, (Action<JsonObject>)(entry => entry["dtype"] = JsonNode.Parse(value))));
        return Gen.OneOf(known, unknown, notAString);
    }

    private static Corruption Edited(ValidFile f, string what, bool mustFail, Action<JsonObject> edit)
    {
        var json = f.Json;
        edit(json);
        return new Corruption($"{f}: {what}", Assemble(Encoding.UTF8.GetBytes(json.ToJsonString(RelaxedJson)), f.Data), mustFail);
    }

    /// <summary>
    /// The header with <paramref name="rawEntry"/> put first, in place of <paramref name="replaced"/> if given: JSON text
    /// that a JSON object model cannot hold or write (a repeated key, an escaped unpaired surrogate).
    /// </summary>
    private static Corruption WithRawEntry(ValidFile f, string rawEntry, string? replaced, string what)
    {
        var json = f.Json;
        if (replaced != null) json.Remove(replaced);
        var rest = json.ToJsonString(RelaxedJson)[1..];
        var header = "{" + rawEntry + (rest == "}" ? "" : ",") + rest;
        return new Corruption($"{f}: {what}", Assemble(Encoding.UTF8.GetBytes(header), f.Data), MustFail: true);
    }

    private static byte[] Flipped(byte[] bytes, (int Position, int Mask)[] flips)
    {
        var flipped = (byte[])bytes.Clone();
        foreach (var (position, mask) in flips) flipped[8 + position] ^= (byte)mask;
        return flipped;
    }

    private static byte[] Assemble(byte[] header, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    // ---- generators ----

    private static Gen<string> Name =>
        Gen.Choose(1, 6).SelectMany(n => Gen.ArrayOf(Gen.Elements(NameParts), n)).Select(string.Concat).Where(n => n != "__metadata__");

    /// <summary>Scalars, zero-sized extents and up to rank 4, small enough that a file stays a few KB.</summary>
    private static Gen<long[]> Shape =>
        Gen.Frequency((1, Gen.Constant(0)), (3, Gen.Choose(1, 2)), (2, Gen.Choose(3, 4)))
            .SelectMany(rank => Gen.ArrayOf(Gen.Frequency((1, Gen.Constant(0L)), (8, Gen.Choose(1, 4).Select(d => (long)d)), (1, Gen.Choose(5, 9).Select(d => (long)d))), rank));

    private static Gen<TensorCase> Tensors =>
        from source in Gen.Elements(Source.Tensor, Source.Values, Source.Bytes)
        from dtype in Gen.Elements(source == Source.Tensor ? FloatTensorDTypes : AllDTypes)
        from name in Name
        from shape in Shape
        let count = (int)shape.Aggregate(1L, (a, d) => a * d)
        from floats in source == Source.Tensor ? Gen.ArrayOf(FloatFor(dtype), count) : Gen.Constant(Array.Empty<float>())
        from bytes in source == Source.Tensor
            ? Gen.Constant(Array.Empty<byte>())
            : Gen.ArrayOf(ElementBytes(dtype), count).Select(e => e.SelectMany(b => b).ToArray())
        select new TensorCase(name, source, dtype, shape, floats, bytes);

    private static Gen<Dictionary<string, string>?> Metadata =>
        Gen.Frequency(
            (1, Gen.Constant<Dictionary<string, string>?>(null)),
            (3, Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gen.Zip(Name, Gen.OneOf(Name, Gen.Constant(""))), n))
                .Select(pairs => (Dictionary<string, string>?)pairs.DistinctBy(p => p.Item1).ToDictionary(p => p.Item1, p => p.Item2))));

    private static Gen<FileCase> Files =>
        from tensors in Gen.Choose(0, 6).SelectMany(n => Gen.ArrayOf(Tensors, n))
        from metadata in Metadata
        select new FileCase(tensors.DistinctBy(t => t.Name).ToArray(), metadata);

    /// <summary>Files with data to displace: a header over an empty buffer leaves little for offsets to break.</summary>
    private static Gen<ValidFile> ValidFiles =>
        Files.Where(f => f.Tensors.Any(t => t.ByteLength > 0)).Select(f =>
        {
            var ordered = SafeTensorsWriter.Order(f.Tensors.Select(ToEntry));
            using var data = new MemoryStream();
            foreach (var entry in ordered) entry.WriteData(data);
            return new ValidFile(f, SafeTensorsWriter.BuildHeader(ordered, f.Metadata), data.ToArray());
        });

    /// <summary>Inputs for a float32 tensor: special values, any float32, and (for F16/BF16) values the dtype holds exactly.</summary>
    private static Gen<float> FloatFor(SafeTensorsDType dtype) => Gen.Frequency(
        (1, Gen.Elements(SpecialFloats)),
        (2, AnyFloat),
        (2, dtype switch
        {
            SafeTensorsDType.F16 => Gen.ArrayOf(AnyByte, 2).Select(b => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b))),
            SafeTensorsDType.BF16 => Gen.ArrayOf(AnyByte, 2).Select(b => BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(b) << 16)),
            _ => AnyFloat,
        }));

    /// <summary>
    /// One element's bytes: random, or one of the little-endian patterns 0, all ones, the sign bit alone and all but the
    /// sign bit (zero, -1 / unsigned max, signed min and max, -0, NaN), plus each float type's infinities and extremes.
    /// </summary>
    private static Gen<byte[]> ElementBytes(SafeTensorsDType dtype)
    {
        if (dtype == SafeTensorsDType.Bool) return Gen.Elements<byte[]>([0], [1]);
        var size = dtype.ElementSize();
        byte[] Pattern(byte fill, byte top) => [.. Enumerable.Repeat(fill, size - 1), top];
        var specials = new List<byte[]> { Pattern(0, 0), Pattern(0xFF, 0xFF), Pattern(0, 0x80), Pattern(0xFF, 0x7F) };
        specials.AddRange(dtype switch
        {
            SafeTensorsDType.F16 => new ushort[] { 0x7C00, 0xFC00, 0x7E00, 0x0001, 0x7BFF }.Select(BitConverter.GetBytes),
            SafeTensorsDType.BF16 => new ushort[] { 0x7F80, 0xFF80, 0x7FC0, 0x0001, 0x7F7F }.Select(BitConverter.GetBytes),
            SafeTensorsDType.F32 => new[] { float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, float.MaxValue }.Select(BitConverter.GetBytes),
            SafeTensorsDType.F64 => new[] { double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, double.MaxValue, 1e300 }.Select(BitConverter.GetBytes),
            _ => [],
        });
        return Gen.Frequency((3, Gen.ArrayOf(AnyByte, size)), (1, Gen.Elements(specials.ToArray())));
    }

    private static Gen<byte[]> Garbage =>
        Gen.Frequency(
            (3, Gen.Choose(0, 40).SelectMany(n => Gen.ArrayOf(Gen.Elements(GarbageTokens), n)).Select(ts => (byte[])[(byte)'{', .. ts.SelectMany(t => t)])),
            (1, Gen.Choose(0, 40).SelectMany(n => Gen.ArrayOf(Gen.Elements(GarbageTokens), n)).Select(ts => ts.SelectMany(t => t).ToArray())),
            (1, Gen.Choose(0, 64).SelectMany(n => Gen.ArrayOf(AnyByte, n))));

    // ---- plumbing ----

    private static Config Seeded(ulong seed, int maxTest) =>
        Config.QuickThrowOnFailure
            .WithMaxTest(maxTest)
            .WithQuietOnSuccess(true)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed), FSharpOption<int>.None)));

    private string NewPath() => _dir.File($"p{Interlocked.Increment(ref _files)}.safetensors");

    private static int[] IntShape(long[] shape) => Array.ConvertAll(shape, d => (int)d);
}

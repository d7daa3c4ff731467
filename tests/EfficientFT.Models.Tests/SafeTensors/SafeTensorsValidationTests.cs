using System.Text;
using EfficientFT.Models.SafeTensors;

namespace EfficientFT.Models.Tests.SafeTensors;

/// <summary>Every malformed file is refused with an exception that names the file and, where one is at fault, the tensor.</summary>
public sealed class SafeTensorsValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void HeaderLengthPastEndOfFile_IsRejected()
    {
        var path = Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, headerLength: 4096);
        var e = Refused(path, tensor: null);
        Assert.Contains("runs past the end of the file", e.Message);
    }

    [Fact]
    public void HeaderLengthOver100MB_IsRejected()
    {
        var path = Write("{}", 0, headerLength: 100_000_001);
        var e = Refused(path, tensor: null);
        Assert.Contains("100000000", e.Message);
    }

    [Fact]
    public void FileShorterThanTheLengthPrefix_IsRejected()
    {
        var path = _dir.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Refused(path, tensor: null);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"a\": ")]
    [InlineData("[1, 2]")]
    public void HeaderThatIsNotAJsonObject_IsRejected(string header)
    {
        Refused(Write(header, 0), tensor: null);
    }

    [Fact]
    public void OverlappingOffsets_NameTheTensor()
    {
        var path = Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24);
        var e = Refused(path, "b");
        Assert.Contains("overlap", e.Message);
    }

    [Fact]
    public void HoleBetweenTensors_NamesTheTensor()
    {
        var path = Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[20,36]}}", 36);
        var e = Refused(path, "b");
        Assert.Contains("hole", e.Message);
    }

    [Fact]
    public void UncoveredBytesAtTheEnd_AreAHole()
    {
        var path = Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 20);
        var e = Refused(path, "a");
        Assert.Contains("hole", e.Message);
    }

    [Fact]
    public void OffsetsPastTheDataBuffer_AreRejected()
    {
        var path = Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
        var e = Refused(path, "a");
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void ByteSizeDisagreeingWithShape_IsRejected()
    {
        var path = Write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20);
        var e = Refused(path, "a");
        Assert.Contains("need 24 bytes", e.Message);
    }

    [Fact]
    public void UnknownDType_IsRejected()
    {
        var path = Write("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        var e = Refused(path, "a");
        Assert.Contains("unknown dtype 'Q4'", e.Message);
    }

    [Fact]
    public void DuplicateTensorName_IsRejected()
    {
        var path = Write("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2);
        Refused(path, "a");
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}")]
    [InlineData("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}")]
    [InlineData("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,0]}}")]
    [InlineData("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}")]
    [InlineData("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,1]}}")]
    public void MalformedEntry_NamesTheTensor(string header)
    {
        Refused(Write(header, 1), "a");
    }

    [Fact]
    public void NonStringMetadata_IsRejected()
    {
        var e = Refused(Write("{\"__metadata__\":{\"format\":1}}", 0), tensor: null);
        Assert.Contains("format", e.Message);
    }

    [Fact]
    public void UnpaddedHeaderAndZeroSizedTensors_AreAccepted()
    {
        // Nothing requires the header to be padded or tensors to be non-empty; only the tiling matters.
        var path = Write("{\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}", 3);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal([0, 3], file.GetTensor("e").ShapeArray());
        Assert.Equal([1f, 2f, 3f], file.GetTensor("a").ToArray());
    }

    private SafeTensorsFormatException Refused(string path, string? tensor)
    {
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Equal(path, e.File);
        Assert.Equal(tensor, e.Tensor);
        Assert.Contains(path, e.Message);
        if (tensor != null) Assert.Contains($"'{tensor}'", e.Message);
        return e;
    }

    /// <summary>A file with the given header text and data bytes 1, 2, 3, ...; the length prefix can lie.</summary>
    private string Write(string header, int dataLength, ulong? headerLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var path = _dir.File($"f{Guid.NewGuid():N}.safetensors");
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes(headerLength ?? (ulong)json.Length));
        stream.Write(json);
        for (var i = 0; i < dataLength; i++) stream.WriteByte((byte)(i + 1));
        return path;
    }
}

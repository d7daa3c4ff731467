using EfficientFT.Models.Hub;

namespace EfficientFT.Models.Tests.Hub;

public sealed class HubSettingsTests
{
    private static HubSettings From(params (string Name, string Value)[] env) =>
        HubSettings.FromEnvironment(name => env.FirstOrDefault(e => e.Name == name).Value);

    [Fact]
    public void CacheDirectory_FollowsHuggingFaceHubPrecedence()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, ".cache", "huggingface", "hub"), From().CacheDirectory);
        Assert.Equal(Path.Combine("/xdg", "huggingface", "hub"), From(("XDG_CACHE_HOME", "/xdg")).CacheDirectory);
        Assert.Equal(Path.Combine("/hf", "hub"), From(("XDG_CACHE_HOME", "/xdg"), ("HF_HOME", "/hf")).CacheDirectory);
        Assert.Equal("/cache", From(("XDG_CACHE_HOME", "/xdg"), ("HF_HOME", "/hf"), ("HF_HUB_CACHE", "/cache")).CacheDirectory);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("0", false)]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    public void Offline_IsReadAsHuggingFaceHubDoes(string? value, bool offline)
    {
        Assert.Equal(offline, (value == null ? From() : From(("HF_HUB_OFFLINE", value))).Offline);
    }

    [Fact]
    public void EndpointAndToken_ComeFromTheEnvironmentOrTheTokenFile()
    {
        Assert.Equal("https://huggingface.co", From().Endpoint);
        Assert.Equal("http://mirror.local", From(("HF_ENDPOINT", "http://mirror.local/")).Endpoint);
        Assert.Equal("abc", From(("HF_TOKEN", "abc")).Token);

        using var home = new TempDirectory();
        File.WriteAllText(home.File("token"), "hf_saved\n");
        Assert.Equal("hf_saved", From(("HF_HOME", home.Path)).Token);
        Assert.Equal("abc", From(("HF_HOME", home.Path), ("HF_TOKEN", "abc")).Token);
    }

    [Theory]
    [InlineData("\"abc\"", "abc")]
    [InlineData("W/\"abc\"", "abc")]
    [InlineData("abc", "abc")]
    [InlineData("\"\"", null)]
    public void Etags_AreNormalized(string header, string? expected)
    {
        Assert.Equal(expected, HubClient.NormalizeEtag(header));
    }
}

namespace EfficientFT.Models.Hub;

/// <summary>A repository at one commit: its commit hash and the paths of its files.</summary>
public sealed record HubRepoInfo(string RepoId, string Sha, IReadOnlyList<string> Files);

namespace EfficientFT.Models.Hub;

/// <summary>What a HEAD on <c>resolve/{revision}/{file}</c> tells: the commit, the blob's etag and size, where to GET it.</summary>
internal sealed record HubFileMetadata(string Commit, string Etag, long? Size, Uri Location);

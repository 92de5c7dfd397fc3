namespace PvIommu.Abi.Tests.CHeader;

/// <summary>The repository checkout the tests run from.</summary>
internal static class RepoRoot
{
    /// <summary>The first folder above the test binaries that holds <c>PvIommu.slnx</c>.</summary>
    public static string Path { get; } = Find();

    /// <summary>The folder the C header lives in.</summary>
    public static string CInclude => System.IO.Path.Combine(Path, "clients", "c", "include");

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "PvIommu.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No PvIommu.slnx above {AppContext.BaseDirectory}.");
    }
}

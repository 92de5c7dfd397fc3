namespace PvIommu.Cli.Tests.Support;

/// <summary>The repository's root, found from the test binary's folder (for <c>examples/</c>).</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PvIommu.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (PvIommu.slnx) is not above the test binaries");
    }
}

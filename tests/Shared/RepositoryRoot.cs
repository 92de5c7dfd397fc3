namespace PvIommu.Tests.Shared;

/// <summary>
/// The checkout's root: the first folder above the test binaries that holds <c>PvIommu.slnx</c>.
/// One file, compiled into every test project that reads the tree (examples, project files).
/// </summary>
internal static class RepositoryRoot
{
    /// <summary>The root folder.</summary>
    public static string Folder { get; } = Find();

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

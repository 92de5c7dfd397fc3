using System.CommandLine;

namespace PvIommu.Cli.Commands;

/// <summary><c>pviommu abi</c>: placeholder until the ABI catalogue lands.</summary>
internal static class AbiCommand
{
    public static Command Create() => new("abi", "Print the PV-IOMMU ABI.");
}

using PvIommu.Abi.Structs;

namespace PvIommu.Abi.Tests.Structs;

/// <summary>Hand-written byte vectors: hex with spaces and '|' between fields.</summary>
internal static class Hex
{
    public static byte[] Bytes(string hex) =>
        Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal).Replace("|", "", StringComparison.Ordinal));

    public static byte[] Encode<T>(T value, int size)
        where T : struct, IAbiStruct<T>
    {
        var bytes = new byte[size];
        value.Write(bytes);
        return bytes;
    }
}

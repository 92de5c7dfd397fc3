namespace PvIommu.Devices;

/// <summary>Index arithmetic of the descriptor and queue rings devices and drivers share.</summary>
internal static class RingIndex
{
    /// <summary>
    /// The slot after <paramref name="slot"/> in a ring of <paramref name="count"/> slots: a
    /// compare, not a division by the ring's size (a receive ring advances two indices per frame).
    /// </summary>
    public static int Next(int slot, int count) => slot + 1 == count ? 0 : slot + 1;
}

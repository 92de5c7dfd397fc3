namespace PvIommu.Server.Wire;

/// <summary>
/// The fixed numbers of the wire protocol (<c>docs/wire-protocol.md</c> in shared/, version 1):
/// the opening magic, header sizes and the frame size limit.
/// </summary>
/// <remarks>
/// <code>
/// opening   client: [magic "PVIOMMU1" (8)][domid u16][flags u16][reserved u32]      16 bytes
///           server: [magic "PVIOMMU1" (8)][status i32][server_caps u32]             16 bytes
/// request   [length u32][seq u32][kind u16][code u16][reserved u32][payload]    length = 12 + payload
/// response  [length u32][seq u32][ret i32][payload]                              length = 8 + payload
/// </code>
/// Every integer is little-endian.
/// </remarks>
public static class WireFormat
{
    /// <summary>Bytes of each side's opening message.</summary>
    public const int HelloSize = 16;

    /// <summary>Bytes of the <c>length</c> field that starts every frame.</summary>
    public const int LengthSize = sizeof(uint);

    /// <summary>Bytes a request's <c>length</c> counts before its payload: seq, kind, code, reserved.</summary>
    public const int RequestFixedLength = 12;

    /// <summary>Bytes of a whole request header, <c>length</c> included.</summary>
    public const int RequestHeaderSize = LengthSize + RequestFixedLength;

    /// <summary>Bytes a response's <c>length</c> counts before its payload: seq, ret.</summary>
    public const int ResponseFixedLength = 8;

    /// <summary>Bytes of a whole response header, <c>length</c> included.</summary>
    public const int ResponseHeaderSize = LengthSize + ResponseFixedLength;

    /// <summary>
    /// The largest <c>length</c> a frame may carry (16 MiB). A request above it is refused with
    /// -EINVAL and the connection closed; no response is ever longer.
    /// </summary>
    public const int MaxFrameLength = 16 * 1024 * 1024;

    /// <summary>The largest request payload: <see cref="MaxFrameLength"/> less the fixed part.</summary>
    public const int MaxRequestPayload = MaxFrameLength - RequestFixedLength;

    /// <summary>The largest response payload (a memory read or a device read returns at most this).</summary>
    public const int MaxResponsePayload = MaxFrameLength - ResponseFixedLength;

    /// <summary>The opening magic, <c>PVIOMMU1</c> in ASCII.</summary>
    public static ReadOnlySpan<byte> Magic => "PVIOMMU1"u8;
}

/// <summary>What a request frame asks for (its <c>kind</c>).</summary>
public enum FrameKind : ushort
{
    /// <summary>1: an <c>iommu_op</c> hypercall; <c>code</c> is the sub-op.</summary>
    Hypercall = 1,

    /// <summary>2: the connection's domain writes its own memory.</summary>
    MemoryWrite = 2,

    /// <summary>3: the connection's domain reads its own memory.</summary>
    MemoryRead = 3,

    /// <summary>4: a PCI device does DMA through the IOMMU.</summary>
    DeviceDma = 4,

    /// <summary>5: the host's description as JSON.</summary>
    HostInfo = 5,

    /// <summary>6: a toolstack command as JSON (hardware domain only).</summary>
    Toolstack = 6,
}

/// <summary>The <c>server_caps</c> bits of the opening reply.</summary>
[Flags]
public enum ServerCaps : uint
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>Bit 0: memory reads and writes (kinds 2 and 3).</summary>
    MemoryOps = 1u << 0,

    /// <summary>Bit 1: device DMA (kind 4).</summary>
    DeviceDma = 1u << 1,

    /// <summary>Bit 2: host info (kind 5).</summary>
    HostInfo = 1u << 2,

    /// <summary>Everything this server offers.</summary>
    All = MemoryOps | DeviceDma | HostInfo,
}

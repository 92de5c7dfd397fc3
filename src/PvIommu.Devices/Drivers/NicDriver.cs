using PvIommu.Devices.Network;

namespace PvIommu.Devices.Drivers;

/// <summary>
/// A NIC driver in the Linux mould, over <see cref="IDriverEnvironment"/>: receive buffers from
/// a <see cref="PagePool"/> (mapped once, recycled), NAPI polling with a budget, and transmit
/// fragments mapped per frame and unmapped on completion. It is the reference user of the
/// <see cref="Nic"/>'s ring protocol.
/// </summary>
/// <remarks>
/// Receive: the ring starts with every slot but one posted (RDT = size − 1). <see cref="Poll"/>
/// reaps descriptors with DD in order, hands each frame to the stack, recycles or releases
/// its page, refills the slots from the pool and writes RDT once. Transmit:
/// <see cref="TryTransmit"/> copies the frame into freshly allocated pages, maps each fragment,
/// posts one descriptor per fragment (RS on all, EOP on the last) and writes TDT;
/// <see cref="ReapTransmit"/> unmaps and frees the fragments whose descriptors show DD.
/// Deterministic: the only randomness is the seeded recycle decision.
/// </remarks>
public sealed partial class NicDriver
{
    private readonly Nic _nic;
    private readonly IDriverEnvironment _environment;
    private readonly DmaRegion _rxRing;
    private readonly DmaRegion _txRing;
    private readonly PoolPage?[] _rxPages;
    private readonly (ulong Page, ulong Iova)?[] _txFragments;
    private SplitMix64 _random;
    private bool _stopped;

    private NicDriver(Nic nic, IDriverEnvironment environment, NicDriverOptions options, DmaRegion rxRing, DmaRegion txRing)
    {
        _nic = nic;
        _environment = environment;
        Options = options;
        _rxRing = rxRing;
        _txRing = txRing;
        _rxPages = new PoolPage?[options.RxRingSize];
        _txFragments = new (ulong, ulong)?[options.TxRingSize];
        _random = new SplitMix64(options.Seed);
        Pool = new PagePool(environment, DmaDirection.FromDevice, options.PoolCacheSize, options.PoolRefill);
    }

    /// <summary>The settings.</summary>
    public NicDriverOptions Options { get; }

    /// <summary>The receive page pool.</summary>
    public PagePool Pool { get; }

    /// <summary>The driver's counters.</summary>
    public NicDriverCounters Stats => new(
        _rxPackets, _rxBytes, _rxErrors, _rxRefillFailures, _txPackets, _txFragmentCount, _txCompletions, _txBusy, _txMapFailures);

    /// <summary>Receive buffers posted to the NIC now.</summary>
    public int RxPosted => _rxPosted;

    /// <summary>Transmit fragments posted and not yet reaped.</summary>
    public int TxInFlight => _txInFlight;

    /// <summary>
    /// Probes the NIC: allocates and maps both rings, programs them, and posts a receive buffer
    /// in every slot but one.
    /// </summary>
    /// <returns>Null when the rings could not be had (nothing is then held). A ring that could
    /// not be filled completely still starts; later polls refill it.</returns>
    /// <exception cref="ArgumentOutOfRangeException">invalid <paramref name="options"/>.</exception>
    public static NicDriver? TryStart(Nic nic, IDriverEnvironment environment, NicDriverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(nic);
        ArgumentNullException.ThrowIfNull(environment);
        options ??= new NicDriverOptions();
        options.Validate();
        var rx = DmaRegion.TryCreate(environment, options.RxRingSize * RxDescriptor.Size, DmaDirection.Bidirectional);
        var tx = rx is null ? null : DmaRegion.TryCreate(environment, options.TxRingSize * TxDescriptor.Size, DmaDirection.Bidirectional);
        if (rx is null || tx is null)
        {
            rx?.Release();
            return null;
        }

        var driver = new NicDriver(nic, environment, options, rx, tx);
        nic.ConfigureRx(rx.Iova, options.RxRingSize, options.RxBufferSize);
        nic.ConfigureTx(tx.Iova, options.TxRingSize);
        driver.Refill();
        return driver;
    }

    /// <summary>
    /// Resets the NIC, then unmaps and frees everything: posted receive pages, the pool's cache,
    /// unreaped transmit fragments and both rings. Later calls do nothing.
    /// </summary>
    public void Stop()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        _nic.Reset();
        for (var i = 0; i < _rxPages.Length; i++)
        {
            if (_rxPages[i] is { } page)
            {
                Pool.Release(page);
                _rxPages[i] = null;
            }
        }

        Pool.Drain();
        for (var i = 0; i < _txFragments.Length; i++)
        {
            if (_txFragments[i] is { } fragment)
            {
                ReleaseFragment(fragment);
                _txFragments[i] = null;
            }
        }

        _rxPosted = 0;
        _txInFlight = 0;
        _rxRing.Release();
        _txRing.Release();
    }
}

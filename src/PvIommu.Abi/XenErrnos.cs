using System.Diagnostics.CodeAnalysis;

namespace PvIommu.Abi;

/// <summary>Conversions between <see cref="XenErrno"/> and hypercall return values.</summary>
public static class XenErrnos
{
    /// <summary>The hypercall return value for <paramref name="errno"/>: <c>-errno</c>.</summary>
    public static int ToReturnValue(this XenErrno errno) => -(int)errno;

    /// <summary>The name as a return value is printed, e.g. <c>"-ENOENT"</c>.</summary>
    public static string ReturnName(this XenErrno errno) => "-" + errno.Name();

    /// <summary>The bare name, e.g. <c>"ENOENT"</c>; the number for a value outside the set.</summary>
    public static string Name(this XenErrno errno) =>
        Enum.IsDefined(errno) ? errno.ToString() : ((int)errno).ToString();

    /// <summary>
    /// Reads a negative return value back as an errno. False for 0, positive values and
    /// negative values outside the closed set.
    /// </summary>
    public static bool TryFromReturnValue(int returnValue, out XenErrno errno)
    {
        errno = (XenErrno)(-(long)returnValue);
        return returnValue < 0 && Enum.IsDefined(errno);
    }

    /// <summary>
    /// Reads a negative return value back as an errno; a value outside the closed set is a bug
    /// of the caller and throws.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not <c>-errno</c> of a known errno.</exception>
    public static XenErrno FromReturnValue(int returnValue)
    {
        if (!TryFromReturnValue(returnValue, out var errno))
        {
            ThrowNotAnErrno(returnValue);
        }

        return errno;
    }

    /// <summary>
    /// Prints a hypercall return value: <c>"0"</c>, <c>"-ENOENT"</c>, or the number itself when
    /// it is neither 0 nor a known errno.
    /// </summary>
    public static string Describe(int returnValue) =>
        TryFromReturnValue(returnValue, out var errno) ? errno.ReturnName() : returnValue.ToString();

    [DoesNotReturn]
    private static void ThrowNotAnErrno(int returnValue) =>
        throw new ArgumentOutOfRangeException(nameof(returnValue), returnValue, "Not the negative of a known Xen errno.");
}

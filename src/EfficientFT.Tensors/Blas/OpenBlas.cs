using System.Runtime.InteropServices;

namespace EfficientFT.Tensors.Blas;

/// <summary>
/// Debian's OpenBLAS (libopenblas0-pthread, LAPACK included), found at run time with <see cref="NativeLibrary"/>.
/// Everything that needs it checks <see cref="IsAvailable"/> and falls back to managed code otherwise.
/// </summary>
/// <remarks>
/// OpenBLAS picks its kernels once, when it is loaded, from OPENBLAS_CORETYPE. These machines export
/// OPENBLAS_CORETYPE=Haswell, which pins AVX2 kernels at about half the AVX-512 speed. Setting the variable from
/// .NET does not reach the C runtime's environment, so <see cref="AutoDetectCoreType"/> calls libc's unsetenv
/// before the library is loaded.
/// </remarks>
public static unsafe class OpenBlas
{
    private static readonly string[] Candidates =
    [
        "libopenblas.so.0",
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "libopenblas.so",
        "libopenblas.dylib",
        "libopenblas.dll",
    ];

    private static readonly Lazy<State> Loaded = new(Load, LazyThreadSafetyMode.ExecutionAndPublication);
    private static bool _autoDetectCoreType = Environment.GetEnvironmentVariable("EFT_OPENBLAS_CORETYPE") == "auto";

    /// <summary>
    /// When true, OPENBLAS_CORETYPE is removed from the process environment before OpenBLAS loads, so it detects the
    /// CPU itself. Must be set before the first use; EFT_OPENBLAS_CORETYPE=auto sets it from the environment.
    /// </summary>
    public static bool AutoDetectCoreType
    {
        get => _autoDetectCoreType;
        set
        {
            if (Loaded.IsValueCreated && value != _autoDetectCoreType)
                throw new InvalidOperationException("OpenBLAS is already loaded; set AutoDetectCoreType before its first use.");
            _autoDetectCoreType = value;
        }
    }

    /// <summary>True when the library and every function we use were found.</summary>
    public static bool IsAvailable => Loaded.Value.Handle != IntPtr.Zero;

    /// <summary>Why the library is not available, or null when it is.</summary>
    public static string? LoadError => Loaded.Value.Error;

    /// <summary>The kernel family OpenBLAS chose (for example "Haswell", "Cooperlake", "Zen").</summary>
    public static string CoreName => IsAvailable && Loaded.Value.GetCoreName != null
        ? Marshal.PtrToStringAnsi((IntPtr)Loaded.Value.GetCoreName()) ?? "unknown"
        : "unavailable";

    /// <summary>The path or name the library was loaded from.</summary>
    public static string? LibraryPath => Loaded.Value.Path;

    internal static State Functions
    {
        get
        {
            var s = Loaded.Value;
            if (s.Handle == IntPtr.Zero)
                throw new DllNotFoundException($"OpenBLAS is not available ({s.Error}). Install it with `apt-get install libopenblas0-pthread`, or use the managed path.");
            return s;
        }
    }

    internal sealed class State
    {
        public IntPtr Handle;
        public string? Path;
        public string? Error;
        public delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm;
        public delegate* unmanaged<int, void> SetNumThreads;
        public delegate* unmanaged<byte*> GetCoreName;
        public IntPtr Sgesdd;
        public IntPtr Sgeqrf;
        public IntPtr Sorgqr;
        public IntPtr Ssyevd;
    }

    [DllImport("libc", EntryPoint = "unsetenv")]
    private static extern int UnsetEnv([MarshalAs(UnmanagedType.LPStr)] string name);

    private static State Load()
    {
        var state = new State();
        if (Environment.GetEnvironmentVariable("EFT_NO_OPENBLAS") == "1")
        {
            state.Error = "disabled by EFT_NO_OPENBLAS=1";
            return state;
        }

        if (_autoDetectCoreType && OperatingSystem.IsLinux())
        {
            UnsetEnv("OPENBLAS_CORETYPE");
            Environment.SetEnvironmentVariable("OPENBLAS_CORETYPE", null);
        }

        foreach (var name in Candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var sgemm)
                || !NativeLibrary.TryGetExport(handle, "sgesdd_", out var sgesdd)
                || !NativeLibrary.TryGetExport(handle, "sgeqrf_", out var sgeqrf)
                || !NativeLibrary.TryGetExport(handle, "sorgqr_", out var sorgqr)
                || !NativeLibrary.TryGetExport(handle, "ssyevd_", out var ssyevd))
            {
                state.Error = $"{name} lacks cblas_sgemm or the LAPACK routines (sgesdd_, sgeqrf_, sorgqr_, ssyevd_)";
                NativeLibrary.Free(handle);
                continue;
            }

            state.Handle = handle;
            state.Path = name;
            state.Error = null;
            state.Sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
            state.Sgesdd = sgesdd;
            state.Sgeqrf = sgeqrf;
            state.Sorgqr = sorgqr;
            state.Ssyevd = ssyevd;
            if (NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var setThreads))
            {
                state.SetNumThreads = (delegate* unmanaged<int, void>)setThreads;
                state.SetNumThreads(Threading.Count);
                Threading.ThreadCountChanged += n => state.SetNumThreads(n);
            }
            if (NativeLibrary.TryGetExport(handle, "openblas_get_corename", out var coreName))
                state.GetCoreName = (delegate* unmanaged<byte*>)coreName;
            return state;
        }

        state.Error ??= "libopenblas.so.0 was not found (apt-get install libopenblas0-pthread)";
        return state;
    }
}

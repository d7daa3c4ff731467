using System.Runtime.CompilerServices;

namespace EfficientFT.Tensors.Blas;

/// <summary>
/// B's storage: float32, bfloat16 bits widened as they are packed, or all of op(B) already packed by
/// <see cref="GemmDriver{TKernel}.PackWhole"/> for this kernel; exactly one is set.
/// </summary>
internal readonly unsafe struct GemmB(float* single, ushort* bfloat16, float* packed = null)
{
    public readonly float* Single = single;
    public readonly ushort* BFloat16 = bfloat16;
    public readonly float* Packed = packed;
}

/// <summary>
/// Goto/BLIS blocking around a micro-kernel. For each Nc-wide column block, a group of Kc-deep slices of B (up to
/// 9 MB, resident in L3) is packed once into Nr-wide panels shared by all threads; then the threads claim items (row
/// chunks of at most Mc rows, times column chunks when rows run short) and, slice by slice, pack the item's rows of
/// A into Mr-tall panels (at most 144 KB, resident in L2) and sweep that slice's B panels (16–32 KB, resident in L1)
/// with the micro-kernel. Packing absorbs both transposes and pads the last panels with zeros, so the kernel never
/// branches on shape. When A has few rows and B is the larger operand, the roles of the two packs swap (see
/// <see cref="SharesA"/>).
/// </summary>
/// <remarks>
/// Every element of C gets the same arithmetic whatever the thread count, split or kernel width: within a Kc slice
/// a sequential chain of fused multiply-adds over p, then C = fma(alpha, sum, beta·C) with beta replaced by 1 after
/// the first slice. Kc is the same for both kernels, so results are bitwise identical across thread counts and
/// between the Vector256 and Vector512 kernels, not merely repeatable for one configuration. That is also what lets
/// threads claim items dynamically without giving up the determinism contract.
/// </remarks>
internal sealed unsafe class GemmDriver<TKernel> where TKernel : struct, IMicroKernel
{
    /// <summary>
    /// Depth of a slice. The 6×16 kernel's Kc×Nr B panel (16 KB) stays in a 32 KB L1 beside the A stream; the 8×32
    /// kernel's (32 KB) fits the 48 KB L1 of Ice Lake and later and is fed from L2 on older parts. One Kc for both
    /// keeps their results bitwise identical.
    /// </summary>
    internal const int Kc = 256;

    /// <summary>Rows per packed A block: Mc×Kc floats (144 KB) fits the 512 KB L2 with room for C; 144 = 24·6 = 18·8.</summary>
    internal const int Mc = 144;

    /// <summary>Columns per packed B block: a 3072-wide layer in one go, 3 MB per Kc slice (grouped, see PackedBFloats).</summary>
    internal const int Nc = 3072;

    /// <summary>
    /// Below this many flops (a 64³ product) a second thread does not pay for the hand-off and the split packing;
    /// measured with <see cref="GemmWorkers"/>, which hand off in about a microsecond while they are spinning.
    /// </summary>
    private const long ParallelFlops = 1L << 19;

    /// <summary>
    /// Work items per thread and slice. Threads claim items as they go, so one that is descheduled or slow (another
    /// process on the core, a busier sibling) hands its remaining share to the others instead of holding up the
    /// slice; a few items per thread keep that granularity fine without shrinking the A blocks much.
    /// </summary>
    private const int ItemsPerThread = 2;

    /// <summary>Smallest row chunk: below it an item re-reads the whole B block for too little arithmetic.</summary>
    internal const int MinChunkRows = 24;

    /// <summary>Room past an A panel or block for the spill of the 6-row transpose in <see cref="PackARows"/>.</summary>
    private const int APackSlack = 8;

    /// <summary>
    /// Rows per block when A is shared: one Kc slice of the block, at most 288 KB, stays in a 512 KB L2 while an
    /// item sweeps its B panels.
    /// </summary>
    private const int MaxSharedARows = 288;

    /// <summary>Most rows for which A is shared. Beyond two row blocks B is streamed too often to gain.</summary>
    internal const int SharedARowLimit = 512;

    /// <summary>B panels per work item when A is shared: 128 or 256 columns.</summary>
    private const int SharedAItemPanels = 8;

    [ThreadStatic] private static PackBuffer? t_aPack;
    [ThreadStatic] private static PackBuffer? t_bPack;
    [ThreadStatic] private static PackBuffer? t_bWidened;
    [ThreadStatic] private static PackBuffer? t_mirror;

    private static int MR => TKernel.Mr;
    private static int NR => TKernel.Nr;

    private readonly bool _transposeA, _transposeB;
    private readonly int _m, _n, _k;
    private readonly float _alpha, _beta;
    private readonly float* _a, _c, _bias;
    private readonly GemmB _b;
    private readonly nint _lda, _ldb, _ldc;
    private readonly int _threads, _rowChunks, _colChunks, _items;
    /// <summary>The first row of each row chunk, then m.</summary>
    private readonly int[] _rowStarts;
    private readonly bool _sharesA;
    /// <summary>B is row-major float32, so a slice of several panels is packed from whole row runs.</summary>
    private readonly bool _bRowRuns;
    /// <summary>The phase that packs the shared operand (B, or A when <see cref="_sharesA"/>), and the items' phase.</summary>
    private readonly Action<int> _pack, _compute;
    private float* _bPack, _aShared;
    private int _jc, _nc, _ncPadded, _kb, _kbEnd, _ic, _mc;
    private int _nextItem;

    private GemmDriver(bool transposeA, bool transposeB, int m, int n, int k, float alpha, float* a, nint lda,
        GemmB b, nint ldb, float beta, float* c, nint ldc, float* bias, int threads)
    {
        (_transposeA, _transposeB, _m, _n, _k, _alpha, _beta) = (transposeA, transposeB, m, n, k, alpha, beta);
        _a = a;
        _b = b;
        _c = c;
        _bias = bias;
        (_lda, _ldb, _ldc) = (lda, ldb, ldc);
        // More threads than cores cannot speed up an FMA-bound kernel, and idle spinning workers would then steal
        // time from busy ones; the result does not depend on the count, so capping it is free.
        _threads = 2L * m * n * k < ParallelFlops ? 1 : Math.Min(threads, Environment.ProcessorCount);
        _sharesA = SharesA(m, n);
        _bRowRuns = b.Single != null && !transposeB;
        (_rowChunks, _colChunks) = _sharesA ? (1, ((n + NR - 1) / NR + SharedAItemPanels - 1) / SharedAItemPanels)
            : Chunks(_threads, m, Math.Min(n, Nc));
        _rowStarts = RowStarts(_threads, m, _rowChunks, _colChunks);
        _rowChunks = _rowStarts.Length - 1;
        _items = _rowChunks * _colChunks;
        _threads = Math.Min(_threads, _items);
        _pack = _sharesA ? PackSharedA : PackB;
        _compute = _sharesA ? ComputeWithSharedA : Compute;
    }

    /// <summary>
    /// Whether to pack A once for all threads and B piece by piece inside each item, the mirror of the usual
    /// schedule. With few rows, B (a weight read from memory) is the larger operand and each of its elements serves
    /// only m rows, so packing it in a phase of its own between two barriers left the FMA units idle while the weight
    /// streamed in; packed inside the items, one thread's reads overlap the other's arithmetic. Measured on the 2-core
    /// Zen 3 VM at two threads, median GFLOP/s of X·Wᵀ with the usual schedule against this one, alternating:
    /// 256×2048→8192 117 against 146; 384×768→3072 129 against 149; 512×768→3072 136 against 144; 512×2048→8192
    /// 147 against 151; from 576 rows on the two were within noise, and at 1,024 rows the usual one was ahead.
    /// </summary>
    internal static bool SharesA(int m, int n) => m <= SharedARowLimit && m < n;

    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C on raw storage, or with a bias row (n floats; beta must be 0) C = alpha·op(A)·op(B)
    /// + bias, the bias added as the first Kc slice is written; arguments already checked, m and n positive.
    /// </summary>
    public static void Multiply(bool transposeA, bool transposeB, int m, int n, int k, float alpha, float* a, nint lda,
        GemmB b, nint ldb, float beta, float* c, nint ldc, float* bias, int threads)
    {
        if (k == 0 || alpha == 0)
        {
            ScaleC(m, n, beta, c, ldc, bias);
            return;
        }
        if (bias == null && b.Single != null && MirrorPays(m, n))
        {
            MultiplyMirrored(transposeA, transposeB, m, n, k, alpha, a, lda, b.Single, ldb, beta, c, ldc, threads);
            return;
        }
        new GemmDriver<TKernel>(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, bias, threads).Run();
    }

    /// <summary>
    /// Whether a narrow C (fewer columns than a B panel is wide) wastes less of the kernel as its mirror, Cᵀ = Bᵀ·Aᵀ:
    /// the kernel pads columns to Nr and rows only to Mr. LoRA's rank-8 products are the case: x·Aᵀ, dY·B and dYᵀ·code
    /// have 8 columns, so the 8×32 kernel computed four times the product's FLOPs, zeros included. On the 2-core Zen 5
    /// VM, median µs direct against mirrored, two threads: x·Aᵀ (1024×768→8) 198–235 against 102–145, dY·B 191–194
    /// against 101–112, dYᵀ·code (768×1024→8) 228–237 against 103–163; one thread: 318, 318, 413 against 143, 143, 139.
    /// </summary>
    internal static bool MirrorPays(int m, int n) =>
        n < NR && (long)RoundUp(n, MR) * RoundUp(m, NR) < (long)RoundUp(m, MR) * RoundUp(n, NR);

    private static int RoundUp(int x, int unit) => (x + unit - 1) / unit * unit;

    /// <summary>Rows of C per mirrored block, so the scratch holds at most this many times Nr floats however tall C is.</summary>
    internal const int MirrorRows = 4096;

    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C as its mirror, Cᵀ = alpha·op(B)ᵀ·op(A)ᵀ + beta·Cᵀ, block of rows by block of rows,
    /// in a scratch that holds the block's Cᵀ (C is copied in first unless beta is 0) and is copied back. Each element
    /// gets the same arithmetic as in the direct product, since a fused multiply-add rounds a·b and b·a alike, so
    /// results stay bitwise the same.
    /// </summary>
    private static void MultiplyMirrored(bool transposeA, bool transposeB, int m, int n, int k, float alpha, float* a, nint lda,
        float* b, nint ldb, float beta, float* c, nint ldc, int threads)
    {
        t_mirror ??= new PackBuffer();
        var ct = t_mirror.Get(Math.Min(m, MirrorRows) * n);
        for (var i0 = 0; i0 < m; i0 += MirrorRows)
        {
            var rows = Math.Min(MirrorRows, m - i0);
            var block = c + i0 * ldc;
            if (beta != 0)
                for (var i = 0; i < rows; i++)
                    for (var j = 0; j < n; j++) ct[j * rows + i] = block[i * ldc + j];
            new GemmDriver<TKernel>(!transposeB, !transposeA, n, rows, k, alpha, b, ldb,
                new GemmB(transposeA ? a + i0 : a + i0 * lda, null), lda, beta, ct, rows, null, threads).Run();
            for (var i = 0; i < rows; i++)
                for (var j = 0; j < n; j++) block[i * ldc + j] = ct[j * rows + i];
        }
    }

    /// <summary>
    /// Splits C's rows into chunks of whole Mr-row panels that differ by at most one panel, at most Mc rows each so
    /// one A block serves an item. One thread takes the fewest chunks that fit, in order, the classic loop. Several
    /// threads take a multiple of the thread count, at least <see cref="ItemsPerThread"/> each, while the chunks stay
    /// above <see cref="MinChunkRows"/>; when rows run short, column chunks of the B block make up the rest. Equal
    /// chunks matter at two threads: 1,024 rows in 144-row chunks were 7 full ones and a 16-row one, so each Kc slice
    /// waited for the thread with four full chunks while the other had done 3⅛.
    /// </summary>
    internal static (int RowChunks, int ColChunks) Chunks(int threads, int m, int nc)
    {
        var panels = (m + MR - 1) / MR;
        var fewest = (panels + Mc / MR - 1) / (Mc / MR);
        if (threads == 1) return (fewest, 1);
        var target = threads * ItemsPerThread;
        var rowChunks = Math.Max(target, (fewest + threads - 1) / threads * threads);
        rowChunks = Math.Clamp(panels / ((MinChunkRows + MR - 1) / MR), 1, rowChunks);
        var colPanels = (nc + NR - 1) / NR;
        return (rowChunks, Math.Clamp((target + rowChunks - 1) / rowChunks, 1, colPanels));
    }

    /// <summary>
    /// The first row of each row chunk, then m: <paramref name="rowChunks"/> equal chunks, except that on several
    /// threads the last <paramref name="threads"/> chunks' rows are cut into chunks of about
    /// <see cref="MinChunkRows"/> rows. Threads claim chunks as they go, so a product ends when the slower thread
    /// finishes its last chunk; with 1,024 rows in eight 128-row chunks the other core sat idle for up to a whole
    /// chunk. Counted inside a RoBERTa-base LoRA step at two threads, the time one core waited at the end of a
    /// product's item phase came to 12–13 ms per step for the 22 products 1024×3072×768 and 12 ms for the 22
    /// 1024×768×3072 ones, against 3–6 ms and 4–7 ms with the small last chunks. Where a chunk's rows start does not
    /// change any element's arithmetic, so results stay bitwise the same.
    /// </summary>
    internal static int[] RowStarts(int threads, int m, int rowChunks, int colChunks)
    {
        var panels = (m + MR - 1) / MR;
        var tailPanels = threads > 1 && colChunks == 1 && rowChunks >= 2 * threads ? (int)((long)panels * threads / rowChunks) : 0;
        var tailChunks = tailPanels / ((MinChunkRows + MR - 1) / MR);
        if (tailChunks <= threads) (tailPanels, tailChunks) = (0, 0);
        var (bodyPanels, bodyChunks) = (panels - tailPanels, tailChunks == 0 ? rowChunks : rowChunks - threads);
        var starts = new int[bodyChunks + tailChunks + 1];
        for (var c = 0; c < bodyChunks; c++) starts[c] = (int)((long)bodyPanels * c / bodyChunks * MR);
        for (var c = 0; c < tailChunks; c++) starts[bodyChunks + c] = (int)((bodyPanels + (long)tailPanels * c / tailChunks) * MR);
        starts[^1] = m;
        return starts;
    }

    /// <summary>
    /// Slices of one column block are packed together, up to this many floats of B (9 MB, within L3): a two-thread
    /// product then meets two barriers per group of slices instead of two per slice (RoBERTa-base's products: one
    /// group instead of 3 or 12 slices). Each hand-off risks finding the other thread off its core. On the 2-core
    /// VM, LoRA's 1024×8×768 down-projection alternated between 0.3 ms and 1.9 ms runs at two threads; with one group
    /// its slow runs take 0.95 ms. A whole training step did not change measurably (2,719 against 2,749 ms, six
    /// alternating runs each).
    /// </summary>
    private const int PackedBFloats = 9 << 18;

    /// <summary>Where slice <paramref name="pc"/>'s panels start in the packed group, all earlier slices being Kc deep.</summary>
    private float* SlicePanels(int pc) => _bPack + (nint)(pc - _kb) * _ncPadded;

    /// <summary>Where slice <paramref name="pc"/> of column block <paramref name="jc"/> starts in an op(B) packed whole.</summary>
    private float* PackedSlice(int jc, int pc) => _b.Packed + PackedOffset(_n, _k, jc, pc);

    /// <summary>
    /// The layout of op(B) [k×n] packed whole: column block after column block, each its slices one after another as
    /// the usual schedule packs a group (<see cref="SlicePanels"/>), so the items read it exactly as they read a group
    /// packed for them. Earlier blocks are Nc wide, a multiple of Nr, so the whole takes k · n rounded up to Nr floats.
    /// </summary>
    private static nint PackedOffset(int n, int k, int jc, int pc) => (nint)jc * k + (nint)pc * RoundUp(Math.Min(Nc, n - jc), NR);

    /// <summary>Floats that op(B) [k×n] takes packed whole for this kernel.</summary>
    internal static long PackedFloats(int n, int k) => (long)k * RoundUp(n, NR);

    /// <summary>
    /// Packs all of op(B) [k×n] (B n×k when <paramref name="transposeB"/>, else k×n; row stride ldb) into
    /// <paramref name="dst"/> (<see cref="PackedFloats"/> floats) with the same packing routines as a product, so a
    /// product given it (<see cref="GemmB.Packed"/>) reads bitwise the panels it would have packed itself.
    /// </summary>
    internal static void PackWhole(bool transposeB, int n, int k, float* b, nint ldb, float* dst)
    {
        for (var jc = 0; jc < n; jc += Nc)
        {
            var nc = Math.Min(Nc, n - jc);
            for (var pc = 0; pc < k; pc += Kc)
            {
                var kc = Math.Min(Kc, k - pc);
                var slice = dst + PackedOffset(n, k, jc, pc);
                if (!transposeB)
                {
                    PackBRows(b + pc * ldb + jc, ldb, slice, kc, nc);
                    continue;
                }
                for (var j = 0; j < nc; j += NR, slice += (nint)NR * kc)
                    PackBTransposed(b + (jc + j) * ldb + pc, ldb, slice, kc, Math.Min(NR, nc - j));
            }
        }
    }

    /// <summary>The inverse of <see cref="PackWhole"/> for an untransposed B [k×n]: writes B row-major into <paramref name="dst"/>.</summary>
    internal static void UnpackWhole(int n, int k, float* packed, float* dst)
    {
        for (var jc = 0; jc < n; jc += Nc)
        {
            var nc = Math.Min(Nc, n - jc);
            for (var pc = 0; pc < k; pc += Kc)
            {
                var kc = Math.Min(Kc, k - pc);
                var panel = packed + PackedOffset(n, k, jc, pc);
                for (var j = 0; j < nc; j += NR, panel += (nint)NR * kc)
                {
                    var width = (uint)(Math.Min(NR, nc - j) * sizeof(float));
                    for (var p = 0; p < kc; p++)
                        Unsafe.CopyBlockUnaligned(dst + (nint)(pc + p) * n + jc + j, panel + p * NR, width);
                }
            }
        }
    }

    private void Run()
    {
        t_bPack ??= new PackBuffer();
        if (_sharesA)
        {
            RunWithSharedA();
            return;
        }
        _ncPadded = RoundUp(Math.Min(_n, Nc), NR);
        var group = Math.Max(1, PackedBFloats / (_ncPadded * Kc)) * Kc;
        if (_b.Packed == null) _bPack = t_bPack.Get(Math.Min(group, (_k + Kc - 1) / Kc * Kc) * _ncPadded);
        for (_jc = 0; _jc < _n; _jc += Nc)
        {
            _nc = Math.Min(Nc, _n - _jc);
            _ncPadded = RoundUp(_nc, NR);
            RunGroups(group);
        }
    }

    /// <summary>For each group of Kc slices, the shared pack on every thread, then the items on every thread.</summary>
    private void RunGroups(int group)
    {
        for (_kb = 0; _kb < _k; _kb += group)
        {
            _kbEnd = Math.Min(_k, _kb + group);
            if (_b.Packed != null && !_sharesA) _bPack = PackedSlice(_jc, _kb);
            else GemmWorkers.Run(_threads, _pack);
            _nextItem = 0;
            GemmWorkers.Run(_threads, _compute);
        }
    }

    private void PackB(int t)
    {
        var panels = (_nc + NR - 1) / NR;
        var (begin, end) = ((int)((long)panels * t / _threads), (int)((long)panels * (t + 1) / _threads));
        for (var pc = _kb; pc < _kbEnd; pc += Kc)
        {
            var kc = Math.Min(Kc, _k - pc);
            PackBPanels(pc, kc, _jc + begin * NR, Math.Min(_n, _jc + end * NR), SlicePanels(pc) + (nint)begin * NR * kc);
        }
    }

    /// <summary>
    /// Packs the Kc-deep slice at <paramref name="pc"/> of B's columns j0 … jEnd − 1 into consecutive Nr-wide panels,
    /// <c>Nr·kc</c> floats apart. When B is k×n in float32 the panels are filled a step at a time across all of them,
    /// so each row of B is read as one run as wide as the columns, not one 64-byte piece per panel from rows kilobytes
    /// apart. Interleaved in one process on the 2-core Zen 3 VM at two threads, median GFLOP/s of dY·W per panel
    /// against across panels: 256×8192→2048 117–120 against 123–126; 256×2048→2048 114–122 against 122–128;
    /// 1,024-row products (whose B is packed in a phase of its own) within 1% either way.
    /// </summary>
    private void PackBPanels(int pc, int kc, int j0, int jEnd, float* dst)
    {
        if (_bRowRuns)
        {
            PackBRows(_b.Single + pc * _ldb + j0, _ldb, dst, kc, jEnd - j0);
            return;
        }
        for (; j0 < jEnd; j0 += NR, dst += (nint)NR * kc) PackBPanel(pc, kc, j0, Math.Min(NR, jEnd - j0), dst);
    }

    /// <summary>
    /// Packs the Kc-deep slice at <paramref name="pc"/> of B's columns j0 … j0 + nr − 1 into one Nr-wide panel, for B
    /// in bfloat16 or transposed (row-major float32 B goes through <see cref="PackBRows(float*, nint, float*, int, int)"/>).
    /// </summary>
    private void PackBPanel(int pc, int kc, int j0, int nr, float* dst)
    {
        if (_b.BFloat16 != null)
        {
            if (_transposeB) PackBTransposed(_b.BFloat16 + j0 * _ldb + pc, _ldb, dst, kc, nr);
            else PackBRows(_b.BFloat16 + pc * _ldb + j0, _ldb, dst, kc, nr);
        }
        else PackBTransposed(_b.Single + j0 * _ldb + pc, _ldb, dst, kc, nr);
    }

    /// <summary>B is k×n in bfloat16: each step p of the panel is a row run widened in place.</summary>
    private static void PackBRows(ushort* src, nint ldb, float* dst, int kc, int nr)
    {
        for (var p = 0; p < kc; p++, src += ldb, dst += NR)
        {
            BFloat16.Widen(src, dst, nr);
            for (var j = nr; j < NR; j++) dst[j] = 0;
        }
    }

    /// <summary>B is n×k in bfloat16: the panel's rows of storage are widened into an L1-sized scratch, then packed.</summary>
    private static void PackBTransposed(ushort* src, nint ldb, float* dst, int kc, int nr)
    {
        t_bWidened ??= new PackBuffer();
        var widened = t_bWidened.Get(NR * Kc);
        for (var j = 0; j < nr; j++) BFloat16.Widen(src + j * ldb, widened + j * kc, kc);
        PackBTransposed(widened, kc, dst, kc, nr);
    }

    /// <summary>
    /// B is k×n: step p of each panel is a contiguous run of row p of B; the <paramref name="width"/> columns fill
    /// consecutive panels, the last one padded with zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBRows(float* src, nint ldb, float* dst, int kc, int width)
    {
        var full = width / NR;
        var rest = width - full * NR;
        var panelStride = (nint)NR * kc;
        for (var p = 0; p < kc; p++, src += ldb, dst += NR)
        {
            for (var q = 0; q < full; q++)
                Unsafe.CopyBlockUnaligned(dst + q * panelStride, src + q * NR, (uint)(NR * sizeof(float)));
            if (rest == 0) continue;
            var from = src + full * NR;
            var to = dst + full * panelStride;
            var j = 0;
            for (; j < rest; j++) to[j] = from[j];
            for (; j < NR; j++) to[j] = 0;
        }
    }

    /// <summary>B is n×k (a weight matrix used as Wᵀ): column j of the panel is a contiguous row of storage.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBTransposed(float* src, nint ldb, float* dst, int kc, int nr)
    {
        var p = 0;
        if (nr == NR && NR % 8 == 0 && PackTranspose.IsSupported)
        {
            for (; p + 8 <= kc; p += 8)
                for (var j = 0; j < NR; j += 8)
                    PackTranspose.Transpose8(src + j * ldb + p, ldb, dst + p * NR + j, NR);
        }
        for (var j = 0; j < nr; j++)
        {
            var row = src + j * ldb;
            for (var q = p; q < kc; q++) dst[q * NR + j] = row[q];
        }
        for (var j = nr; j < NR; j++)
            for (var q = p; q < kc; q++) dst[q * NR + j] = 0;
    }

    private void Compute(int replica)
    {
        t_aPack ??= new PackBuffer();
        var aPack = t_aPack.Get(Mc * Kc + APackSlack);
        var edge = stackalloc float[MR * NR];
        var colPanels = (_nc + NR - 1) / NR;
        int item;
        while ((item = Interlocked.Increment(ref _nextItem) - 1) < _items)
        {
            var (rowChunk, colChunk) = Math.DivRem(item, _colChunks);
            var ic = _rowStarts[rowChunk];
            var mc = _rowStarts[rowChunk + 1] - ic;
            var panelEnd = (int)((long)colPanels * (colChunk + 1) / _colChunks);
            // The slices in order, each accumulating onto what the one before wrote, exactly as one slice at a time.
            for (var pc = _kb; pc < _kbEnd; pc += Kc)
            {
                var kc = Math.Min(Kc, _k - pc);
                PackA(ic, mc, pc, kc, aPack);
                for (var jp = (int)((long)colPanels * colChunk / _colChunks); jp < panelEnd; jp++)
                {
                    var j0 = _jc + jp * NR;
                    Sweep(aPack, (nint)MR * kc, ic, mc, SlicePanels(pc) + (nint)(jp * NR) * kc, j0, Math.Min(NR, _n - j0), pc, kc, edge);
                }
            }
        }
    }

    /// <summary>
    /// Runs one B panel (columns j0 … j0 + nr − 1, slice pc) against rows ic … ic + mc − 1 of A, whose packed panels
    /// start at <paramref name="aPanels"/>, <paramref name="aPanelStride"/> floats apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Sweep(float* aPanels, nint aPanelStride, int ic, int mc, float* bPanel, int j0, int nr, int pc, int kc, float* edge)
    {
        var sliceBeta = pc == 0 ? _beta : 1f;
        var bias = _bias == null || pc != 0 ? null : _bias + j0;
        for (var ir = 0; ir < mc; ir += MR, aPanels += aPanelStride)
        {
            var mr = Math.Min(MR, mc - ir);
            var cTile = _c + (ic + ir) * _ldc + j0;
            if (mr == MR && nr == NR)
            {
                TKernel.Run(kc, aPanels, bPanel, cTile, _ldc, _alpha, sliceBeta, bias);
                continue;
            }
            TKernel.Run(kc, aPanels, bPanel, edge, NR, 1f, 0f, null);
            MergeEdge(edge, mr, nr, cTile, bias, sliceBeta);
        }
    }

    /// <summary>
    /// The schedule for few rows of A (<see cref="SharesA"/>): for each block of at most <see cref="MaxSharedARows"/>
    /// rows and each group of Kc slices, the threads pack the block's rows of A together, then claim items of
    /// <see cref="SharedAItemPanels"/> B panels over all of n; for each slice, an item packs its panels into a private
    /// buffer and runs each against every row of the block. The arithmetic per element is the usual schedule's, so
    /// results are bitwise the same.
    /// </summary>
    private void RunWithSharedA()
    {
        // Row blocks of at most MaxSharedARows, as equal as whole panels allow; each streams B once more.
        var panels = (_m + MR - 1) / MR;
        var blocks = (_m + MaxSharedARows - 1) / MaxSharedARows;
        var blockRows = (panels + blocks - 1) / blocks * MR;
        _mc = Math.Min(_m, blockRows);
        var sliceFloats = (int)SharedASliceStride(Kc);
        var group = Math.Max(1, PackedBFloats / sliceFloats) * Kc;
        _aShared = t_bPack!.Get(Math.Min(group, (_k + Kc - 1) / Kc * Kc) / Kc * sliceFloats);
        for (_ic = 0; _ic < _m; _ic += blockRows)
        {
            _mc = Math.Min(blockRows, _m - _ic);
            RunGroups(group);
        }
    }

    /// <summary>Floats from one shared A panel to the next: the transpose's spill must not reach a panel another thread packed.</summary>
    private static nint SharedAPanelStride(int kc) => (nint)MR * kc + APackSlack;

    /// <summary>Floats per packed slice of the row block; every slice but the last is Kc deep.</summary>
    private nint SharedASliceStride(int kc) => SharedAPanelStride(kc) * ((_mc + MR - 1) / MR);

    private float* SharedAPanels(int pc) => _aShared + (pc - _kb) / Kc * SharedASliceStride(Kc);

    private void PackSharedA(int t)
    {
        var panels = (_mc + MR - 1) / MR;
        var (begin, end) = ((int)((long)panels * t / _threads), (int)((long)panels * (t + 1) / _threads));
        for (var pc = _kb; pc < _kbEnd; pc += Kc)
        {
            var kc = Math.Min(Kc, _k - pc);
            var dst = SharedAPanels(pc);
            for (var ip = begin; ip < end; ip++)
            {
                var i0 = _ic + ip * MR;
                var mr = Math.Min(MR, _ic + _mc - i0);
                var panel = dst + ip * SharedAPanelStride(kc);
                if (_transposeA) PackAColumns(_a + pc * _lda + i0, _lda, panel, kc, mr);
                else PackARows(_a + i0 * _lda + pc, _lda, panel, kc, mr);
            }
        }
    }

    private void ComputeWithSharedA(int replica)
    {
        t_aPack ??= new PackBuffer();
        // Row-major float32 B is packed for all of an item's panels at once, each row read as one run (see
        // PackBPanels); otherwise a panel at a time, just before it is used, while it is still in L1. Interleaved in
        // one process, packing X·Wᵀ's panels all at once measured 0.7% slower on average at 256 rows.
        var chunk = (_bRowRuns ? SharedAItemPanels : 1) * NR;
        var bPanels = t_aPack.Get(chunk * Kc);
        var edge = stackalloc float[MR * NR];
        int item;
        while ((item = Interlocked.Increment(ref _nextItem) - 1) < _items)
        {
            var (j0, jEnd) = (item * SharedAItemPanels * NR, Math.Min(_n, (item + 1) * SharedAItemPanels * NR));
            for (var pc = _kb; pc < _kbEnd; pc += Kc)
            {
                var kc = Math.Min(Kc, _k - pc);
                for (var c0 = j0; c0 < jEnd; c0 += chunk)
                {
                    var cEnd = Math.Min(jEnd, c0 + chunk);
                    var bPanel = bPanels;
                    // An item's columns never cross a column block: Nc is a multiple of its width.
                    if (_b.Packed != null) bPanel = PackedSlice(c0 / Nc * Nc, pc) + (nint)(c0 % Nc) * kc;
                    else PackBPanels(pc, kc, c0, cEnd, bPanels);
                    for (var j = c0; j < cEnd; j += NR, bPanel += (nint)NR * kc)
                        Sweep(SharedAPanels(pc), SharedAPanelStride(kc), _ic, _mc, bPanel, j, Math.Min(NR, _n - j), pc, kc, edge);
                }
            }
        }
    }

    /// <summary>Writes the valid part of a padded tile with the kernel's own rounding: fma(alpha, sum, beta·c or bias).</summary>
    private void MergeEdge(float* tile, int mr, int nr, float* c, float* bias, float sliceBeta)
    {
        for (var i = 0; i < mr; i++, tile += NR, c += _ldc)
        {
            if (bias != null)
                for (var j = 0; j < nr; j++) c[j] = MathF.FusedMultiplyAdd(tile[j], _alpha, bias[j]);
            else if (sliceBeta == 0)
                for (var j = 0; j < nr; j++) c[j] = tile[j] * _alpha;
            else
                for (var j = 0; j < nr; j++) c[j] = MathF.FusedMultiplyAdd(tile[j], _alpha, c[j] * sliceBeta);
        }
    }

    private void PackA(int ic, int mc, int pc, int kc, float* dst)
    {
        for (var ir = 0; ir < mc; ir += MR, dst += (nint)MR * kc)
        {
            var mr = Math.Min(MR, mc - ir);
            var i0 = ic + ir;
            if (_transposeA) PackAColumns(_a + pc * _lda + i0, _lda, dst, kc, mr);
            else PackARows(_a + i0 * _lda + pc, _lda, dst, kc, mr);
        }
    }

    /// <summary>
    /// A is m×k: row i of the panel is a contiguous row of storage, spread across the panel's steps. The 6-row
    /// transpose writes two floats past each group of steps; they land on the next group, the next panel (packed
    /// later) or <see cref="APackSlack"/>, and are overwritten or never read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackARows(float* src, nint lda, float* dst, int kc, int mr)
    {
        var p = 0;
        if (mr == MR && (MR == 8 || MR == 6) && PackTranspose.IsSupported)
        {
            for (; p + 8 <= kc; p += 8)
            {
                if (MR == 8) PackTranspose.Transpose8(src + p, lda, dst + p * MR, MR);
                else PackTranspose.Transpose6(src + p, lda, dst + p * MR);
            }
        }
        for (var i = 0; i < mr; i++)
        {
            var row = src + i * lda;
            for (var q = p; q < kc; q++) dst[q * MR + i] = row[q];
        }
        for (var i = mr; i < MR; i++)
            for (var q = p; q < kc; q++) dst[q * MR + i] = 0;
    }

    /// <summary>A is k×m (used transposed): each step of the panel is a contiguous run of a row of storage.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackAColumns(float* src, nint lda, float* dst, int kc, int mr)
    {
        if (mr == MR)
        {
            for (var p = 0; p < kc; p++, src += lda, dst += MR)
                Unsafe.CopyBlockUnaligned(dst, src, (uint)(MR * sizeof(float)));
            return;
        }
        for (var p = 0; p < kc; p++, src += lda, dst += MR)
        {
            var i = 0;
            for (; i < mr; i++) dst[i] = src[i];
            for (; i < MR; i++) dst[i] = 0;
        }
    }

    private static void ScaleC(int m, int n, float beta, float* c, nint ldc, float* bias)
    {
        for (var i = 0; i < m; i++, c += ldc)
        {
            var row = new Span<float>(c, n);
            if (bias != null) new ReadOnlySpan<float>(bias, n).CopyTo(row);
            else if (beta == 0) row.Clear();
            else if (beta != 1) System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }
}

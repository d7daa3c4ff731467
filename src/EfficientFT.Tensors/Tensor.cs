using System.Globalization;
using System.Text;
using EfficientFT.Tensors.Autograd;
using EfficientFT.Tensors.Blas;

namespace EfficientFT.Tensors;

/// <summary>
/// A dense float32 tensor in row-major order, the value every op consumes and produces.
/// </summary>
/// <remarks>
/// Storage is a managed array today; it is reached only through <see cref="AsSpan"/> and the ops, so a device
/// back end can later hold its data elsewhere behind the same API. Two views share storage instead of copying:
/// <see cref="Reshape"/> of a contiguous tensor, and <see cref="Transpose"/> of the last two axes, which only the
/// matrix products read as-is (they pass the transpose to the GEMM); every other op asks for
/// <see cref="Contiguous"/> first.
/// <para>
/// A frozen leaf can be held in bfloat16 instead (<see cref="HoldInBFloat16"/>), for half the memory: the linear and
/// embedding ops read it as it is, widening as they pack or gather; any other op reads a float32 copy. A frozen
/// linear weight can be held packed instead (<see cref="HoldPacked"/>), for speed: the linear ops read its panels as
/// they are; any other op reads a float32 copy.
/// </para>
/// </remarks>
public sealed partial class Tensor
{
    private readonly int[] _shape;
    private float[]? _storage;
    private ushort[]? _bfloat16;
    private PackedWeight? _packed;
    private bool _requiresGrad;

    internal Tensor(float[] storage, int[] shape, bool transposed = false)
    {
        _shape = shape;
        Size = Shapes.Size(shape);
        if (storage.Length < Size)
            throw new ArgumentException($"Tensor: storage of {storage.Length} elements is too small for shape {Shapes.Format(shape)}.");
        _storage = storage;
        ActivationRecycler.Register(storage, this);
        IsTransposed = transposed;
        if (transposed && shape.Length < 2)
            throw new ArgumentException("Tensor: a transposed view needs at least two axes.");
    }

    /// <summary>The extent of each axis.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of axes.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Size { get; }

    /// <summary>
    /// True when this is a view whose last two axes are swapped relative to its storage
    /// (storage is row-major in shape [..., Shape[^1], Shape[^2]]).
    /// </summary>
    public bool IsTransposed { get; }

    /// <summary>An optional name (parameter name in a checkpoint), used in messages.</summary>
    public string? Name { get; set; }

    /// <summary>
    /// Whether backward computes a gradient for this tensor. Set it on parameters (leaves); op results inherit it
    /// from their inputs while gradients are enabled.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            // Training needs float32 values and moments: a tensor held in bfloat16 or packed goes back to float32,
            // exactly, so a model can be held so before a method picks what it trains.
            if (value) HoldInFloat32();
            _requiresGrad = value;
        }
    }

    /// <summary>True when the values are held in bfloat16 (<see cref="HoldInBFloat16"/>); setting <see cref="RequiresGrad"/> widens them back.</summary>
    public bool IsBFloat16 => _bfloat16 != null;

    /// <summary>True when the values are held packed (<see cref="HoldPacked"/>); setting <see cref="RequiresGrad"/> unpacks them.</summary>
    public bool IsPacked => _packed != null;

    /// <summary>The packed panels of a tensor held packed, else null.</summary>
    internal PackedWeight? Packed => _packed;

    /// <summary>The accumulated gradient, same shape as this tensor, or null before backward reaches it.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The op that produced this tensor and how to send gradients back through it; null for leaves.</summary>
    internal Node? GradFn { get; set; }

    /// <summary>Set when a backward pass has run through this tensor's op and dropped it.</summary>
    internal bool GraphReleased { get; set; }

    /// <summary>A gradient whose storage came from the <see cref="GradientPool"/> and goes back there when spent.</summary>
    internal bool FromGradientPool { get; init; }

    /// <summary>Set on a spent gradient whose storage another tensor's gradient now owns, so it is not pooled twice.</summary>
    internal bool StorageTakenOver { get; set; }

    /// <summary>True for tensors not produced by a recorded op (parameters, inputs).</summary>
    public bool IsLeaf => GradFn == null;

    /// <summary>The extent of axis <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis) => _shape[Shapes.NormalizeAxis(axis, Rank, "Dim")];

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    internal int[] ShapeRef => _shape;

    /// <summary>The float32 storage; for a tensor held in bfloat16 or packed, a float32 copy that writes do not reach.</summary>
    internal float[] Storage => _storage ?? Widened();

    /// <summary>The bfloat16 bits of a tensor held in bfloat16.</summary>
    internal ushort[] BFloat16Storage => _bfloat16 ?? throw new InvalidOperationException($"Tensor {Describe()} is not held in bfloat16.");

    /// <summary>The elements in row-major order. Only for contiguous float32 tensors.</summary>
    public Span<float> AsSpan()
    {
        if (IsTransposed)
            throw new InvalidOperationException($"Tensor {Describe()}: a transposed view has no row-major span; call Contiguous() first.");
        if (_storage == null)
            throw new InvalidOperationException($"Tensor {Describe()} is held {(_packed != null ? "packed" : "in bfloat16")} and has no float32 span; read it through Contiguous() or ToArray().");
        return _storage.AsSpan(0, Size);
    }

    /// <summary>The bfloat16 bits of a tensor held in bfloat16 (<see cref="IsBFloat16"/>), in row-major order.</summary>
    public ReadOnlySpan<ushort> AsBFloat16Span() => BFloat16Storage.AsSpan(0, Size);

    /// <summary>
    /// Rounds this frozen leaf's values to bfloat16 (to nearest, ties to even) and keeps only those, halving its memory.
    /// The tensor stays the same object, so modules, tied weights and adapters that hold it all see the new values;
    /// views taken before keep the old float32 ones. Writes through <see cref="CopyFrom"/> round likewise.
    /// </summary>
    /// <exception cref="InvalidOperationException">It trains, is a view, or is the result of an op.</exception>
    public void HoldInBFloat16()
    {
        if (_bfloat16 != null) return;
        if (RequiresGrad || !IsLeaf || IsTransposed)
            throw new InvalidOperationException($"Tensor {Describe()}: only a frozen, untransposed leaf can be held in bfloat16.");
        var bits = new ushort[Size];
        BFloat16.Narrow(Storage.AsSpan(0, Size), bits);
        _bfloat16 = bits;
        (_storage, _packed) = (null, null);
    }

    /// <summary>
    /// Keeps this frozen matrix, a linear layer's weight W [out, in], only as <see cref="Gemm.Default"/>'s packed
    /// panels for x·Wᵀ and dy·W (<see cref="PackedWeight"/>), so the layer's products stop packing it at every step;
    /// it then takes twice its float32 memory. Exact: the values and every product's result stay bitwise the same.
    /// The tensor stays the same object, as with <see cref="HoldInBFloat16"/>. Returns false, changing nothing, for a
    /// tensor held in bfloat16 (its packed panels would take four times its memory) or where the GEMM path has no
    /// packed form.
    /// </summary>
    /// <exception cref="InvalidOperationException">It trains, is a view, is the result of an op, or is not a matrix.</exception>
    public bool HoldPacked()
    {
        if (_packed != null) return true;
        if (RequiresGrad || !IsLeaf || IsTransposed || Rank != 2)
            throw new InvalidOperationException($"Tensor {Describe()}: only a frozen, untransposed leaf matrix can be held packed.");
        if (_bfloat16 != null || Size == 0) return false;
        _packed = Gemm.Default.Pack(_storage.AsSpan(0, Size), _shape[0], _shape[1]);
        if (_packed == null) return false;
        _storage = null;
        return true;
    }

    /// <summary>Brings a tensor held in bfloat16 or packed back to float32 storage (exact); nothing happens to a float32 one.</summary>
    public void HoldInFloat32()
    {
        if (_storage != null) return;
        _storage = Widened();
        (_bfloat16, _packed) = (null, null);
    }

    private float[] Widened()
    {
        var values = GC.AllocateUninitializedArray<float>(Size);
        if (_packed != null) _packed.Unpack(values);
        else BFloat16.Widen(_bfloat16!, values);
        return values;
    }

    /// <summary>The elements in row-major order as a new array.</summary>
    public float[] ToArray() => Contiguous().AsSpan().ToArray();

    /// <summary>The single value of a one-element tensor.</summary>
    public float Item()
    {
        if (Size != 1) throw new InvalidOperationException($"Item: tensor of shape {Shapes.Format(_shape)} has {Size} elements, not 1.");
        return Storage[0];
    }

    /// <summary>The element at a full index.</summary>
    public float At(params int[] index) => Contiguous().Storage[Shapes.FlatIndex(_shape, index)];

    // ----- factories -----

    public static Tensor Zeros(params int[] shape) => new(new float[Shapes.Size(Shapes.Check(shape))], (int[])shape.Clone());

    /// <summary>
    /// A tensor whose elements are not cleared, for kernels that write every one of them; large ones reuse an earlier
    /// step's storage while an <see cref="ActivationRecycler"/> is active.
    /// </summary>
    internal static Tensor Uninitialized(params int[] shape) =>
        new(ActivationRecycler.Rent(Shapes.Size(Shapes.Check(shape))), (int[])shape.Clone());

    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    public static Tensor Full(float value, params int[] shape)
    {
        var t = Zeros(shape);
        t.AsSpan().Fill(value);
        return t;
    }

    public static Tensor Scalar(float value) => new([value], []);

    /// <summary>A tensor over a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> data, params int[] shape)
    {
        Shapes.Check(shape);
        if (data.Length != Shapes.Size(shape))
            throw new ArgumentException($"FromArray: {data.Length} values do not fill shape {Shapes.Format(shape)} ({Shapes.Size(shape)} elements).");
        return new Tensor(data.ToArray(), (int[])shape.Clone());
    }

    /// <summary>A tensor that takes ownership of <paramref name="data"/> without copying.</summary>
    public static Tensor Wrap(float[] data, params int[] shape)
    {
        Shapes.Check(shape);
        if (data.Length != Shapes.Size(shape))
            throw new ArgumentException($"Wrap: {data.Length} values do not fill shape {Shapes.Format(shape)} ({Shapes.Size(shape)} elements).");
        return new Tensor(data, (int[])shape.Clone());
    }

    /// <summary>Uniform values in [low, high).</summary>
    public static Tensor Uniform(Rng rng, float low, float high, params int[] shape)
    {
        var t = Zeros(shape);
        rng.FillUniform(t.AsSpan(), low, high);
        return t;
    }

    /// <summary>Normal values with the given mean and standard deviation.</summary>
    public static Tensor Normal(Rng rng, float mean, float std, params int[] shape)
    {
        var t = Zeros(shape);
        rng.FillNormal(t.AsSpan(), mean, std);
        return t;
    }

    /// <summary>A new leaf that requires a gradient: the way parameters are made.</summary>
    public static Tensor Parameter(Tensor value, string? name = null) =>
        new(value.ToArray(), value.ShapeArray()) { RequiresGrad = true, Name = name };

    // ----- views and copies -----

    /// <summary>
    /// The same tensor in row-major float32: itself when already so, a float32 copy of one held in bfloat16 or packed (which
    /// never trains, so the copy needs no history), else a recorded copy.
    /// </summary>
    public Tensor Contiguous() => _storage == null ? new Tensor(Widened(), ShapeArray()) { Name = Name }
        : IsTransposed ? Ops.Materialize(this) : this;

    /// <summary>A view (no copy) with the same elements in a new shape; one extent may be -1.</summary>
    public Tensor Reshape(params int[] shape) => Ops.Reshape(this, shape);

    /// <summary>Swaps the last two axes as a view (no copy).</summary>
    public Tensor Transpose() => Ops.TransposeLast(this);

    /// <summary>A new leaf with a copy of the data and no history.</summary>
    public Tensor Clone()
    {
        var src = Contiguous();
        return new Tensor(src.AsSpan().ToArray(), ShapeArray()) { Name = Name };
    }

    /// <summary>The same data as a leaf cut off from the graph (shares storage, never receives gradients).</summary>
    public Tensor Detach() =>
        _storage == null ? new Tensor(_bfloat16, _packed, ShapeArray()) { Name = Name } : new(_storage, ShapeArray(), IsTransposed) { Name = Name };

    private Tensor(ushort[]? bfloat16, PackedWeight? packed, int[] shape)
    {
        _shape = shape;
        Size = Shapes.Size(shape);
        (_bfloat16, _packed) = (bfloat16, packed);
    }

    /// <summary>Replaces this leaf's data in place with <paramref name="values"/> (optimizer steps, loading).</summary>
    public void CopyFrom(ReadOnlySpan<float> values)
    {
        if (values.Length != Size)
            throw new ArgumentException($"CopyFrom: {values.Length} values for tensor {Describe()} of {Size} elements.");
        CopyFrom(values, 0);
    }

    /// <summary>
    /// Replaces elements [<paramref name="offset"/>, offset + length) with <paramref name="values"/>, rounding them
    /// when the tensor is held in bfloat16: loading a tensor piece by piece, without a whole float32 copy. A tensor
    /// held packed is packed again whole (merging an adapter into it, say), and stays packed.
    /// </summary>
    public void CopyFrom(ReadOnlySpan<float> values, int offset)
    {
        if (offset < 0 || offset > Size - values.Length)
            throw new ArgumentException($"CopyFrom: {values.Length} values at {offset} do not fit tensor {Describe()} of {Size} elements.");
        if (_bfloat16 != null) BFloat16.Narrow(values, _bfloat16.AsSpan(offset));
        else if (_packed != null) Repack(values, offset);
        else values.CopyTo(AsSpan()[offset..]);
    }

    private void Repack(ReadOnlySpan<float> values, int offset)
    {
        if (values.Length == Size)
        {
            _packed!.Write(values);
            return;
        }
        var all = Widened();
        values.CopyTo(all.AsSpan(offset));
        _packed!.Write(all);
    }

    /// <summary>Replaces elements [<paramref name="offset"/>, offset + length) of a tensor held in bfloat16 with these bits.</summary>
    public void CopyBFloat16From(ReadOnlySpan<ushort> bits, int offset)
    {
        var storage = BFloat16Storage;
        if (offset < 0 || offset > Size - bits.Length)
            throw new ArgumentException($"CopyBFloat16From: {bits.Length} values at {offset} do not fit tensor {Describe()} of {Size} elements.");
        bits.CopyTo(storage.AsSpan(offset));
    }

    /// <summary>Clears the accumulated gradient.</summary>
    public void ZeroGrad() => Grad = null;

    /// <summary>
    /// Runs reverse-mode differentiation from this tensor. A scalar gets seed gradient 1; otherwise pass
    /// <paramref name="gradient"/> of the same shape.
    /// </summary>
    public void Backward(Tensor? gradient = null) => Backprop.Run(this, gradient);

    internal string Describe() => Name != null ? $"'{Name}' {Shapes.Format(_shape)}" : Shapes.Format(_shape);

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("Tensor").Append(Shapes.Format(_shape));
        if (Name != null) sb.Append(' ').Append(Name);
        var data = Contiguous().AsSpan();
        sb.Append(" [");
        var shown = Math.Min(data.Length, 8);
        for (var i = 0; i < shown; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(data[i].ToString("G6", CultureInfo.InvariantCulture));
        }
        if (data.Length > shown) sb.Append(", …");
        return sb.Append(']').ToString();
    }
}

using System.Runtime.CompilerServices;
using EfficientFT.Tensors.Autograd;
using T = EfficientFT.Tensors.Tensor;
using O = EfficientFT.Tensors.Ops;

namespace EfficientFT.Tensors.Tests.Autograd;

public sealed class ActivationRecyclerTests
{
    private const int Rows = 512, Cols = ActivationRecycler.MinLength / Rows;

    [Fact]
    public void Reclaim_ReusesStorageOnlyOnceEveryTensorOverItIsGone()
    {
        var x = T.Uniform(new Rng(1), -1, 1, Rows, Cols);
        using var recycler = new ActivationRecycler();
        var (held, view, droppedStorage, viewedStorage) = ThreeActivations(x);
        var heldValues = held.ToArray();
        Collect();
        recycler.Reclaim();

        var fresh = Enumerable.Range(0, 3).Select(i => x * (10f + i)).ToList();
        var storages = fresh.Select(t => t.Storage).ToList();
        Assert.Contains(droppedStorage, storages);
        Assert.DoesNotContain(held.Storage, storages);
        Assert.DoesNotContain(viewedStorage, storages);
        Assert.Equal(heldValues, held.ToArray());
        Assert.Equal(x.ToArray().Select(v => v * 3f), view.ToArray());
    }

    [Fact]
    public void TrainingSteps_GiveTheSameGradientsWhenTheirActivationsReuseStorage()
    {
        // An MLP whose activations are large enough to recycle; the steps after the first run on the first one's storage.
        var rng = new Rng(2);
        var x = T.Uniform(rng, -1, 1, Rows, Cols);
        var w1 = T.Parameter(T.Uniform(rng, -0.1f, 0.1f, Cols, Cols));
        var w2 = T.Parameter(T.Uniform(rng, -0.1f, 0.1f, Cols, Cols));
        float[][] Step()
        {
            (w1.Grad, w2.Grad) = (null, null);
            O.Sum(O.Linear(O.Gelu(O.Linear(x, w1)), w2) * O.Gelu(O.Linear(x, w1))).Backward();
            return [w1.Grad!.ToArray(), w2.Grad!.ToArray()];
        }
        var expected = Step();

        using var recycler = new ActivationRecycler();
        for (var step = 0; step < 3; step++)
        {
            var gradients = Step();
            Assert.Equal(expected[0], gradients[0]);
            Assert.Equal(expected[1], gradients[1]);
            Collect();
            recycler.Reclaim();
        }
        Assert.True(recycler.OutstandingBytes == 0, $"{recycler.OutstandingBytes} bytes of the steps' activations were not taken back");
    }

    [Fact]
    public void Reclaim_LetsGoOfStorageTheLastStepDidNotReuse()
    {
        // Shapes that change between steps (padding trimmed per batch) must not pile up storage nobody asks for again.
        var wide = T.Uniform(new Rng(3), -1, 1, Rows, Cols);
        var narrow = T.Uniform(new Rng(4), -1, 1, Rows, Cols / 2);
        using var recycler = new ActivationRecycler();
        var first = StorageOf(wide);
        Collect();
        recycler.Reclaim();
        StorageOf(narrow);
        Collect();
        recycler.Reclaim();
        Assert.NotSame(first, StorageOf(wide));
    }

    /// <summary>The storage of a dropped activation of x's shape. Not inlined, so the activation is garbage on return.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float[] StorageOf(T x) => (x * 2f).Storage;

    /// <summary>
    /// x·2 (kept), x·3 seen only through a reshaped view (kept), x·4 dropped; returns the survivors and the storages.
    /// Not inlined, so that no local of the caller keeps the dropped tensors alive.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (T Held, T View, float[] DroppedStorage, float[] ViewedStorage) ThreeActivations(T x)
    {
        var held = x * 2f;
        var viewed = x * 3f;
        var dropped = x * 4f;
        return (held, viewed.Reshape(-1), dropped.Storage, viewed.Storage);
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}

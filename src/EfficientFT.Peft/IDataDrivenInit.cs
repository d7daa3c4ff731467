using EfficientFT.Models;
using EfficientFT.Models.Nn;

namespace EfficientFT.Peft;

/// <summary>
/// A method whose initialisation looks at data (EVA): before it is applied it runs the base model over a few
/// batches, and what it learns there can change the options it is applied with (per-module ranks, the explicit
/// target list).
/// </summary>
public interface IDataDrivenInit
{
    /// <summary>
    /// Runs <paramref name="model"/> (no adapters installed yet) over <paramref name="batches"/> and returns the
    /// options <see cref="IPeftMethod.Apply"/> must then receive; the method keeps what it computed for that call.
    /// </summary>
    PeftOptions Initialise(PretrainedModel model, IReadOnlyList<(string Path, Linear Layer)> targets, PeftOptions options,
        IEnumerable<ModelBatch> batches);
}

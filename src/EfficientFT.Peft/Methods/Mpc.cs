using EfficientFT.Models.Nn;

namespace EfficientFT.Peft.Methods;

/// <summary>
/// Matrix pattern constraints (MPC) of Si, Yang &amp; Shen, "See Further for Parameter Efficient Fine-tuning by
/// Standing on the Shoulders of Decomposition" (arXiv 2407.05417): constraints on the factors of ΔW = A B that add
/// no parameters and combine with any low-rank method.
/// <para>
/// The paper writes ΔW = A B with A ∈ ℝ^{n×r}, B ∈ ℝ^{r×m}. We follow the methods reference in reading its A as
/// peft's lora_B [out, r] and its B as lora_A [r, in]: then A B = lora_B·lora_A is exactly the stored update, A is
/// the left (output-side) factor as U is in W = U Σ Vᵀ and as P is in AdaLoRA's P Λ Q, and both Grams the paper
/// constrains are r×r, the only size at which "= I" can hold for r below in and out:
/// AᵀA = lora_Bᵀ lora_B (columns of B) and B Bᵀ = lora_A lora_Aᵀ (rows of A).
/// </para>
/// <list type="bullet">
/// <item>MPC_o (Eq. 25): ‖lora_Bᵀ lora_B − I‖²_F + ‖lora_A lora_Aᵀ − I‖²_F.</item>
/// <item>MPC_d (Eq. 26): ‖lora_Bᵀ lora_B − I‖²_F + ‖lora_A lora_Aᵀ − diag(lora_A lora_Aᵀ)‖²_F: lora_B
/// orthonormal, lora_A's rows orthogonal but free in length, so ΔW = U (Σ Vᵀ) like a thin SVD.</item>
/// <item>MPC_n: a nonlinearity between the factors (<see cref="NonlinearLowRankAdapter"/>).</item>
/// </list>
/// The penalty is coefficient × mean over the adapted layers of the per-layer sum, so the coefficient means the
/// same whatever the depth (AdaLoRA averages its regularizer the same way).
/// </summary>
public static class Mpc
{
    /// <summary>
    /// Whether the method's adapter must stay linear, so MPC_n cannot apply: PiSSA and OLoRA leave W − s·B·A in the
    /// base weight, which only a linear adapter restores at the start; DoRA's norm ‖W + s·B·A‖ presumes a linear update.
    /// </summary>
    public static bool MustStayLinear(string method) => PeftMethods.Parts(method).Any(part => part is "pissa" or "olora" or "dora");

    /// <summary>
    /// Installs <paramref name="options"/> on the adapters <paramref name="method"/> put on <paramref name="targets"/>:
    /// MPC_n replaces each adapter by its nonlinear form and needs no hook; MPC_o and MPC_d return the loss term.
    /// </summary>
    public static IStepHook? Install(IPeftMethod method, IReadOnlyList<(string Path, Linear Layer)> targets, MpcOptions options)
    {
        if (!double.IsFinite(options.Coefficient) || options.Coefficient <= 0)
            throw new ArgumentException($"MPC: the coefficient must be positive, got {options.Coefficient}.");
        var adapters = targets.Select(t => t.Layer.Adapter as ILowRankAdapter
            ?? throw new NotSupportedException($"MPC constrains low-rank factors; {method.Name} puts none on {t.Path}.")).ToList();
        if (options.Kind != MpcKind.Nonlinear) return new MpcRegularizer(options.Kind, (float)options.Coefficient, adapters);
        if (MustStayLinear(method.Name) || adapters.Any(a => a is LoraAdapter { Magnitude: not null }))
            throw new NotSupportedException($"MPC_n needs an adapter whose update starts at zero and is linear in W; {method.Name} is not one.");
        for (var i = 0; i < targets.Count; i++) targets[i].Layer.Adapter = new NonlinearLowRankAdapter(adapters[i], (float)options.Coefficient);
        return null;
    }
}

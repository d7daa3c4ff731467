namespace EfficientFT.Peft;

/// <summary>
/// Which attention projection a module path belongs to. The second insight of EfficientFT gives V its own learning
/// rate (λ·lr), whatever a method trains there.
/// </summary>
public enum ProjectionRole
{
    Query,
    Key,
    Value,
    Other,
}

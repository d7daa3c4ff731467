namespace EfficientFT.Training.Schedules;

/// <summary>The learning-rate schedules of Hugging Face's transformers.optimization that GLUE recipes use.</summary>
public enum ScheduleKind
{
    /// <summary>get_constant_schedule_with_warmup (no warm-up steps: get_constant_schedule).</summary>
    Constant,

    /// <summary>get_linear_schedule_with_warmup.</summary>
    Linear,

    /// <summary>get_cosine_schedule_with_warmup with num_cycles = 0.5.</summary>
    Cosine,
}

namespace OrtZo.Training;

/// <summary>Learning rate of step t (HF's constant, and linear decay to 0 without warm-up).</summary>
internal static class LearningRates
{
    public static double At(ZoOptions o, long step) => o.Schedule switch
    {
        LearningRateSchedule.Constant => o.LearningRate,
        LearningRateSchedule.Linear => o.LearningRate * Math.Max(0.0, (double)(o.TotalSteps - step) / o.TotalSteps),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o.Schedule, null),
    };
}

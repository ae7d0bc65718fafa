namespace OrtZo;

/// <summary>What one ZO step did.</summary>
/// <param name="Step">Index of the step just taken (0-based).</param>
/// <param name="Loss">Loss at the first perturbed point θ+εz (what MeZO logs), or L(θ) for one-point and Cons.</param>
/// <param name="ProjectedGradient">g = (L+ − L−)/2ε of the first query.</param>
/// <param name="Skipped">A loss was NaN/Inf: no update was applied and the weights were restored.</param>
/// <param name="LearningRate">Learning rate used.</param>
/// <param name="Forwards">Forward passes the step ran.</param>
public readonly record struct StepResult(long Step, double Loss, double ProjectedGradient, bool Skipped, double LearningRate, int Forwards, TimeSpan Elapsed);

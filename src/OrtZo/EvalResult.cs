namespace OrtZo;

/// <summary>Score of one candidate: log-probability of its option tokens given the prompt.</summary>
/// <param name="Sum">Σ log p over the option tokens.</param>
/// <param name="Mean">Sum / Tokens (the score MeZO ranks candidates by).</param>
/// <param name="Tokens">Number of option tokens scored.</param>
public readonly record struct CandidateScore(double Sum, double Mean, int Tokens);

/// <summary>One evaluated example.</summary>
public sealed record ExamplePrediction(int Label, int Prediction, IReadOnlyList<CandidateScore> Candidates);

/// <summary>Accuracy and loss of a model on a task split.</summary>
/// <param name="Loss">The training loss of the task (cross-entropy over candidates, or token CE of the gold option).</param>
public sealed record EvalResult(double Accuracy, double Loss, int Examples, IReadOnlyList<ExamplePrediction> Predictions);

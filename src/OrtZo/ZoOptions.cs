namespace OrtZo;

/// <summary>The zeroth-order optimizers OrtZo offers (MeZO and the ZO-Bench family).</summary>
public enum ZoOptimizer
{
    /// <summary>ZO-SGD with MeZO's two-point estimate (also called zo-sgd).</summary>
    MeZO,
    /// <summary>MeZO on the smallest-magnitude weights only, with the mask judged on unperturbed weights.</summary>
    SparseMeZO,
    /// <summary>ZO-SGD-Sign: θ ← θ − η·sign(ĝ).</summary>
    ZoSign,
    /// <summary>ZO-SGD-MMT: momentum on the ZO estimate.</summary>
    ZoMomentum,
    /// <summary>ZO-Adam: Adam moments on the ZO estimate.</summary>
    ZoAdam,
    /// <summary>ZO-SGD-Cons: keep the best of θ, θ−ηĝ, θ+ηĝ on the batch (five forwards a step).</summary>
    ZoConservative,
}

public enum LearningRateSchedule
{
    Constant,
    /// <summary>Linear decay from the learning rate to 0 over <see cref="ZoOptions.TotalSteps"/>.</summary>
    Linear,
}

/// <summary>Kinds of weights, for choosing which ones Sparse-MeZO masks.</summary>
[Flags]
public enum WeightKinds
{
    None = 0,
    /// <summary>2-D projections inside the blocks (attention, MLP).</summary>
    Matrices = 1,
    /// <summary>Token and position embeddings (and a head tied to the token embedding).</summary>
    Embeddings = 2,
    /// <summary>Untied output head.</summary>
    Head = 4,
    /// <summary>Norm scales and shifts.</summary>
    Norms = 8,
    /// <summary>Biases.</summary>
    Biases = 16,
    /// <summary>Anything else.</summary>
    Other = 32,
    All = Matrices | Embeddings | Head | Norms | Biases | Other,
}

/// <summary>What the ZO estimate differentiates.</summary>
public enum ZoObjective
{
    /// <summary>The task's training loss (cross-entropy over candidates, or token CE of the gold option).</summary>
    Loss,
    /// <summary>−accuracy on the batch: a non-differentiable signal, as MeZO uses −F1 for SQuAD. Needs a large ε to move predictions.</summary>
    Accuracy,
}

/// <summary>Block-wise ZO schedules (ZO-Bench).</summary>
public enum BlockWiseMode
{
    Off,
    /// <summary>Perturb and update one block at a time; later blocks see earlier updates.</summary>
    Coordinate,
    /// <summary>Estimate every block at the same weights, then update all of them.</summary>
    Jacobi,
}

/// <summary>Hyperparameters of a ZO run. Together with the model and the data they determine the run bit for bit.</summary>
public sealed record ZoOptions
{
    public ZoOptimizer Optimizer { get; init; } = ZoOptimizer.MeZO;
    public double LearningRate { get; init; } = 1e-6;
    /// <summary>Perturbation scale ε.</summary>
    public double Epsilon { get; init; } = 1e-3;
    /// <summary>Master seed: every step's perturbation seeds and the data order derive from it.</summary>
    public ulong Seed { get; init; }
    /// <summary>Examples per step (each contributes one row per candidate when training as classification).</summary>
    public int BatchSize { get; init; } = 16;
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Constant;
    /// <summary>Steps of the run; the linear schedule decays to 0 at this step.</summary>
    public long TotalSteps { get; init; } = 1000;
    /// <summary>L2 term λ·θ added to the estimate on weights other than norms and biases (MeZO's rule).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Sparse-MeZO: fraction of each masked tensor that stays fixed (0.8 moves the smallest 20%).</summary>
    public double Sparsity { get; init; } = 0.8;
    /// <summary>Sparse-MeZO: which weights get magnitude masks.</summary>
    public WeightKinds SparseTargets { get; init; } = WeightKinds.Matrices;
    /// <summary>Sparse-MeZO: weights outside <see cref="SparseTargets"/> are frozen (true) or trained densely (false).</summary>
    public bool FreezeUnmasked { get; init; }

    /// <summary>Momentum β (ZO-SGD-MMT) or Adam's β1.</summary>
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Two-point estimates averaged per step (q-query), each with its own seed.</summary>
    public int Queries { get; init; } = 1;
    /// <summary>One-point estimate (L(θ+εz) − L(θ))/ε instead of the two-point one.</summary>
    public bool OnePoint { get; init; }
    public BlockWiseMode BlockWise { get; init; } = BlockWiseMode.Off;
    /// <summary>ZO with gradient pruning: global magnitude-pruning ratio giving per-layer random-mask ratios (0 = off).</summary>
    public double GradientPruning { get; init; }
    /// <summary>Steps between redraws of the gradient-pruning masks.</summary>
    public int GradientPruningResample { get; init; } = 1;
    /// <summary>Round 16-bit weight updates stochastically (reproducibly) instead of to nearest.</summary>
    public bool StochasticRounding { get; init; }

    /// <summary>The signal the two forwards measure.</summary>
    public ZoObjective Objective { get; init; } = ZoObjective.Loss;

    /// <summary>
    /// Micro-batches a step's batch splits into; the step loss is their mean (in micro-batch order, in double).
    /// 1 scores the whole batch at once. A distributed run hands micro-batches to workers, and a single-process
    /// run with the same value gives the same weights bit for bit.
    /// </summary>
    public int MicroBatches { get; init; } = 1;

    /// <summary>Weight kinds that are trained at all (PEFT-free full fine-tuning trains all of them).</summary>
    public WeightKinds Trainable { get; init; } = WeightKinds.All;

    /// <summary>Throws with the offending option's name when a value is out of range.</summary>
    public void Validate()
    {
        static void Require(bool ok, string name, string expected)
        {
            if (!ok) throw OptionErrors.Fail(OptionError.OutOfRange, name, expected);
        }
        Require(double.IsFinite(LearningRate) && LearningRate >= 0, nameof(LearningRate), "a finite non-negative number");
        Require(double.IsFinite(Epsilon) && Epsilon > 0, nameof(Epsilon), "a finite positive number");
        Require(BatchSize >= 1, nameof(BatchSize), "at least 1");
        Require(TotalSteps >= 1, nameof(TotalSteps), "at least 1");
        Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), "a finite non-negative number");
        Require(Sparsity is >= 0 and <= 1, nameof(Sparsity), "in [0, 1]");
        Require(Beta1 is >= 0 and < 1, nameof(Beta1), "in [0, 1)");
        Require(Beta2 is >= 0 and < 1, nameof(Beta2), "in [0, 1)");
        Require(AdamEpsilon > 0, nameof(AdamEpsilon), "positive");
        Require(Queries >= 1, nameof(Queries), "at least 1");
        Require(MicroBatches >= 1 && MicroBatches <= BatchSize, nameof(MicroBatches), "between 1 and the batch size");
        Require(GradientPruning is >= 0 and < 1, nameof(GradientPruning), "in [0, 1)");
        Require(GradientPruningResample >= 1, nameof(GradientPruningResample), "at least 1");
        Require(!(Optimizer == ZoOptimizer.ZoConservative && (Queries != 1 || OnePoint || BlockWise != BlockWiseMode.Off)),
            nameof(Optimizer), "zo-cons runs one two-point query over all weights (no --queries, --one-point or --block-wise)");
        Require(!(BlockWise != BlockWiseMode.Off && (Queries != 1 || OnePoint)), nameof(BlockWise), "block-wise ZO uses one two-point query per block");
        Require(!(Optimizer == ZoOptimizer.SparseMeZO && GradientPruning > 0), nameof(GradientPruning), "cannot be combined with Sparse-MeZO's magnitude masks");
    }
}

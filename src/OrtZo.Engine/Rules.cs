using System.Numerics;

namespace OrtZo.Engine;

/// <summary>
/// One optimizer rule of <see cref="UpdateRule"/> as an op with a scalar form and a vector form (the pattern of
/// TensorPrimitives' operators): both compute the same float32 expressions in the same order, without fused
/// multiply-add, so lane i of the vector form equals the scalar form bit for bit. <see cref="RuleDriver"/> runs
/// any op over a chunk; the scalar specification calls the scalar form element by element.
/// </summary>
/// <remarks>
/// <paramref name="g"/> arrives with the weight-decay term already added (the driver adds λ·θ where the tensor
/// takes decay); <c>s1</c>/<c>s2</c> are the element's optimizer state (momentum, or Adam's two moments).
/// </remarks>
internal interface IRuleOp
{
    static abstract bool TakesDecay { get; }

    static abstract float Scalar(in RuleConstants k, float theta, float g, ref float s1, ref float s2);

    static abstract Vector<float> Vector(in RuleConstants k, Vector<float> theta, Vector<float> g, ref Vector<float> s1, ref Vector<float> s2);
}

/// <summary>An update's scalars, broadcast once per chunk for the vector form.</summary>
internal readonly struct RuleConstants(UpdateSpec u)
{
    public readonly float LearningRate = u.LearningRate, Beta1 = u.Beta1, Beta2 = u.Beta2, OneMinusBeta1 = 1f - u.Beta1, OneMinusBeta2 = 1f - u.Beta2,
        AdamEpsilon = u.AdamEpsilon, AdamStepSize = u.AdamStepSize, AdamBias2Sqrt = u.AdamBias2Sqrt;
}

/// <summary>θ − η·ĝ (MeZO's ZO-SGD).</summary>
internal readonly struct SgdOp : IRuleOp
{
    public static bool TakesDecay => true;

    public static float Scalar(in RuleConstants k, float theta, float g, ref float s1, ref float s2) => theta - k.LearningRate * g;

    public static Vector<float> Vector(in RuleConstants k, Vector<float> theta, Vector<float> g, ref Vector<float> s1, ref Vector<float> s2) =>
        theta - new Vector<float>(k.LearningRate) * g;
}

/// <summary>θ − η·sign(ĝ) (ZO-SGD-Sign), with sign(0) = 0.</summary>
internal readonly struct SignOp : IRuleOp
{
    public static bool TakesDecay => true;

    public static float Scalar(in RuleConstants k, float theta, float g, ref float s1, ref float s2) =>
        theta - k.LearningRate * (g > 0f ? 1f : g < 0f ? -1f : 0f);

    public static Vector<float> Vector(in RuleConstants k, Vector<float> theta, Vector<float> g, ref Vector<float> s1, ref Vector<float> s2)
    {
        var sign = System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.GreaterThan(g, Vector<float>.Zero), Vector<float>.One,
            System.Numerics.Vector.ConditionalSelect(System.Numerics.Vector.LessThan(g, Vector<float>.Zero), -Vector<float>.One, Vector<float>.Zero));
        return theta - new Vector<float>(k.LearningRate) * sign;
    }
}

/// <summary>m ← β·m + ĝ; θ − η·m (ZO-SGD-MMT: torch's SGD momentum without dampening).</summary>
internal readonly struct MomentumOp : IRuleOp
{
    public static bool TakesDecay => true;

    public static float Scalar(in RuleConstants k, float theta, float g, ref float s1, ref float s2)
    {
        s1 = k.Beta1 * s1 + g;
        return theta - k.LearningRate * s1;
    }

    public static Vector<float> Vector(in RuleConstants k, Vector<float> theta, Vector<float> g, ref Vector<float> s1, ref Vector<float> s2)
    {
        s1 = new Vector<float>(k.Beta1) * s1 + g;
        return theta - new Vector<float>(k.LearningRate) * s1;
    }
}

/// <summary>Adam on ĝ in torch's formulation: θ − s·(m / (√v / b + ε)), s = η/(1−β1^t), b = √(1−β2^t).</summary>
internal readonly struct AdamOp : IRuleOp
{
    public static bool TakesDecay => true;

    public static float Scalar(in RuleConstants k, float theta, float g, ref float s1, ref float s2)
    {
        s1 = k.Beta1 * s1 + k.OneMinusBeta1 * g;
        s2 = k.Beta2 * s2 + k.OneMinusBeta2 * (g * g);
        float denom = MathF.Sqrt(s2) / k.AdamBias2Sqrt + k.AdamEpsilon;
        return theta - k.AdamStepSize * (s1 / denom);
    }

    public static Vector<float> Vector(in RuleConstants k, Vector<float> theta, Vector<float> g, ref Vector<float> s1, ref Vector<float> s2)
    {
        s1 = new Vector<float>(k.Beta1) * s1 + new Vector<float>(k.OneMinusBeta1) * g;
        s2 = new Vector<float>(k.Beta2) * s2 + new Vector<float>(k.OneMinusBeta2) * (g * g);
        var denom = System.Numerics.Vector.SquareRoot(s2) / new Vector<float>(k.AdamBias2Sqrt) + new Vector<float>(k.AdamEpsilon);
        return theta - new Vector<float>(k.AdamStepSize) * (s1 / denom);
    }
}

/// <summary>θ + fl32(c·z): commits a candidate move exactly as it was evaluated (ZO-SGD-Cons); no decay.</summary>
internal readonly struct CommitOffsetOp : IRuleOp
{
    public static bool TakesDecay => false;

    public static float Scalar(in RuleConstants k, float theta, float g, ref float s1, ref float s2) => theta + g;

    public static Vector<float> Vector(in RuleConstants k, Vector<float> theta, Vector<float> g, ref Vector<float> s1, ref Vector<float> s2) => theta + g;
}

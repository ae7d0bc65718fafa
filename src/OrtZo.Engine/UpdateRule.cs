namespace OrtZo.Engine;

/// <summary>The element-wise optimizer rule applied to the restored weight θ with the estimate ĝ.</summary>
internal enum UpdateRule : byte
{
    /// <summary>θ ← θ − η·(ĝ + λ·θ) with λ = 0 on tensors without decay (MeZO's rule).</summary>
    Sgd,
    /// <summary>θ ← θ − η·sign(ĝ) (ZO-SGD-Sign, element-wise sign).</summary>
    Sign,
    /// <summary>m ← β·m + ĝ; θ ← θ − η·m (ZO-SGD-MMT; torch SGD momentum, no dampening).</summary>
    Momentum,
    /// <summary>Adam moments on ĝ with bias correction, in torch's formulation.</summary>
    Adam,
    /// <summary>θ ← θ + fl32(s·z): commit a candidate move exactly as it was evaluated (ZO-SGD-Cons).</summary>
    CommitOffset,
}

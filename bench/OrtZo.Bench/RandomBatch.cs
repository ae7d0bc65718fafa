using OrtZo.Session;
using OrtZo.Engine;

namespace OrtZo.Bench;

/// <summary>A fixed batch of random tokens in a scoring session; its loss is the negative mean log-likelihood.</summary>
internal sealed class RandomBatch : IStepLosses
{
    private readonly ScoringSession _session;

    public RandomBatch(ZoModel model, int rows, int seq, int vocab)
    {
        Rows = rows;
        Seq = seq;
        _session = model.Session(rows, seq);
        var ids = _session.InputIds(rows, seq);
        var mask = _session.AttentionMask(rows, seq);
        var labels = _session.LabelMask(rows, seq);
        var rnd = new Random(1);
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = rnd.Next(3, vocab);
            mask[i] = 1;
            labels[i] = i % seq == 0 ? 0f : 1f;
        }
    }

    public int Rows { get; }
    public int Seq { get; }

    public void Forward() => _session.Run(Rows, Seq);

    public double Loss(long step, int probe)
    {
        _session.Run(Rows, Seq);
        double sum = 0;
        foreach (float v in _session.SumLogprob(Rows)) sum -= v;
        return sum / (Rows * (Seq - 1));
    }
}

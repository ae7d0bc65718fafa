using NUnit.Framework;

namespace OrtZo.Tests.Training;

/// <summary>Fine-tuning the shipped pretrained model on the demo task lowers dev loss and lifts accuracy, for both optimizers.</summary>
public class LearningTests
{
    private static string Split(string name) => Path.Combine(TestPaths.RepoRoot, "data", "story-feelings", name + ".jsonl");

    [TestCase("mezo", 1e-4)]
    [TestCase("sparse-mezo", 3e-4)]
    public void TrainingOnTheDemoTaskBeatsChanceWell(string optimizer, double lr)
    {
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        var train = TaskData.Load(Split("train"), "jsonl");
        var dev = TaskData.Load(Split("dev"), "jsonl").Take(100);
        var before = model.Evaluate(dev, 50);
        var options = new ZoOptions
        {
            Optimizer = optimizer == "mezo" ? ZoOptimizer.MeZO : ZoOptimizer.SparseMeZO,
            LearningRate = lr,
            Epsilon = 1e-3,
            BatchSize = 16,
            Seed = 1,
        };
        using (var trainer = new ZoTrainer(model, train, options))
            for (int i = 0; i < 150; i++) trainer.Step();
        var after = model.Evaluate(dev, 50);
        TestContext.Out.WriteLine($"{optimizer}: dev loss {before.Loss:F4} → {after.Loss:F4}, accuracy {before.Accuracy:P1} → {after.Accuracy:P1} after 150 steps");
        Assert.That(after.Loss, Is.LessThan(before.Loss - 0.1));
        Assert.That(after.Accuracy, Is.GreaterThanOrEqualTo(0.7), "well above the 50% of chance");
    }

    [Test]
    public void AccuracyAsTheObjectiveAlsoTrains()
    {
        // MeZO's non-differentiable objective: the two forwards measure −accuracy of the batch; only prediction
        // flips give a signal, so ε is larger than for the loss.
        using var model = ZoModel.Open(TestPaths.Stories260k, threads: 2);
        var train = TaskData.Load(Split("train"), "jsonl");
        var dev = TaskData.Load(Split("dev"), "jsonl").Take(100);
        var before = model.Evaluate(dev, 50);
        var options = new ZoOptions { Objective = ZoObjective.Accuracy, LearningRate = 1e-4, Epsilon = 1e-2, BatchSize = 16, Seed = 1 };
        int flat = 0;
        using (var trainer = new ZoTrainer(model, train, options))
            for (int i = 0; i < 100; i++)
            {
                var r = trainer.Step();
                Assert.That(r.Loss, Is.InRange(-1.0, 0.0), "the probe returns −accuracy");
                if (r.ProjectedGradient == 0) flat++;
            }
        var after = model.Evaluate(dev, 50);
        TestContext.Out.WriteLine($"accuracy objective: dev accuracy {before.Accuracy:P1} → {after.Accuracy:P1}; {flat} of 100 steps saw no prediction flip (g = 0)");
        Assert.That(flat, Is.GreaterThan(0).And.LessThan(100));
        Assert.That(after.Accuracy, Is.GreaterThan(before.Accuracy + 0.1));
    }
}

using NUnit.Framework;
using OrtZo.Tasks;

using OrtZo;
namespace OrtZo.Tests.Tasks;

/// <summary>MeZO's sample_subset / sample_train_sets on top of numpy's permutation, and TaskData's wrappers.</summary>
public class MezoSamplingTests
{
    [Test]
    public void SubsetIsThePermutationPrefix()
    {
        int[] permutation = new NumpyLegacyRandom(0).Permutation(872);
        Assert.That(MezoSampling.Subset(872, 100, 0), Is.EqualTo(permutation[..100]));
        Assert.That(MezoSampling.Subset(872, 1000, 0), Is.EqualTo(permutation), "num_eval 1000 > 872 takes all, shuffled");
    }

    [Test]
    public void DevIsTheLastPartOfTheDrawnTrainingSet()
    {
        int[] permutation = new NumpyLegacyRandom(0).Permutation(2490);
        (int[] train, int[] dev) = MezoSampling.TrainAndDev(2490, 1000, 500, 0);
        Assert.That(train, Is.EqualTo(permutation[..1000]));
        Assert.That(dev, Is.EqualTo(permutation[1000..1500]));
    }

    [Test]
    public void SmallTrainSplitStillGivesDevItsShare()
    {
        // COPA: 400 training examples, TRAIN 1000, DEV 100 → MeZO trains on 300 and keeps 100 for dev.
        int[] permutation = new NumpyLegacyRandom(0).Permutation(400);
        (int[] train, int[] dev) = MezoSampling.TrainAndDev(400, 1000, 100, 0);
        Assert.That(train, Is.EqualTo(permutation[..300]));
        Assert.That(dev, Is.EqualTo(permutation[300..]));
    }

    [Test]
    public void ZeroDevMeansNoDevSet()
    {
        (int[] train, int[] dev) = MezoSampling.TrainAndDev(50, 10, 0, 3);
        Assert.That(train, Is.EqualTo(MezoSampling.Subset(50, 10, 3)));
        Assert.That(dev, Is.Empty);
    }

    [Test]
    public void TaskDataSamplingPicksTheSameExamples()
    {
        TaskData pool = TaskData.Load(TaskFixtures.PathOf("multirc.jsonl"), "multirc");
        int[] permutation = new NumpyLegacyRandom(5).Permutation(pool.Count);
        TaskData sample = pool.Sample(6, seed: 5);
        Assert.That(sample.Count, Is.EqualTo(6));
        Assert.That(sample.Examples, Is.EqualTo(permutation[..6].Select(i => pool.Examples[i])));
        (TaskData train, TaskData dev) = pool.SampleTrainAndDev(10, 4, seed: 5);
        Assert.That(train.Examples, Is.EqualTo(permutation[..10].Select(i => pool.Examples[i])));
        Assert.That(dev.Examples, Is.EqualTo(permutation[10..14].Select(i => pool.Examples[i])));
        Assert.That((train.Task, dev.TrainAsClassification), Is.EqualTo(("multirc", true)));
    }

    [Test]
    public void NegativeSeedIsRejected()
    {
        TaskData pool = TaskData.Load(TaskFixtures.PathOf("copa.jsonl"), "copa");
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Sample(2, seed: -1));
    }
}

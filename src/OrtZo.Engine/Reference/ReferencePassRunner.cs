namespace OrtZo.Engine.Reference;

/// <summary>The scalar specification as a pass runner, so whole steps can run on the oracle.</summary>
internal sealed class ReferencePassRunner(WeightBuffers buffers) : IPassRunner
{
    public WeightBuffers Buffers { get; } = buffers;
    public void Run(IReadOnlyList<PassSegment> segments) => ScalarPassRunner.Run(Buffers, segments);
    public void DownloadState() { }
    public void UploadState() { }
    public void Dispose() => Buffers.Dispose();
}

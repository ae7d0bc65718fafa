using OrtZo.Onnx;
using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx.Model;

/// <summary>
/// Finds weights an export duplicated: the same bytes under two names (exporters that do not deduplicate tied
/// parameters), or one 2-D tensor stored a second time transposed (torch constant-folds <c>Transpose(wte)</c>
/// of a tied head into an anonymous initializer). Each tie must become one input, otherwise the engine would
/// perturb and update the two copies independently and untie them.
/// </summary>
internal static class TiedWeights
{
    internal sealed record Tie(string Kept, string Duplicate, bool Transposed);

    public static IReadOnlyList<Tie> Find(IReadOnlyList<WeightPromotion.Decision> promoted, OnnxModelFile source)
    {
        var ties = new List<Tie>();
        var representatives = new List<WeightPromotion.Decision>();
        foreach (var candidate in promoted)
        {
            if (TensorData.ExpectedByteLength(candidate.Tensor, source.FilePath) > int.MaxValue)
            {
                representatives.Add(candidate); // too large for one span; such tensors are not compared
                continue;
            }
            int size = OnnxElementType.SizeInBytes(candidate.Tensor.DataType);
            Tie? found = null;
            foreach (var rep in representatives)
            {
                if (rep.Tensor.DataType != candidate.Tensor.DataType
                    || TensorData.ExpectedByteLength(rep.Tensor, source.FilePath) > int.MaxValue) continue;
                if (rep.Tensor.Dims.SequenceEqual(candidate.Tensor.Dims))
                {
                    if (source.Span(rep.Tensor).SequenceEqual(source.Span(candidate.Tensor)))
                        found = new Tie(rep.Name, candidate.Name, false);
                }
                else if (rep.Tensor.Dims.Count == 2 && candidate.Tensor.Dims.Count == 2
                         && rep.Tensor.Dims[0] == candidate.Tensor.Dims[1] && rep.Tensor.Dims[1] == candidate.Tensor.Dims[0]
                         && IsTranspose(source.Span(rep.Tensor), source.Span(candidate.Tensor), (int)rep.Tensor.Dims[0], (int)rep.Tensor.Dims[1], size))
                {
                    found = new Tie(rep.Name, candidate.Name, true);
                }
                if (found is not null) break;
            }
            // Checked only once the bytes matched: reading every weight twice would double an import's I/O.
            if (found is not null && !IsUniform(source.Span(candidate.Tensor), size)) ties.Add(found);
            else representatives.Add(candidate);
        }
        return ties;
    }

    /// <summary>All elements equal: element i equals element i+1 for every i, i.e. the bytes equal themselves shifted by one element.</summary>
    private static bool IsUniform(ReadOnlySpan<byte> bytes, int elementSize) =>
        bytes.Length <= elementSize || bytes[elementSize..].SequenceEqual(bytes[..^elementSize]);

    /// <summary>Whether <paramref name="b"/> [cols, rows] is the transpose of <paramref name="a"/> [rows, cols]; stops at the first difference.</summary>
    private static bool IsTranspose(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int rows, int cols, int elementSize)
    {
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                var x = a.Slice((r * cols + c) * elementSize, elementSize);
                var y = b.Slice((c * rows + r) * elementSize, elementSize);
                if (!x.SequenceEqual(y)) return false;
            }
        }
        return true;
    }
}

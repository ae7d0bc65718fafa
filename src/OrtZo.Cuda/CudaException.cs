namespace OrtZo.Cuda;

/// <summary>A CUDA driver call failed: names the call, the CUresult and the driver's own name and text for it.</summary>
internal sealed class CudaException : Exception
{
    internal CudaException(string call, int result, string errorName, string description)
        : base($"CUDA driver call {call} failed: {errorName} ({result}): {description}")
    {
        Call = call;
        Result = result;
        ErrorName = errorName;
    }

    /// <summary>The driver entry point that failed, e.g. <c>cuMemAlloc_v2</c>.</summary>
    public string Call { get; }

    /// <summary>The CUresult it returned.</summary>
    public int Result { get; }

    /// <summary>The CUresult's enumerator name, e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>.</summary>
    public string ErrorName { get; }
}

/// <summary>The CUDA driver cannot be used on this machine at all (no libcuda.so.1, or no device).</summary>
internal sealed class CudaUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

using OrtZo.Onnx.Proto;

namespace OrtZo.Onnx;

internal static class ModelOpset
{
    /// <summary>The version of the default ("" or "ai.onnx") operator set the model imports, or 0 if none.</summary>
    public static int Default(ModelProto model)
    {
        foreach (var o in model.OpsetImport)
            if (string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx") return (int)o.Version;
        return 0;
    }
}

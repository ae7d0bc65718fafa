namespace OrtZo.WeightStore;
internal static class Placeholder { }

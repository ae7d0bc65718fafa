namespace OrtZo.WeightStore;

/// <summary>
/// Named blocks of slab tensors (e.g. "embeddings", "layers.0", ..., "head") in a fixed order: the unit of
/// block-wise schedules and per-layer statistics.
/// </summary>
internal sealed class ParameterGroups
{
    private readonly Dictionary<string, int[]> _slotsByGroup;

    public ParameterGroups(SlabLayout layout, IReadOnlyList<string> groupOrder, Func<SlabSlot, string> groupOf)
    {
        var bySlot = new string[layout.Slots.Count];
        var lists = groupOrder.ToDictionary(g => g, _ => new List<int>(), StringComparer.Ordinal);
        foreach (var slot in layout.Slots)
        {
            string g = groupOf(slot);
            if (!lists.TryGetValue(g, out var list))
                throw new ArgumentException($"tensor '{slot.Spec.Name}' names group '{g}', which is not among [{string.Join(", ", groupOrder)}]");
            list.Add(slot.Index);
            bySlot[slot.Index] = g;
        }
        Names = groupOrder.ToArray();
        _slotsByGroup = lists.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
        GroupOfSlot = bySlot;
    }

    /// <summary>Group names in order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Group name of each slab slot.</summary>
    public IReadOnlyList<string> GroupOfSlot { get; }

    public IReadOnlyList<int> SlotsOf(string group) =>
        _slotsByGroup.TryGetValue(group, out var s) ? s : throw new KeyNotFoundException($"no parameter group '{group}'");
}

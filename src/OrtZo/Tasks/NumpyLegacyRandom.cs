namespace OrtZo.Tasks;

/// <summary>
/// numpy's legacy global generator, exactly as far as MeZO uses it to pick examples:
/// <c>np.random.seed(seed); np.random.permutation(n)</c>. That is MT19937 seeded with the reference
/// <c>init_genrand</c> (numpy's <c>mt19937_seed</c>), and <c>RandomState.shuffle</c>'s Fisher–Yates pass
/// from the last element down, each index drawn by <c>random_interval</c>: 32-bit draws masked to the
/// smallest all-ones mask covering the bound, rejected while above it. Checked against numpy 1.24 in
/// NumpyLegacyRandomTests (golden values made by Fixtures/tasks/make_numpy_golden.py).
/// </summary>
internal sealed class NumpyLegacyRandom
{
    private const int StateLength = 624;
    private const int ShiftSize = 397;
    private const uint MatrixA = 0x9908b0df;
    private const uint UpperMask = 0x80000000;
    private const uint LowerMask = 0x7fffffff;

    private readonly uint[] _state = new uint[StateLength];
    private int _position;

    /// <summary><c>np.random.seed(seed)</c> for an integer seed (numpy accepts 0..2^32−1).</summary>
    public NumpyLegacyRandom(uint seed)
    {
        _state[0] = seed;
        for (int i = 1; i < StateLength; i++)
        {
            uint previous = _state[i - 1];
            _state[i] = unchecked(1812433253u * (previous ^ (previous >> 30)) + (uint)i);
        }
        // The first draw regenerates the whole state, as numpy's seeding leaves pos = 624.
        _position = StateLength;
    }

    /// <summary>The next raw 32-bit output (numpy's <c>next_uint32</c> for MT19937).</summary>
    public uint NextUInt32()
    {
        if (_position == StateLength)
        {
            Regenerate();
        }
        uint y = _state[_position++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >> 18;
        return y;
    }

    /// <summary>numpy's <c>random_interval(max)</c>: uniform on 0..max inclusive, by masked rejection.</summary>
    public uint Interval(uint max)
    {
        if (max == 0)
        {
            return 0;
        }
        uint mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        uint value;
        do
        {
            value = NextUInt32() & mask;
        }
        while (value > max);
        return value;
    }

    /// <summary><c>np.random.permutation(n)</c>: <c>arange(n)</c> shuffled in place by <c>RandomState.shuffle</c>.</summary>
    public int[] Permutation(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var values = new int[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = i;
        }
        for (int i = n - 1; i >= 1; i--)
        {
            int j = (int)Interval((uint)i);
            (values[i], values[j]) = (values[j], values[i]);
        }
        return values;
    }

    private void Regenerate()
    {
        for (int i = 0; i < StateLength; i++)
        {
            uint y = (_state[i] & UpperMask) | (_state[(i + 1) % StateLength] & LowerMask);
            uint mixed = (y >> 1) ^ ((y & 1) == 0 ? 0 : MatrixA);
            _state[i] = _state[(i + ShiftSize) % StateLength] ^ mixed;
        }
        _position = 0;
    }
}

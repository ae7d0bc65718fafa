"""Makes numpy_golden.json: what numpy's legacy RandomState does under MeZO's sampling, for
NumpyLegacyRandom's tests. Not a test dependency: run by hand with Debian's python3-numpy (1.24) and commit
the output.

    /usr/bin/python3 make_numpy_golden.py

MeZO (large_models/tasks.py, sample_subset) draws `np.random.permutation(len(samples))` right after
`np.random.seed(seed)`; np.random.seed on the global RandomState is RandomState's legacy seeding.
"""
import hashlib
import json
import pathlib

import numpy as np

# (seed, n): SST-2 validation 872, RTE train 2490, SST-2 train 67349, BoolQ val 3270, COPA train 400,
# RTE val 277, MultiRC train answers 27243, plus edge cases (n = 0, 1, 2; the largest 32-bit seed).
CASES = [(0, 0), (0, 1), (0, 2), (0, 10), (0, 872), (0, 2490), (0, 67349), (42, 872), (13, 2490),
         (100, 67349), (87, 3270), (21, 400), (0, 277), (1, 27243), (4294967295, 1000), (123456789, 65537)]


def permutation_case(seed, n):
    np.random.seed(seed)
    perm = np.random.permutation(n).astype("<i8")
    return {
        "seed": seed,
        "n": n,
        "first": perm[:50].tolist(),
        "last": perm[-50:].tolist() if n else [],
        "sha256_int64_le": hashlib.sha256(perm.tobytes()).hexdigest(),
    }


def raw_case(seed):
    return {"seed": seed, "uint32": [int(x) for x in np.random.RandomState(seed)._bit_generator.random_raw(700)[[0, 1, 2, 623, 624, 699]]]}


golden = {
    "numpy": np.__version__,
    "raw_outputs_at": [0, 1, 2, 623, 624, 699],
    "raw": [raw_case(s) for s in (0, 5489, 42, 4294967295)],
    "permutations": [permutation_case(s, n) for s, n in CASES],
}
out = pathlib.Path(__file__).parent / "numpy_golden.json"
compact = lambda value: json.dumps(value, separators=(",", ":"))
text = ('{\n "numpy": ' + compact(golden["numpy"]) + ',\n "raw_outputs_at": ' + compact(golden["raw_outputs_at"])
        + ',\n "raw": [\n' + ",\n".join("  " + compact(r) for r in golden["raw"])
        + '\n ],\n "permutations": [\n' + ",\n".join("  " + compact(p) for p in golden["permutations"]) + "\n ]\n}\n")
assert json.loads(text) == golden
out.write_text(text, encoding="utf-8")
print(f"numpy {np.__version__}: {len(CASES)} permutations")

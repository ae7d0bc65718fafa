#!/usr/bin/env bash
# The staged check of tools/export/export.py against real transformers, which only the GPU machine has (this
# machine has torch 1.13 and onnx but no transformers). Nothing here runs the GPU machine by itself: a session with
# the device tool makes the `run` call printed by `device-command`, then uses `unpack`, then adds the C# test that
# `describe-test` prints.
#
#   bash tools/export/device_check.sh device-command      # the run call: kind, carry list, command line, timeout
#   bash tools/export/device_check.sh unpack <dir|tar.gz> # check the returned files, unpack them into
#                                                         #   tests/OrtZo.Tests/Fixtures/families/
#   bash tools/export/device_check.sh describe-test       # the C# test to add beside TorchFixtureImportTests
#   bash tools/export/device_check.sh test                # dotnet test of that test, once it exists
#   bash tools/export/device_check.sh selftest            # what can run here: torch/onnx-only checks of export.py
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fixtures="${ORTZO_FAMILIES_DIR:-$root/tests/OrtZo.Tests/Fixtures/families}"   # override only to try unpack elsewhere

device_command() {
    cat <<'EOF'
# One call of the device tool's `run` (no staging of .gpu/p1..p4 is needed: it runs Python only, no dotnet).
#   kind:      any (nvidia-h100-x1 or nvidia-h200; the GPU is used only for the fp16 case's trace)
#   carry:     []   (tools/export/*.py travel with the working tree; nothing ignored is needed)
#   timeout_s: 600  (expect 2-5 minutes: 9 exports of 2-layer models, each in its own python process)
#   command:
set -o pipefail; w=/tmp/ortzo-families; rm -rf "$w"; python3 tools/export/verify_families.py "$w" 2>&1 | tee "$OUT/verify.log"; rc=${PIPESTATUS[0]}; cp "$w/families.tar.gz" "$w/summary.json" "$OUT/" 2>/dev/null; exit $rc
#
# Three files come back (under the reply's files_at): families.tar.gz, summary.json, verify.log.
# rc 0: every case exported and (where onnxruntime or onnx's reference evaluator exists there) scored within its
# tolerance in Python; rc 1: some case failed, summary.json says which and why (the tarball holds the others).
# Then, here:  bash tools/export/device_check.sh unpack <files_at>
EOF
}

unpack() {
    local given=${1:?usage: device_check.sh unpack <files_at folder or families.tar.gz>}
    local tarball=$given summary=""
    if [ -d "$given" ]; then
        tarball="$given/families.tar.gz"
        [ -f "$given/summary.json" ] && summary="$given/summary.json"
    fi
    [ -f "$tarball" ] || { echo "error: $tarball: missing; expected the families.tar.gz the device run returned" >&2; exit 2; }
    unpack_work=$(mktemp -d)
    trap 'rm -rf "$unpack_work"' EXIT
    local work=$unpack_work
    tar -xzf "$tarball" -C "$work"
    [ -d "$work/families" ] || { echo "error: $tarball: no families/ folder inside" >&2; exit 2; }
    [ -n "$summary" ] || summary="$work/families/summary.json"
    /usr/bin/python3 - "$work/families" "$summary" <<'PY'
import json, os, sys
folder, summary_path = sys.argv[1], sys.argv[2]
summary = json.load(open(summary_path))
print("versions on the device:", summary.get("versions"))
bad = []
for case, result in summary["cases"].items():
    check = result.get("python_check", {})
    print(f"  {case:20s} {result['status']:16s} python check: {check.get('status')} "
          f"{check.get('max_abs_diff_of_row_sums', '')} {check.get('runtime', check.get('reason', ''))}")
    if result["status"] != "ok":
        bad.append(case)
for case in sorted(os.listdir(folder)):
    path = os.path.join(folder, case)
    if not os.path.isdir(path) or case == "logs":
        continue
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path) if f.startswith("model.onnx"))
    if size > 1_200_000:
        print(f"error: {case}: model.onnx (+ data) is {size} bytes; fixtures should stay near 1 MB", file=sys.stderr)
        sys.exit(2)
    if not os.path.isfile(os.path.join(path, "oracle.json")):
        print(f"error: {case}: no oracle.json", file=sys.stderr)
        sys.exit(2)
if bad:
    print(f"note: cases {bad} failed on the device; only the others are unpacked (see logs/ and summary.json)")
PY
    # Cases that failed have no folder in the tarball; logs and summary travel along for the record.
    rm -rf "$fixtures"
    mkdir -p "$(dirname "$fixtures")"
    mv "$work/families" "$fixtures"
    echo "unpacked into $fixtures:"
    ls "$fixtures"
    echo "next: add the test (bash tools/export/device_check.sh describe-test), then bash tools/export/device_check.sh test"
}

describe_test() {
    cat <<'EOF'
C# test to add: tests/OrtZo.Tests/Onnx/HfFamilyImportTests.cs (NUnit, namespace OrtZo.Tests.Onnx), modelled on
TorchFixtureImportTests. Fixtures: tests/OrtZo.Tests/Fixtures/families/<case>/ (copied to the output folder by the
existing <None Include="Fixtures/**"> item), each holding export.py's output (model.onnx [+ model.onnx.data],
tokenizer files, config.json, tokenizer_config.json, hf_export.json) and oracle.json.

Cases: [TestCaseSource] over the sub-folders of Path.Combine(AppContext.BaseDirectory, "Fixtures", "families") that
hold an oracle.json, ordered by name (expected: gpt2, gpt2_with_past, llama, llama_external, llama_fp16, mistral,
mistral_with_past, opt, qwen2). A separate [Test] asserts that the folder exists and holds at least the five plain
family cases, so a lost fixture fails loudly instead of yielding no cases.

For each case (oracle = oracle.json; family = oracle["family"]; tolerance = oracle["tolerance"], 1e-4 except
llama_fp16):
 1. Import: using var folder = new TempFolder("hf-" + case);
    var report = CausalLmImporter.Import(caseDir, folder.File("imported"),
        new ImportOptions { Verify = case == "llama_fp16" ? ImportVerification.Session : ImportVerification.Forward });
    (the folder is the source: the importer picks model.onnx and copies the tokenizer and config files.)
 2. Manifest:
    - manifest.Architecture == family; manifest.VocabSize == 320; manifest.MaxLength == 64 (config.json).
    - manifest.Groups == ["embeddings", "layers.0", "layers.1", "head"].
    - Tokenizer: Kind "byte-bpe" for gpt2/opt/qwen2, "sentencepiece" for llama/mistral;
      TextTokenizer.Open(report.OutputFolder, manifest.Tokenizer) succeeds and its VocabSize <= 320; qwen2's
      tokenizer came from tokenizer.json alone (export.py wrote vocab.json + merges.txt), so this also checks the
      extraction.
    - Tied head (oracle["tie_word_embeddings"] true: gpt2*, opt, qwen2): exactly one weight has Aliases, it has
      Role Embedding and one alias (torch's transposed copy, named "<embedding name>.T"); no weight has Role LmHead.
      Untied (llama*, mistral*): exactly one weight with Role LmHead ("lm_head.weight.T", shape [64, 320]) and no
      weight has Aliases.
    - Rotary (llama*, mistral*, qwen2): no weight input's name contains "inv_freq"; report.KeptInitializers has an
      entry whose name contains "inv_freq" with reason "rotary cache (by name)".
    - qwen2: Role Bias for model.layers.{0,1}.self_attn.{q,k,v}_proj.bias (six weights); no o_proj bias exists.
    - opt: one weight with Role PositionEmbedding of shape [66, 64] (64 positions + OPT's offset of 2);
      gpt2: one with Role PositionEmbedding of shape [64, 64].
    - *_with_past: report.RemovedCacheValues holds past_key_values.{0,1}.{key,value} and present.{0,1}.{key,value}
      (8 names); manifest.Inputs.PositionIds == "position_ids".
    - llama_external: File.Exists(caseDir/model.onnx.data) (the source used external data); the import succeeded.
    - llama_fp16: every manifest weight has Dtype "f16".
 3. Scores, exactly as TorchFixtureImportTests.Scores_MatchTorchsOwnLogprobs:
    using var runner = ImportedModelRunner.Open(report.OutputFolder);
    for each oracle batch: ids [rows][seq], mask [rows][seq] (int64); labels = mask with column 0 set to 0;
    scores = runner.Score(ids.Flatten(), rows, seq, mask.Flatten(), labels);
    per row b: scored = { t in 1..seq-1 : mask[b][t] == 1 }; sum = Σ token_logprobs[b][t] over scored (the oracle
    stores transformers' float32 logits through float64 log_softmax); mean = sum / max(|scored|, 1);
    Assert |scores.SumLogprob[b] - sum| <= tolerance and |scores.MeanLogprob[b] - mean| <= tolerance
    ("sum of row b of case X"); count the rows: 5 per case (batch 1: 2 x 12 full; batch 2: 3 x 8 with 5, 8 and 2
    real tokens). Write the largest |OrtZo - transformers| of each case to TestContext.Out.
    llama_fp16 only: if runner.Score throws an OnnxRuntimeException whose message says NOT_IMPLEMENTED (ORT's CPU
    EP has no fp16 kernel for some op), Assert.Ignore with that message; otherwise compare with tolerance 0.25
    (the oracle is the float32 model's).
EOF
}

case "${1:-}" in
    device-command) device_command ;;
    unpack) shift; unpack "$@" ;;
    describe-test) describe_test ;;
    test) cd "$root" && dotnet test -c Release --filter "FullyQualifiedName~HfFamilyImportTests" ;;
    selftest) cd "$root" && /usr/bin/python3 tools/export/selftest_export.py ;;
    *) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

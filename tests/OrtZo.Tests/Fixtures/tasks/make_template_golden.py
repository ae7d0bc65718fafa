"""Makes mezo_templates_golden.json: MeZO's own templates applied to the fixture lines, for TaskLoaderTests.
Not a test dependency: run by hand with the path of MeZO's large_models/templates.py (princeton-nlp/MeZO at
552cb1b), and commit the output.

    /usr/bin/python3 make_template_golden.py /path/to/MeZO/large_models/templates.py

Each fixture line becomes the `Sample` MeZO's tasks.py builds from the Hugging Face dataset row (Hugging Face
stores SuperGLUE labels as class indices in the order of its label names, WiC/MultiRC booleans as 0/1, and
boolq's answer as a boolean; MultiRC is one row per answer). For each example the file holds
template.encode(sample), template.verbalize(sample, c) for every candidate, and the gold index as run.py finds
it (candidates.index(correct_candidate)).
"""
import csv
import importlib.util
import json
import pathlib
import sys
from dataclasses import dataclass

spec = importlib.util.spec_from_file_location("mezo_templates", sys.argv[1])
templates = importlib.util.module_from_spec(spec)
spec.loader.exec_module(templates)


@dataclass
class Sample:
    data: dict
    candidates: list
    correct_candidate: object


here = pathlib.Path(__file__).parent


def jsonl(name):
    return [json.loads(line) for line in (here / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def tsv(name):
    with open(here / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def index_of(names, value):
    return names.index(value) if isinstance(value, str) else int(value)


def samples(task, file):
    rows = tsv(file) if file.endswith(".tsv") else jsonl(file)
    if task == "sst2":
        return [Sample({"sentence": r["sentence"]}, [0, 1], int(r["label"])) for r in rows]
    if task == "rte":
        names = ["entailment", "not_entailment"]
        return [Sample({"premise": r.get("premise", r.get("sentence1")), "hypothesis": r.get("hypothesis", r.get("sentence2"))},
                       [0, 1], index_of(names, r["label"])) for r in rows]
    if task == "cb":
        names = ["entailment", "contradiction", "neutral"]
        return [Sample(r, [0, 1, 2], index_of(names, r["label"])) for r in rows]
    if task == "wic":
        return [Sample(r, [0, 1], int(r["label"])) for r in rows]
    if task == "boolq":
        return [Sample(r, ["Yes", "No"], "Yes" if r["label"] else "No") for r in rows]
    if task == "copa":
        return [Sample(r, [r["choice1"], r["choice2"]], r[f"choice{r['label'] + 1}"]) for r in rows]
    if task == "multirc":
        out = []
        for r in rows:
            for q in r["passage"]["questions"]:
                for a in q["answers"]:
                    data = {"paragraph": r["passage"]["text"], "question": q["question"], "answer": a["text"]}
                    out.append(Sample(data, [0, 1], int(bool(a["label"]))))
        return out
    raise ValueError(task)


TEMPLATES = {"sst2": templates.SST2Template, "rte": templates.RTETemplate, "cb": templates.CBTemplate,
             "wic": templates.WICTemplate, "boolq": templates.BoolQTemplateV3, "copa": templates.CopaTemplate,
             "multirc": templates.MultiRCTemplate}
FILES = [("sst2", "sst2_kshot.tsv"), ("sst2", "sst2.jsonl"), ("rte", "rte_kshot.tsv"), ("rte", "rte.jsonl"),
         ("boolq", "boolq.jsonl"), ("wic", "wic.jsonl"), ("multirc", "multirc.jsonl"), ("cb", "cb.jsonl"),
         ("copa", "copa.jsonl")]

golden = []
for task, file in FILES:
    template = TEMPLATES[task]()
    for s in samples(task, file):
        golden.append({"task": task, "file": file, "encode": template.encode(s),
                       "verbalize": [template.verbalize(s, c) for c in s.candidates],
                       "gold": s.candidates.index(s.correct_candidate)})
text = "[\n" + ",\n".join(" " + json.dumps(g, ensure_ascii=False) for g in golden) + "\n]\n"
(here / "mezo_templates_golden.json").write_text(text, encoding="utf-8")
print(f"{len(golden)} examples")

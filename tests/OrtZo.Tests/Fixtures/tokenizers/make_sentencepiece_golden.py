"""Makes the SentencePiece golden ids for the llama2.c tokenizer conversion. Not a test dependency: run it by
hand with Debian's python3-sentencepiece (0.1.97) when golden_texts.json or the converter changes, and commit
what it writes.

    /usr/bin/python3 make_sentencepiece_golden.py

stories260k/tokenizer.model is what Llama2cTokenizerConverter writes for stories260k/tokenizer.bin (the test
checks it still writes exactly these bytes); here Google's own SentencePiece encodes the golden texts with it.
"""
import json
import pathlib

import sentencepiece

here = pathlib.Path(__file__).parent
processor = sentencepiece.SentencePieceProcessor(model_file=str(here / "stories260k" / "tokenizer.model"))
texts = json.loads((here / "golden_texts.json").read_text(encoding="utf-8"))
rows = [{"text": text, "ids": processor.encode(text)} for text in texts]
for row in rows:
    assert processor.decode(row["ids"]) == row["text"], row  # SentencePiece round-trips these exactly
lines = ",\n".join(" " + json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in rows)
(here / "sentencepiece_golden.json").write_text("[\n" + lines + "\n]\n", encoding="utf-8")
print(f"{len(rows)} texts, sentencepiece {sentencepiece.__version__}")

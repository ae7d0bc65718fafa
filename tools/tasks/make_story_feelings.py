#!/usr/bin/env python3
"""Builds the default demo task: "story feelings", a two-way choice in the TinyStories register.

Each example is a two-sentence story in which something good or bad happens to a child, followed by
"<Name> felt"; the candidates are " happy" and " sad", and the label follows from the event. The events
are written by hand (below), so the labels are right by construction; names, objects and places vary.
Output: JSONL in OrtZo's generic task format ({"prompt", "candidates", "label"}), split train/dev/test
with a fixed seed. Deterministic: the same command always writes the same files.

    python3 tools/tasks/make_story_feelings.py data/story-feelings
"""
import json
import random
import sys
from pathlib import Path

NAMES = [("Lily", "she"), ("Ben", "he"), ("Tom", "he"), ("Sue", "she"), ("Max", "he"), ("Mia", "she"),
         ("Sam", "he"), ("Anna", "she"), ("Tim", "he"), ("Lucy", "she"), ("Jack", "he"), ("Emma", "she"),
         ("Leo", "he"), ("Zoe", "she"), ("Bob", "he"), ("Amy", "she")]
THINGS = ["ball", "doll", "kite", "teddy bear", "toy car", "red hat", "book", "puppy", "kitten", "balloon",
          "boat", "cake", "drum", "bike", "blue cup", "shiny rock"]
PLACES = ["park", "garden", "beach", "house", "school", "forest", "yard", "shop"]
GOOD = [
    "{Name} found a {thing} in the {place}.",
    "Mom gave {name_obj} a new {thing}.",
    "{Name} won a big {thing} at the {place}.",
    "{Name} and a friend played with a {thing} all day.",
    "Dad took {name_obj} to the {place} to get a {thing}.",
    "{Name} got a {thing} for {pos} birthday.",
    "A kind girl shared her {thing} with {name_obj}.",
    "{Name} fixed the broken {thing} and it worked again.",
]
BAD = [
    "{Name} lost {pos} {thing} in the {place}.",
    "{Name}'s {thing} broke into many pieces.",
    "A big dog took {pos} {thing} and ran away.",
    "{Name} dropped {pos} {thing} in the mud at the {place}.",
    "Nobody wanted to play with {name_obj} at the {place}.",
    "The rain washed {pos} {thing} away.",
    "{Name} fell down at the {place} and hurt {pos} knee.",
    "A mean boy threw {pos} {thing} into the river.",
]
OPENERS = ["One day, {Name} went to the {place}.", "It was a sunny day.", "{Name} was playing outside.",
           "Once upon a time, there was a child named {Name}.", "{Name} woke up early."]


def example(rng):
    name, pronoun = rng.choice(NAMES)
    obj = "her" if pronoun == "she" else "him"
    pos = "her" if pronoun == "she" else "his"
    label = rng.randrange(2)  # 0 = happy, 1 = sad
    event = rng.choice(GOOD if label == 0 else BAD)
    fill = dict(Name=name, name_obj=obj, pos=pos, thing=rng.choice(THINGS), place=rng.choice(PLACES))
    opener = rng.choice(OPENERS).format(**fill)
    story = f"{opener} {event.format(**fill)}"
    story = story[0].upper() + story[1:]
    return {"prompt": f"{story} {name} felt", "candidates": [" happy", " sad"], "label": label}


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "data/story-feelings")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261123)
    seen, examples = set(), []
    while len(examples) < 1700:
        e = example(rng)
        if e["prompt"] not in seen:
            seen.add(e["prompt"])
            examples.append(e)
    splits = {"train": examples[:1000], "dev": examples[1000:1200], "test": examples[1200:1700]}
    for name, rows in splits.items():
        with open(out / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{out / (name + '.jsonl')}: {len(rows)} examples, {sum(r['label'] for r in rows)} sad")


if __name__ == "__main__":
    main()

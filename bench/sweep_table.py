#!/usr/bin/env python3
"""`ortzo sweep` against a full learning-rate grid: test accuracy of the chosen rate and the forwards each spent.

For each task (the demo task and data/spam-assassin), optimizer (MeZO, Sparse-MeZO) and seed (0, 1, 2):
  grid   7 train runs at log-spaced rates over the optimizer's range, STEPS steps each, batch 16; the rate with
         the lowest best dev loss is the grid's choice and its best-by-dev model's test accuracy is reported
         (also the best test accuracy any grid point reached, an oracle no one can pick without the test set);
  sweep  one `ortzo sweep` over the same range as a log range with --budget = 1/3 of the grid's training forwards
         (successive halving, eta 3, its default 3 rates per decade: the grid's 7 rates, with the longest rungs the
         budget pays for), the winner's best-by-dev model tested.
Both evaluate dev every EVAL steps (the sweep also at every rung's end). Runs go task by task, seed by seed within
a task, so a table cut short still compares whole (task, optimizer, seed) cells; finished runs and sweeps are reused
when the script is restarted.

    python3 bench/sweep_table.py [--steps 200] [--threads 1] [--tasks demo,spam] [--out bench/results/sweep-table]
        [--previous old.json]     keep old.json's cells whole
        [--reuse-grid old.json]   keep old.json's grid runs, run the sweeps again (runs are deterministic: a grid run
                                  repeated with the same build settings gives the same numbers)
    ORTZO="dotnet /path/OrtZo.Cli.dll" pins a build (default: ./ortzo)

Spam uses the first 200 dev and 500 test examples of data/spam-assassin (its e-mails are long; the whole 500/1000
would multiply the evaluation time); the demo task uses its whole dev (200) and test (500) files.
"""
import argparse, json, math, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RANGES = {"mezo": (1e-5, 1e-3), "sparse-mezo": (3e-5, 3e-3)}
GRID_POINTS = 7


def grid(optimizer):
    lo, hi = RANGES[optimizer]
    return [float(f"{math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * i / (GRID_POINTS - 1)):.3g}") for i in range(GRID_POINTS)]


def task_files(task, work):
    if task == "demo":
        d = os.path.join(ROOT, "data", "story-feelings")
        return os.path.join(d, "train.jsonl"), os.path.join(d, "dev.jsonl"), os.path.join(d, "test.jsonl")
    d = os.path.join(ROOT, "data", "spam-assassin")
    os.makedirs(work, exist_ok=True)
    out = []
    for split, n in (("dev", 200), ("test", 500)):
        path = os.path.join(work, f"spam-{split}-{n}.jsonl")
        if not os.path.exists(path):
            with open(os.path.join(d, f"{split}.jsonl")) as f:
                lines = f.readlines()[:n]
            with open(path + f".{os.getpid()}.tmp", "w") as f:   # two scripts may share --work
                f.writelines(lines)
            os.replace(path + f".{os.getpid()}.tmp", path)
        out.append(path)
    return os.path.join(d, "train.jsonl"), out[0], out[1]


def cli():
    return os.environ.get("ORTZO", os.path.join(ROOT, "ortzo")).split()


def common(task, optimizer, seed, a, work):
    train, dev, test = task_files(task, work)
    return ["--model", os.path.join(ROOT, "models", "stories260k"), "--data", train, "--dev", dev, "--test", test,
            "--task", "jsonl", "--optimizer", optimizer, "--steps", str(a.steps), "--batch", "16", "--eps", "1e-3",
            "--eval-every", str(a.eval_every), "--seed", str(seed), "--threads", str(a.threads), "--log-every", "1"]


def dev_evaluations(run):
    with open(os.path.join(run, "metrics.jsonl")) as f:
        return sum(1 for line in f if '"dev_loss"' in line)


def grid_run(task, optimizer, lr, seed, a, work):
    out = os.path.join(work, f"{task}-{optimizer}-seed{seed}", f"grid-lr{lr:g}")
    summary = os.path.join(out, "summary.json")
    if not os.path.exists(summary):
        start = time.time()
        subprocess.run(cli() + ["train"] + common(task, optimizer, seed, a, work) + ["--lr", f"{lr:g}", "--out", out],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "wall.json"), "w") as f:
            json.dump({"wall_seconds": time.time() - start}, f)
    with open(summary) as f:
        s = json.load(f)
    with open(os.path.join(out, "wall.json")) as f:
        s.update(json.load(f))
    s["lr"] = lr
    s["dev_evaluations"] = dev_evaluations(out)
    return s


def sweep_run(task, optimizer, seed, a, work, grid_forwards):
    out = os.path.join(work, f"{task}-{optimizer}-seed{seed}", "sweep")
    state_path = os.path.join(out, "sweep.json")
    done = os.path.exists(state_path) and json.load(open(state_path)).get("winner") and os.path.exists(os.path.join(out, "sweep.md"))
    if not done:
        lo, hi = RANGES[optimizer]
        args = cli() + ["sweep"] + common(task, optimizer, seed, a, work) + [
            "--lr", f"{lo:g}:{hi:g}", "--budget", str(grid_forwards // 3), "--eta", "3", "--out", out]
        if os.path.exists(state_path):
            args.append("--resume")
        start = time.time()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "wall.json"), "w") as f:
            json.dump({"wall_seconds": time.time() - start}, f)
    with open(state_path) as f:
        state = json.load(f)
    wall = os.path.join(out, "wall.json")
    state["wall_seconds"] = json.load(open(wall))["wall_seconds"] if os.path.exists(wall) else None
    winner = next(t for t in state["trials"] if t["name"] == state["winner"])
    state["lr"] = winner["lr"]
    state["dev_evaluations"] = sum(dev_evaluations(os.path.join(out, "trials", t["name"])) for t in state["trials"]
                                   if os.path.exists(os.path.join(out, "trials", t["name"], "metrics.jsonl")))
    state["folder"] = out
    return state


def fmt(xs):
    return f"{statistics.mean(xs):.1f} ± {statistics.stdev(xs):.1f}" if len(xs) > 1 else f"{xs[0]:.1f}"


def write(a, cells):
    rows, header = [], [
        f"stories260k, {a.steps} steps, batch 16, ε 1e-3, dev every {a.eval_every} steps, --threads {a.threads}. "
        f"Grid: {GRID_POINTS} log-spaced rates, the lowest best dev loss chosen; sweep: `ortzo sweep` over the same range, "
        "--budget = grid forwards / 3, η 3, 3 rates per decade. Test accuracy (%) of the best-by-dev model; forwards = training forwards "
        "(dev evaluations counted separately, in passes over the dev set).", "",
        "| task | optimizer | seeds | grid lr (per seed) | grid test acc | grid oracle best | sweep lr (per seed) | sweep test acc | "
        "Δ (sweep − grid) | sweep took the grid's rate | training forwards grid / sweep | dev passes grid / sweep | minutes grid / sweep |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (task, optimizer), seeds in cells.items():
        if not seeds:
            continue
        g = [100 * s["grid_choice"]["test_accuracy"] for s in seeds]
        o = [100 * s["grid_oracle"] for s in seeds]
        w = [100 * s["sweep"]["winner_test_accuracy"] for s in seeds]
        gf = statistics.mean(s["grid_forwards"] for s in seeds)
        sf = statistics.mean(s["sweep"]["total_forwards"] for s in seeds)
        gd = statistics.mean(s["grid_dev_evaluations"] for s in seeds)
        sd = statistics.mean(s["sweep"]["dev_evaluations"] for s in seeds)
        gm = statistics.mean(s["grid_seconds"] for s in seeds) / 60
        sm = statistics.mean(s["sweep"]["wall_seconds"] or 0 for s in seeds) / 60
        same = sum(1 for s in seeds if math.isclose(s["sweep"]["lr"], s["grid_choice"]["lr"], rel_tol=1e-6))
        rows.append(f"| {task} | {optimizer} | {', '.join(str(s['seed']) for s in seeds)} | "
                    f"{' / '.join(format(s['grid_choice']['lr'], '.3g') for s in seeds)} | {fmt(g)} | {fmt(o)} | "
                    f"{' / '.join(format(s['sweep']['lr'], '.3g') for s in seeds)} | {fmt(w)} | "
                    f"{statistics.mean(w) - statistics.mean(g):+.1f} | {same} of {len(seeds)} | {gf:.0f} / {sf:.0f} ({sf / gf:.2f}) | {gd:.0f} / {sd:.0f} | {gm:.1f} / {sm:.1f} |")
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    for ext, text in ((".md", "\n".join(header + rows) + "\n"), (".json", json.dumps(
            {"steps": a.steps, "eval_every": a.eval_every, "threads": a.threads, "grid_points": GRID_POINTS,
             "ranges": RANGES, "cells": [{"task": t, "optimizer": o, "seeds": s} for (t, o), s in cells.items()]}, indent=1))):
        with open(a.out + ext + ".tmp", "w") as f:
            f.write(text)
        os.replace(a.out + ext + ".tmp", a.out + ext)
    print("\n".join(header + rows), flush=True)


def previous_cells(a, paths):
    cells = {}
    for path in paths.split(",") if paths else []:
        cells.update(cells_of(a, path))
    return cells


def cells_of(a, path):
    with open(path) as f:
        old = json.load(f)
    for key in ("steps", "eval_every", "threads", "grid_points"):
        want = GRID_POINTS if key == "grid_points" else getattr(a, key)
        if old.get(key) != want:
            sys.exit(f"{path}: field '{key}' is {old.get(key)!r}, this run uses {want!r}; its cells cannot be reused")
    if {k: list(v) for k, v in RANGES.items()} != {k: list(v) for k, v in old.get("ranges", {}).items()}:
        sys.exit(f"{path}: field 'ranges' is {old.get('ranges')!r}, this run uses {RANGES!r}")
    return {(c["task"], c["optimizer"], s["seed"]): s for c in old["cells"] for s in c["seeds"]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tasks", default="demo,spam")
    p.add_argument("--optimizers", default="mezo,sparse-mezo")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--work", default=os.path.join(ROOT, "runs", "sweep-table"))
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "sweep-table"))
    p.add_argument("--previous", help="results .json files (comma-separated) written by this script with the same settings: its cells are kept "
                   "and not run again (the runs' folders may be gone)")
    p.add_argument("--reuse-grid", help="results .json files (comma-separated) written by this script with the same settings: its grid runs are "
                   "kept and only the sweeps run again")
    a = p.parse_args()
    tasks, optimizers = a.tasks.split(","), a.optimizers.split(",")
    cells = {(t, o): [] for t in tasks for o in optimizers}
    kept = previous_cells(a, a.previous)
    grids = previous_cells(a, a.reuse_grid)
    for task in tasks:
        for seed in map(int, a.seeds.split(",")):
            for optimizer in optimizers:
                if (task, optimizer, seed) in kept:
                    cells[(task, optimizer)].append(kept[(task, optimizer, seed)])
                    continue
                if (task, optimizer, seed) in grids:
                    old = grids[(task, optimizer, seed)]
                    cell = {k: old[k] for k in ("seed", "grid", "grid_choice", "grid_oracle", "grid_forwards", "grid_dev_evaluations", "grid_seconds")}
                else:
                    runs = [grid_run(task, optimizer, lr, seed, a, a.work) for lr in grid(optimizer)]
                    choice = min(runs, key=lambda s: s["best_dev_loss"] if s.get("best_dev_loss") is not None else math.inf)
                    cell = {
                        "seed": seed, "grid": [{k: s.get(k) for k in ("lr", "best_dev_loss", "best_step", "test_accuracy", "forwards", "wall_seconds")} for s in runs],
                        "grid_choice": {"lr": choice["lr"], "test_accuracy": choice["test_accuracy"], "best_dev_loss": choice["best_dev_loss"]},
                        "grid_oracle": max(s["test_accuracy"] for s in runs),
                        "grid_forwards": sum(s["forwards"] for s in runs),
                        "grid_dev_evaluations": sum(s["dev_evaluations"] for s in runs),
                        "grid_seconds": sum(s["wall_seconds"] for s in runs),
                    }
                sweep = sweep_run(task, optimizer, seed, a, a.work, cell["grid_forwards"])
                cell["sweep"] = {k: sweep[k] for k in ("lr", "winner", "winner_test_accuracy", "total_forwards", "dev_evaluations", "wall_seconds", "folder")}
                cell["sweep"]["rungs"] = [{"steps": r["steps"], "trials": r["trials"]} for r in sweep["spec"]["plan"][0]["rungs"]]
                cells[(task, optimizer)].append(cell)
                write(a, cells)
    write(a, cells)   # also when every cell was kept


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Latency, CUDA-graph latency, time to first output and bundle hits of a Llama-3.1-8B block + lm_head (bf16).

    python bench/aoti_latency.py --bundle tuned-h200.agb [--out bench/results/aoti_latency.json]

Rows (each in a FRESH process; TTFO from the process's first line to the first output, synchronised):
  eager               the model as built (testing.llama_block_lm_head: weights generated on the GPU)
  eager-patched       the same + aotgemm.runtime.load(bundle) + patch(model) (the eager path of runtime/eager.py)
  aoti                a plain AOTInductor package (torch._inductor.aoti_load_package)
  aoti-bundle         the aotgemm package (aotgemm.aoti.compile / aotgemm.aoti.load)
  CUDA-graph rows     each of the above captured in a torch.cuda.CUDAGraph at --graph-ms and replayed; the
                      AOTInductor ones in their own processes, loaded with run_single_threaded=True (the
                      runner's mode for graph capture). A capture that fails is reported with its error.
Latency: median of --iters runs timed with CUDA events (one forward each), per M in --ms; graph rows time
replays the same way. Those rows run one after another, so clock drift between processes shows in their
ratios (up to ~4% at M=2048 on the H200); the comparison to read is the "interleaved" table: one more
process holding all four forms, their trials alternating (--trials rounds of one forward each per M, in
aotgemm.timing.trial_order, a balanced Latin square: each form runs in every position, and after every other form, equally often, so neither of a pair always runs
after the other),
median and p10-p90 per form, and the ratios eager/eager-patched and aoti/aoti-bundle with their spread. Bundle hits per M: aotgemm.runtime.stats() (eager-patched) or aotgemm.aoti.counters()
(aoti-bundle) over one forward, "hits/GEMM calls" (aoti-bundle: hits/the forward's 5 GEMMs). Every row's output at M=16 is compared with eager's
(relative Frobenius error). The host-overhead table comes from bench/runtime_overhead.py (same bundle).
--ttfo-runs N: the two packages' time to first output again, N fresh processes each, alternating, with
aotgemm's own share of the bundle row's load (aoti.load less torch's loader; the import of aotgemm.aoti).
The two packages compile in parallel (CXX=/usr/bin/g++ by default); the whole run takes ~3-4 minutes on the
H200 host. Writes JSON (--out) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the same model sizes (SMALL: --small, a CPU smoke test of the script) and latency timing as aoti_startup.py;
# imported before T_START, so TTFO counts what it counted before
from aoti_startup import SMALL, _sync, median_ms as _median_ms  # noqa: E402

T_START = time.perf_counter()
REPO = Path(__file__).resolve().parent.parent
SEED = 0
GEMMS = 5  # qkv, o, gate_up, down, lm_head
LOAD_SPLIT: dict = {}  # aotgemm's and torch's shares of loading the aoti-bundle package (_ready)


def _dims(args) -> dict:
    return dict(SMALL) if args.small else {}


def _hidden(args) -> int:
    return SMALL["hidden"] if args.small else 4096


# ------------------------------------------------------------------ worker ---
def _ready(args, dev):
    """The callable of this row, made ready (weights generated, bundle loaded, package loaded)."""
    import torch

    from aotgemm.aoti import testing

    name = args.worker.removesuffix("-graph")
    if name in ("eager", "eager-patched"):
        model = testing.llama_block_lm_head(dev, seed=SEED, **_dims(args))
        if name == "eager-patched":
            import aotgemm.runtime as rt

            rt.load(args.bundle, strict=dev == "cuda")
            rt.patch(model)
        return model
    single = args.worker.endswith("-graph")
    if name == "aoti":
        import inspect

        ok = "run_single_threaded" in inspect.signature(torch._inductor.aoti_load_package).parameters
        return torch._inductor.aoti_load_package(args.package, **({"run_single_threaded": single} if ok else {}))
    import functools

    import aotgemm.aoti as aoti

    # aotgemm's own share of loading: aoti.load less the time in torch's own loader, which aoti.load
    # calls and the plain row pays too (aotgemm.aoti itself was imported by worker(), timed there; and
    # torch._inductor, which holds the loader, is imported before the clock starts, as the plain row
    # imports it inside its own load)
    inner = [0.0]
    torch_load = torch._inductor.aoti_load_package
    t0 = time.perf_counter()

    @functools.wraps(torch_load)  # aoti.load reads the loader's signature (run_single_threaded, device_index)
    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return torch_load(*a, **k)
        finally:
            inner[0] += time.perf_counter() - t

    torch._inductor.aoti_load_package = timed
    try:
        runner = aoti.load(args.package, run_single_threaded=single)
    finally:
        torch._inductor.aoti_load_package = torch_load
    LOAD_SPLIT.update(aotgemm_load_s=time.perf_counter() - t0 - inner[0], torch_load_s=inner[0])
    return runner


def _hits(args):
    """(read, reset) of this row's bundle counters: a function returning (hits, GEMM calls)."""
    name = args.worker.removesuffix("-graph")
    if name == "eager-patched":
        import aotgemm.runtime as rt

        return (lambda: (rt.stats().total_hits, rt.stats().total_hits + rt.stats().total_misses)), rt.reset_stats
    if name == "aoti-bundle":
        import aotgemm.aoti as aoti

        # of the forward's GEMMS: a routed GEMM reaches the shim only at the M its kernels serve (aoti/guard.py)
        return (lambda: (aoti.counters()["hits"], GEMMS)), aoti.reset_counters
    return None, None


def paired(args) -> dict:
    """The four forms in one process, their trials interleaved: latency per M with its spread."""
    import statistics

    import torch

    sys.path.insert(0, str(REPO))
    import aotgemm.aoti as aoti
    import aotgemm.runtime as rt
    from aotgemm.aoti import testing
    from aotgemm.timing import trial_order

    dev = args.device
    model = testing.llama_block_lm_head(dev, seed=SEED, **_dims(args))
    rt.load(args.bundle, strict=dev == "cuda")
    patched = testing.llama_block_lm_head(dev, seed=SEED, **_dims(args))
    rt.patch(patched)
    fns = {"eager": model, "eager-patched": patched}
    if args.package:  # "PLAIN.pt2:BUNDLE.pt2"; none with --skip-aoti
        plain, bundle = args.package.split(os.pathsep)
        fns.update({"aoti": torch._inductor.aoti_load_package(plain), "aoti-bundle": aoti.load(bundle)})
    out: dict = {}
    with torch.no_grad():
        for m in (int(v) for v in args.ms.split(",")):
            x = testing.deterministic_input((m, _hidden(args)), torch.bfloat16, dev)
            times: dict = {k: [] for k in fns}
            for fn in fns.values():
                for _ in range(3):
                    fn(x)
            _sync(dev)
            for t in range(args.trials):
                for k in trial_order(list(fns), t):  # a balanced Latin square: each pair runs A-B and B-A alike
                    times[k].append(_median_ms(lambda: fns[k](x), 1, dev))
            row = {}
            for k, t in times.items():
                t = sorted(t)
                row[k] = {"median_ms": statistics.median(t), "p10_ms": t[len(t) // 10], "p90_ms": t[-1 - len(t) // 10]}
            for slow, fast in (("eager", "eager-patched"), ("aoti", "aoti-bundle"))[:len(fns) // 2]:
                r = sorted(a / b for a, b in zip(times[slow], times[fast]))  # per trial: the pair ran back to back
                row[f"{slow}/{fast}"] = {"median": statistics.median(r), "p10": r[len(r) // 10], "p90": r[-1 - len(r) // 10]}
            out[str(m)] = row
    return {"config": "interleaved", "trials": args.trials, "latency": out}


def worker(args) -> dict:
    import torch  # timed: part of the time to first output

    sys.path.insert(0, str(REPO))
    t_import = time.perf_counter()
    from aotgemm.aoti import testing  # the inputs' helper: every row imports aotgemm.aoti (timed apart)

    LOAD_SPLIT["import_aotgemm_aoti_s"] = time.perf_counter() - t_import

    dev = args.device
    torch.zeros(1, device=dev)
    _sync(dev)
    t_cuda = time.perf_counter()
    res: dict = {"config": args.worker}
    ms = [int(m) for m in args.ms.split(",")]
    graph_ms = [int(m) for m in args.graph_ms.split(",") if m]
    with torch.no_grad():
        fn = _ready(args, dev)
        _sync(dev)
        t_ready = time.perf_counter()
        y = fn(testing.deterministic_input((ms[0], _hidden(args)), torch.bfloat16, dev))
        _sync(dev)
        t_first = time.perf_counter()
        res.update(ttfo_s=t_first - T_START, cuda_init_s=t_cuda - T_START, ready_s=t_ready - t_cuda,
                   first_run_s=t_first - t_ready, first_m=ms[0], **LOAD_SPLIT)
        if args.ttfo_only:
            return res
        read, reset = _hits(args)
        xs = {m: testing.deterministic_input((m, _hidden(args)), torch.bfloat16, dev) for m in sorted({*ms, *graph_ms})}
        if not args.worker.endswith("-graph"):
            res["latency_ms"], res["hits"] = {}, {}
            for m in ms:
                x = xs[m]
                if read:
                    fn(x)
                    reset()
                    fn(x)
                    res["hits"][str(m)] = "%d/%d" % read()
                res["latency_ms"][str(m)] = _median_ms(lambda: fn(x), args.iters, dev)
            if 16 in xs:
                torch.save(fn(xs[16]).float().cpu(), Path(args.work) / f"out16-{args.worker}.pt")
        if dev == "cuda" and (args.worker.endswith("-graph") or args.worker.startswith("eager")):
            res["graph_ms"], res["graph_hits"], res["graph_rel_err"] = {}, {}, {}
            for m in graph_ms:
                x = xs[m].clone()
                try:
                    want = fn(x).float()
                    side = torch.cuda.Stream()
                    side.wait_stream(torch.cuda.current_stream())
                    with torch.cuda.stream(side):
                        for _ in range(2):
                            fn(x)
                    torch.cuda.current_stream().wait_stream(side)
                    if reset:
                        reset()
                    g = torch.cuda.CUDAGraph()
                    with torch.cuda.graph(g):
                        out = fn(x)
                    if read:
                        res["graph_hits"][str(m)] = "%d/%d captured" % read()
                    out.fill_(float("nan"))
                    g.replay()
                    torch.cuda.synchronize()
                    res["graph_rel_err"][str(m)] = float((out.float() - want).norm() / want.norm())
                    res["graph_ms"][str(m)] = _median_ms(g.replay, args.iters, dev)
                    if args.worker.endswith("-graph") and m == 16:
                        torch.save(out.float().cpu(), Path(args.work) / f"out16-{args.worker}.pt")
                except Exception as e:  # a runner that cannot be captured: say why
                    res["graph_error"] = f"M={m}: {type(e).__name__}: {str(e).strip().splitlines()[0][:300]}"
                    break
        del y
    return res


# ------------------------------------------------------------------ parent ---
def _env(work: Path, name: str, no_compiler: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "TORCHINDUCTOR_CACHE_DIR": str(work / f"inductor-{name}"), "TRITON_CACHE_DIR": str(work / f"triton-{name}")}
    if no_compiler:
        env.update(PATH="/nonexistent", CXX="/nonexistent/g++", CC="/nonexistent/gcc")
    return env


def _me(args, *extra: str) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--ms", args.ms, "--graph-ms", args.graph_ms,
           "--iters", str(args.iters), "--device", args.device, "--work", str(args.work), *extra]
    if args.bundle:
        cmd += ["--bundle", args.bundle]
    return cmd + (["--small"] if args.small else [])


def compile_package(args) -> dict:
    """Child: export the model and compile one package (args.compile: 'plain' or 'bundle')."""
    import torch
    from torch.export import Dim

    sys.path.insert(0, str(REPO))
    from aotgemm.aoti import testing

    model = testing.llama_block_lm_head(args.device, seed=SEED, **_dims(args))
    example = (torch.randn(8, _hidden(args), device=args.device, dtype=torch.bfloat16),)
    out = Path(args.work) / f"{args.compile}.pt2"
    t0 = time.perf_counter()
    if args.compile == "plain":
        ep = torch.export.export(model, example, dynamic_shapes=({0: Dim("m", min=1, max=1 << 16)},))
        torch._inductor.aoti_compile_and_package(ep, package_path=str(out), inductor_configs={"cpp.cxx": (None, args.cxx)})
        return {"package": str(out), "compile_s": time.perf_counter() - t0}
    import aotgemm.aoti as aoti

    aoti.compile(model, example, args.bundle, out, cxx=args.cxx)
    info = aoti.package_info(out)
    return {"package": str(out), "compile_s": time.perf_counter() - t0, "routed": [[r.n, r.k] for r in info.routed]}


def _json_of(proc: subprocess.CompletedProcess | None, what: str) -> dict:
    if proc is None or proc.returncode != 0:
        return {"error": f"{what} failed: " + ((proc.stderr or "")[-2000:] if proc else "not run")}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_rows(args, packages: dict) -> list[dict]:
    plan = [("eager", None), ("eager-patched", None)]
    if "plain" in packages:
        plan += [("aoti", packages["plain"]), ("aoti-graph", packages["plain"])]
    if "bundle" in packages:
        plan += [("aoti-bundle", packages["bundle"]), ("aoti-bundle-graph", packages["bundle"])]
    rows = []
    for name, pkg in plan:
        if name.endswith("-graph") and (args.device != "cuda" or not args.graph_ms):
            continue
        cmd = _me(args, "--worker", name) + (["--package", pkg] if pkg else [])
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, env=_env(args.work, name, pkg is not None),
                               timeout=180)
            r = _json_of(p, name)
        except subprocess.TimeoutExpired:
            r = {"error": f"{name} timed out after 180 s"}
        r.update(config=name, process_s=time.perf_counter() - t0)
        rows.append(r)
        print(f"[{time.perf_counter() - T_START:6.1f}s] {name}: "
              + (f"TTFO {r['ttfo_s']:.2f} s" if "ttfo_s" in r else r["error"][-400:]), flush=True)
    return rows


def ttfo_rounds(args, packages: dict) -> dict:
    """Time to first output of the two packages, `--ttfo-runs` fresh processes each, in trial_order (plain and
    bundle alternate which goes first): one fresh process reads within about a second of another on this
    host, so the comparison is of medians and of the per-round differences. Also aotgemm's own share of
    the bundle row's load (its import and aoti.load less torch's loader, which the plain row pays too)."""
    import statistics

    from aotgemm.timing import trial_order

    forms = {"aoti": packages["plain"], "aoti-bundle": packages["bundle"]}
    got: dict = {f: [] for f in forms}
    share: list = []
    imports: list = []
    for r in range(args.ttfo_runs):
        for name in trial_order(list(forms), r):
            cmd = _me(args, "--worker", name, "--ttfo-only", "--package", forms[name])
            p = subprocess.run(cmd, capture_output=True, text=True, env=_env(args.work, name, True), timeout=180)
            res = _json_of(p, name)
            if "error" in res:
                return {"error": res["error"]}
            got[name].append(res["ttfo_s"])
            if "aotgemm_load_s" in res:
                share.append(res["aotgemm_load_s"])
                imports.append(res["import_aotgemm_aoti_s"])
    diffs = sorted(b - a for a, b in zip(got["aoti"], got["aoti-bundle"]))
    out = {f: {"median_s": statistics.median(v), "min_s": min(v), "max_s": max(v), "runs": v} for f, v in got.items()}
    out["bundle_minus_plain"] = {"median_s": statistics.median(diffs), "min_s": diffs[0], "max_s": diffs[-1]}
    out["aotgemm_load_s"] = {"median_s": statistics.median(share), "max_s": max(share), "runs": share}
    out["import_aotgemm_aoti_s"] = {"median_s": statistics.median(imports), "max_s": max(imports), "runs": imports}
    return out


def ttfo_table(t: dict) -> str:
    if "error" in t:
        return "time to first output, repeated: " + t["error"][-600:]
    n = len(t["aoti"]["runs"])
    return "\n".join([
        f"time to first output, {n} fresh processes per package, alternating (median, min-max, s)",
        f"  plain AOTInductor    {t['aoti']['median_s']:.2f} ({t['aoti']['min_s']:.2f}-{t['aoti']['max_s']:.2f})",
        f"  AOTInductor + bundle {t['aoti-bundle']['median_s']:.2f} ({t['aoti-bundle']['min_s']:.2f}-"
        f"{t['aoti-bundle']['max_s']:.2f})",
        f"  bundle - plain, per round: median {t['bundle_minus_plain']['median_s']:+.2f} "
        f"({t['bundle_minus_plain']['min_s']:+.2f} to {t['bundle_minus_plain']['max_s']:+.2f})",
        f"  aotgemm's own share of the bundle row: aoti.load less torch's loader median "
        f"{1e3 * t['aotgemm_load_s']['median_s']:.1f} ms (max {1e3 * t['aotgemm_load_s']['max_s']:.1f}), "
        f"import aotgemm.aoti median {1e3 * t['import_aotgemm_aoti_s']['median_s']:.1f} ms (max "
        f"{1e3 * t['import_aotgemm_aoti_s']['max_s']:.1f}; every row here pays it, for the inputs' helper)"])


def compare_outputs(args, rows: list[dict]) -> None:
    import torch

    ref_path = Path(args.work) / "out16-eager.pt"
    if not ref_path.exists():
        return
    ref = torch.load(ref_path)
    for r in rows:
        p = Path(args.work) / f"out16-{r['config']}.pt"
        if p.exists():
            y = torch.load(p)
            r["rel_err_vs_eager_m16"] = float((y - ref).norm() / ref.norm())


def table(report: dict) -> str:
    ms, gms = report["ms"].split(","), [m for m in report["graph_ms"].split(",") if m]
    head = (f"{'row':28s} {'TTFO s':>7s}" + "".join(f" {'M=' + m + ' ms':>10s}" for m in ms)
            + "  bundle hits (per M)  err vs eager (M=16)")
    lines = [f"{report['device']}, torch {report['torch']}, bundle {report['bundle']}", head, "-" * len(head)]
    for r in report["rows"]:
        if "error" in r:
            lines.append(f"{r['config']:28s} ERROR {r['error'].strip().splitlines()[-1][:200] if r['error'].strip() else ''}")
            continue
        lat = r.get("latency_ms", {})
        if lat:
            hits = " ".join(r.get("hits", {}).get(m, "-") for m in ms) if r.get("hits") else "-"
            err = r.get("rel_err_vs_eager_m16")
            lines.append(f"{r['config']:28s} {r['ttfo_s']:7.2f}" + "".join(f" {lat.get(m, float('nan')):10.3f}" for m in ms)
                         + f"  {hits:19s}  {'' if err is None else f'{err:.1e}'}")
        if "graph_ms" in r or "graph_error" in r:
            g = r.get("graph_ms", {})
            label = r["config"].removesuffix("-graph") + " CUDA graph"
            ttfo = f"{r['ttfo_s']:7.2f}" if not lat else f"{'':7s}"
            hits = " ".join(r.get("graph_hits", {}).get(m, "-") for m in gms) if r.get("graph_hits") else "-"
            errs = ", ".join(f"M={m} {v:.1e}" for m, v in r.get("graph_rel_err", {}).items())
            lines.append(f"{label:28s} {ttfo}" + "".join(f" {g[m]:10.3f}" if m in g else f" {'-':>10s}" for m in ms)
                         + f"  {hits}  replay vs run: {errs}" + (f"  CAPTURE FAILED: {r['graph_error']}"
                                                                 if "graph_error" in r else ""))
    lines.append("TTFO: fresh process, from its first line (before `import torch`) to the first output (M="
                 f"{ms[0]}), synchronised. Graph rows: the graph holds one forward; hits counted at capture.")
    for r in report["rows"]:
        if "aotgemm_load_s" in r:
            lines.append(f"{r['config']}: aotgemm's share of the load {1e3 * r['aotgemm_load_s']:.1f} ms (aoti.load "
                         f"less torch's loader, {r['torch_load_s']:.2f} s); import aotgemm.aoti "
                         f"{1e3 * r['import_aotgemm_aoti_s']:.1f} ms (every row here pays it); first forward "
                         f"{1e3 * r['first_run_s']:.1f} ms")
    return "\n".join(lines)


def interleaved_table(r: dict) -> str:
    if "error" in r:
        return "interleaved: " + r["error"][-600:]
    forms = tuple(f for f in ("eager", "eager-patched", "aoti", "aoti-bundle") if f in next(iter(r["latency"].values())))
    pairs = tuple(k for k in ("eager/eager-patched", "aoti/aoti-bundle") if k in next(iter(r["latency"].values())))
    lines = [f"interleaved in one process ({r['trials']} trials per M, the four forms alternating; median (p10-p90) ms "
             "of one forward; ratios per trial, >1: aotgemm faster)",
             f"{'M':>5s} " + " ".join(f"{f:>21s}" for f in forms + pairs)]
    for m, row in r["latency"].items():
        cells = [f"{row[f]['median_ms']:.3f} ({row[f]['p10_ms']:.3f}-{row[f]['p90_ms']:.3f})" for f in forms]
        ratios = [f"{row[k]['median']:.3f}x ({row[k]['p10']:.3f}-{row[k]['p90']:.3f})"
                  for k in pairs]
        lines.append(f"{m:>5s} " + " ".join(f"{c:>21s}" for c in cells + ratios))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=os.environ.get("AOTGEMM_TEST_BUNDLE"))
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "aoti_latency.json")
    ap.add_argument("--ms", default="1,16,128,2048")
    ap.add_argument("--graph-ms", default="1,16,128")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--trials", type=int, default=40, help="interleaved trials per M (the interleaved table)")
    ap.add_argument("--cxx", default=os.environ.get("CXX") or "/usr/bin/g++")
    ap.add_argument("--work", type=Path, default=None, help="folder for packages and caches (default: a temporary one)")
    ap.add_argument("--skip-aoti", action="store_true", help="eager rows only")
    ap.add_argument("--skip-overhead", action="store_true")
    ap.add_argument("--ttfo-runs", type=int, default=0,
                    help="also time the two packages' time to first output in this many fresh processes each")
    ap.add_argument("--ttfo-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cuda", help=argparse.SUPPRESS)
    ap.add_argument("--small", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--compile", help=argparse.SUPPRESS)
    ap.add_argument("--package", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "interleaved":
        print(json.dumps(paired(args)))
        return
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if args.compile:
        print(json.dumps(compile_package(args)))
        return
    if not args.bundle:
        raise SystemExit("give --bundle (a bundle tuned for this GPU) or set AOTGEMM_TEST_BUNDLE")
    os.environ["CXX"] = args.cxx
    args.work = args.work or Path(tempfile.mkdtemp(prefix="aotgemm-latency-"))
    args.work.mkdir(parents=True, exist_ok=True)
    import torch

    report: dict = {"device": torch.cuda.get_device_name() if args.device == "cuda" else args.device,
                    "torch": torch.__version__, "bundle": args.bundle, "ms": args.ms, "graph_ms": args.graph_ms,
                    "iters": args.iters, "cxx": args.cxx, "date": time.strftime("%Y-%m-%d", time.gmtime())}
    print(f"[{time.perf_counter() - T_START:6.1f}s] {report['device']}, torch {torch.__version__}", flush=True)

    packages: dict = {}
    if not args.skip_aoti:  # both packages at once: the host has cores to spare, the run has minutes
        kinds = ["plain"] + (["bundle"] if args.device == "cuda" else [])
        procs = {k: subprocess.Popen(_me(args, "--compile", k, "--cxx", args.cxx), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=_env(args.work, "compile-" + k, False))
                 for k in kinds}
        report["compile"] = {}
        for k, p in procs.items():
            out, err = p.communicate(timeout=400)
            r = _json_of(subprocess.CompletedProcess(p.args, p.returncode, out, err), f"compile {k}")
            report["compile"][k] = r
            if "package" in r:
                packages[k] = r["package"]
        print(f"[{time.perf_counter() - T_START:6.1f}s] compiled: "
              + ", ".join(f"{k} {r.get('compile_s', float('nan')):.1f} s" + (f" ({len(r['routed'])} GEMMs routed)"
                                                                              if "routed" in r else "")
                          + (" ERROR " + r["error"][-300:] if "error" in r else "")
                          for k, r in report["compile"].items()), flush=True)
    report["rows"] = run_rows(args, packages)
    compare_outputs(args, report["rows"])
    text = table(report)
    if ("plain" in packages and "bundle" in packages) or args.skip_aoti:
        cmd = _me(args, "--worker", "interleaved", "--trials", str(args.trials))
        if not args.skip_aoti:
            cmd += ["--package", os.pathsep.join((packages["plain"], packages["bundle"]))]
        p = subprocess.run(cmd, capture_output=True, text=True, env=_env(args.work, "interleaved", True), timeout=300)
        r = _json_of(p, "interleaved")
        report["interleaved"] = r
        text += "\n\n" + interleaved_table(r)
    if args.ttfo_runs and "plain" in packages and "bundle" in packages:
        report["ttfo_rounds"] = ttfo_rounds(args, packages)
        text += "\n\n" + ttfo_table(report["ttfo_rounds"])
    if not args.skip_overhead and args.device == "cuda":
        p = subprocess.run([sys.executable, str(REPO / "bench" / "runtime_overhead.py"), "--bundle", args.bundle,
                            "--repeats", "3", "--out", str(args.work / "overhead.json")], capture_output=True,
                           text=True, env=_env(args.work, "overhead", False), timeout=240)
        if p.returncode == 0:
            report["overhead"] = json.loads((args.work / "overhead.json").read_text())
            text += "\n\n" + p.stdout.strip()
        else:
            text += "\n\nruntime_overhead.py failed: " + p.stderr[-1000:]
    report["total_s"] = time.perf_counter() - T_START
    print("\n" + text, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True))
    tmp.replace(args.out)
    print(f"\nwrote {args.out} ({report['total_s']:.0f} s in all; work folder {args.work})")


if __name__ == "__main__":
    main()

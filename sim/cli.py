"""The ``chaossim`` command: a thin shell over the Python API (sim.load_scenario, sim.run, ...)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from sim import __version__

DEFAULT_MAX_EVENTS = 100_000_000
"""sim.spec.work.DEFAULT_MAX_EVENTS, repeated here so that --help need not import the schema (a test
checks they agree)."""

DEMO = "builtin:demo"


def _fmt_s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def summary_table(summary: dict) -> str:
    """The short table ``chaossim run`` prints."""
    m = summary["measured"]
    acc = summary["accounting"]
    lines = [
        f"scenario {summary['scenario']}  seed {summary['seed']}  "
        f"measured {m['window_s'][0]:g}-{m['window_s'][1]:g} s",
        f"  availability       {m['availability'] * 100:.3f} %" if m["availability"] is not None
        else "  availability       - (no request ended)",
        f"  goodput            {m['goodput_rps']:.2f} req/s",
        f"  latency p50 / p99  {_fmt_s(m['latency_s']['p50'])} / {_fmt_s(m['latency_s']['p99'])}",
        f"  TTFT p50 / p99     {_fmt_s(m['ttft_s']['p50'])} / {_fmt_s(m['ttft_s']['p99'])}",
        f"  attempts/request   {summary['attempts_per_request'] or 0:.3f}",
    ]
    failures = m["failures"]
    lines.append("  failures           " + (", ".join(f"{k} {v}" for k, v in failures.items()) or "none"))
    lines.append(
        f"  accounting         {acc['arrivals']} arrived = {acc['ended']} ended + {acc['in_flight_at_end']} in flight"
        + ("" if acc["balanced"] else "  (UNBALANCED)")
    )
    return "\n".join(lines)


def _changes(args: argparse.Namespace) -> dict:
    """The ``--set path=value`` changes of a command, or exit 2 naming the malformed one."""
    from sim.spec.overrides import OverrideError, parse_assignment

    changes = {}
    for text in getattr(args, "set", None) or []:
        try:
            path, value = parse_assignment(text)
        except OverrideError as err:
            print(f"--set {err}", file=sys.stderr)
            raise SystemExit(2) from None
        changes[path] = value
    return changes


def _load(path: str, check_traces: bool = False, changes: dict | None = None,
          max_events: int | None = DEFAULT_MAX_EVENTS):
    """The scenario with its ``--set`` changes, or exit 2 after printing every problem; ``check_traces``
    also reads its trace files; ``max_events`` bounds the run's estimated work (sim.spec.work)."""
    from sim.spec import ScenarioError, load_scenario

    try:
        scenario = load_scenario(path, changes, max_events=max_events)
    except ScenarioError as err:
        for p in err.problems:
            print(p, file=sys.stderr)
        raise SystemExit(2) from None
    if check_traces:
        problems = _trace_problems(scenario)
        if problems:
            for p in problems:
                print(p, file=sys.stderr)
            raise SystemExit(2)
    return scenario


def _trace_problems(scenario) -> list[str]:
    """A trace file that exists but cannot be used is only found by reading it (the spec checks existence)."""
    from sim.engine.traces import TraceError, trace_of

    problems = []
    for i, client in enumerate(scenario.workload.clients):
        if client.arrival.kind == "trace":
            try:
                trace_of(client.arrival)
            except TraceError as err:
                problems.append(f"workload.clients[{i}].arrival.path: {err}")
    return problems


def _run_dir_for(scenario, out_arg: str | None) -> Path:
    """The results directory: ``--out``, else runs/<scenario>-<UTC time>/ (a fresh one per run)."""
    if out_arg:
        return Path(out_arg)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = Path("runs") / f"{scenario.name}-{stamp}"
    n = 1
    while out.exists():  # two runs in the same second get their own directories
        n += 1
        out = Path("runs") / f"{scenario.name}-{stamp}-{n}"
    return out


def verdict_line(analysis: dict) -> str:
    """The one line that says whether the steady state held: ``steady state held: ...``."""
    return f"steady state {analysis['headline']}"


def check_exit_code(analysis: dict) -> int:
    """``--check``: 0 when the steady state held, 1 otherwise (deviated, or nothing could be judged)."""
    return 0 if analysis["verdict"] == "held" else 1


def run_json(summary: dict, analysis: dict, out: Path, report: Path | None) -> str:
    """What ``chaossim run --json`` prints: the summary, the verdict and where the results are."""
    verdict = {"verdict": analysis["verdict"], "headline": analysis["headline"],
               "line": verdict_line(analysis), "failures": analysis["steady_state"]["failures"],
               "recovery": analysis["metastability"]["verdict"]}
    doc = {"summary": summary, "verdict": verdict, "results": str(out),
           "report": None if report is None else str(report)}
    return json.dumps(doc, indent=2, sort_keys=True, allow_nan=False)


def cmd_run(args: argparse.Namespace) -> int:
    from sim.analysis import analyze
    from sim.engine.traces import TraceError
    from sim.experiment.run import run
    from sim.report.files import write_run
    from sim.report.manifest import OutDirError

    scenario = _load(args.scenario, check_traces=True, changes=_changes(args), max_events=args.max_events)
    out, created = _prepare_out(scenario, args.out)
    try:
        result = run(scenario, args.seed, record_requests=args.record_requests, progress=True)
    except TraceError as err:
        _forget_out(out, created)
        print(f"workload: {err}", file=sys.stderr)
        return 2
    except BaseException:
        _forget_out(out, created)
        raise
    try:
        write_run(result, out, figures=not args.no_figures)
    except (OSError, OutDirError) as err:
        print(f"{out}: cannot write results ({getattr(err, 'strerror', None) or err})", file=sys.stderr)
        return 2
    # with --json, stdout carries the JSON document only; the words go to stderr
    say = sys.stderr if args.json else sys.stdout
    print(summary_table(result.summary), file=say)
    report = None
    if args.report:
        from sim.report.html import build_report, write_analysis

        report, analysis = build_report(result, out)
        write_analysis(analysis, out)
        _record_report(out, "analysis.json")
        print(f"report in {report}", file=say)
    else:
        analysis = analyze(result)
    print(verdict_line(analysis), file=say)
    print(f"results in {out}/", file=say)
    if args.json:
        print(run_json(result.summary, analysis, out, report))
    return check_exit_code(analysis) if args.check else 0


def _prepare_out(scenario, out_arg: str | None) -> tuple[Path, bool]:
    """The results folder, checked before the simulation: new, empty or chaossim's own run, and writable.

    Exits 2 with one line otherwise (``--out ''``, a user's folder, no permission). Returns the folder
    and whether it was created here (removed again if the run fails before writing).
    """
    from sim.report.manifest import OutDirError, prepare_out_dir

    try:
        if out_arg == "":
            raise OutDirError("--out: give a folder for the results (an empty path is not one)")
        out = _run_dir_for(scenario, out_arg)
        return out, prepare_out_dir(out)
    except OutDirError as err:
        print(err, file=sys.stderr)
        raise SystemExit(2) from None


def _forget_out(out: Path, created: bool) -> None:
    """Remove a results folder this command created if nothing was written into it."""
    if created:
        try:
            out.rmdir()
        except OSError:
            pass


def _record_report(run_dir: Path | str, *names: str) -> None:
    """List report.html, the report's figures and the given files in the run directory's manifest."""
    from sim.report.manifest import add_files

    run_dir = Path(run_dir)
    figures = sorted(f"figures/{p.name}" for p in (run_dir / "figures").glob("*") if p.is_file())
    add_files(run_dir, [n for n in ("report.html", *figures) if (run_dir / n).exists()] + list(names))


def _run_dir_error(err: Exception) -> int:
    print(str(err), file=sys.stderr)
    return 2


def cmd_analyze(args: argparse.Namespace) -> int:
    from sim.analysis import analyze, format_analysis
    from sim.analysis.rundir import RunDirError
    from sim.report.html import write_analysis

    try:
        a = analyze(Path(args.run_dir))
    except RunDirError as err:
        return _run_dir_error(err)
    print(format_analysis(a))
    path = write_analysis(a, args.run_dir)
    _record_files(args.run_dir, "analysis.json")
    print(f"wrote {path}")
    return 0


def _record_files(run_dir: str, *names: str) -> None:
    from sim.report.manifest import add_files

    add_files(Path(run_dir), names)


def cmd_report(args: argparse.Namespace) -> int:
    from sim.analysis.rundir import RunDirError
    from sim.report.html import build_report

    if len(args.run_dir) > 1:
        return _compare_report(args)
    if args.out:
        print("--out: only for a comparison of two runs (a run's report is written into its directory)",
              file=sys.stderr)
        return 2
    try:
        path, a = build_report(Path(args.run_dir[0]))
    except RunDirError as err:
        return _run_dir_error(err)
    _record_report(args.run_dir[0])
    print(verdict_line(a))
    print(f"wrote {path}")
    return 0


def _compare_report(args: argparse.Namespace) -> int:
    """``chaossim report RUN_A RUN_B``: the control and the variant side by side, in one page."""
    from sim.analysis.rundir import RunDirError
    from sim.report.compare import write_comparison_report

    dirs = [Path(d) for d in args.run_dir]
    out = Path(args.out) if args.out else dirs[-1] / f"comparison-vs-{dirs[0].resolve().name}.html"
    try:
        path, cmp = write_comparison_report(dirs, out)
    except RunDirError as err:
        return _run_dir_error(err)
    except OSError as err:
        print(f"{out}: cannot write the comparison ({err.strerror or err})", file=sys.stderr)
        return 2
    if path.resolve().parent == dirs[-1].resolve():  # written into the variant's run directory: chaossim's file
        from sim.report.manifest import add_files

        add_files(dirs[-1], [path.name, *cmp["static_figures"]])
    for r in cmp["runs"]:
        print(f"{r['label']}: steady state {r['headline']}")
    if not cmp["same_seed"]:
        print("warning: the runs have different seeds; differences include noise", file=sys.stderr)
    print(f"wrote {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.engine.traces.checks import trace_warnings

    scenario = _load(args.scenario, check_traces=True, changes=_changes(args), max_events=args.max_events)
    for line in trace_warnings(scenario):
        print(f"warning: {line}", file=sys.stderr)
    print("ok")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.spec import json_schema

    sys.stdout.write(json_schema() + "\n")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from sim.assembly import topology_graph
    from sim.report.figures import save_topology

    scenario = _load(args.scenario, changes=_changes(args))
    if args.out == "":
        print("--out: give a file for the figure (an empty path is not one)", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(f"{scenario.name}-topology.png")
    if (out.exists() or out.is_symlink()) and not args.force:
        print(f"{out}: exists; chaossim does not overwrite it without --force", file=sys.stderr)
        return 2
    if out.is_dir():
        print(f"{out}: is a directory, not a file for the figure", file=sys.stderr)
        return 2
    try:
        save_topology(topology_graph(scenario), out)
    except OSError as err:
        print(f"{out}: cannot write the figure ({err.strerror or err})", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``chaossim list [FOLDER]``: every shipped scenario as its builtin: name and one line, by folder."""
    from sim.spec.library import FOLDER_TITLES, catalogue, folders

    known = folders()
    if args.folder is not None and args.folder not in known:
        return _bad(f"list: no folder '{args.folder}' in the library (folders: {', '.join(known)})")
    entries = catalogue(args.folder)
    for folder in known:
        group = [e for e in entries if e.folder == folder]
        if not group:
            continue
        width = max(len(e.name) for e in group)
        print(f"{folder}: {FOLDER_TITLES.get(folder, 'scenarios')} ({len(group)})")
        for e in group:
            text = e.line if e.problem is None else f"INVALID {e.problem}"
            print(f"  {e.name:<{width}}  {text}")
    invalid = sum(e.problem is not None for e in entries)
    if invalid:
        print(f"{invalid} scenario(s) do not validate: chaossim validate NAME shows every problem", file=sys.stderr)
    return 0


def cmd_lesson(args: argparse.Namespace) -> int:
    """``chaossim lesson [N]``: list the lessons, or run lesson N, write its side-by-side report and judge
    its claim (exit 0 when the claim holds, 1 when it does not, 2 for bad input)."""
    from sim.spec.lesson import LessonError, find_lesson, lesson_refs, load_lesson

    refs = lesson_refs()
    if args.number is None:
        return _list_lessons(refs)
    numbers = ", ".join(str(r.number) for r in refs) or "none"
    text = args.number.strip()
    ref = find_lesson(int(text)) if text.isascii() and text.isdigit() and len(text) < 6 else None
    if ref is None:
        return _bad(f"lesson: no lesson '{args.number[:40]}' (lessons: {numbers}; chaossim lesson lists them)")
    try:
        loaded = load_lesson(ref)
    except LessonError as err:
        for p in err.problems:
            print(p, file=sys.stderr)
        return 2
    return _run_lesson(loaded, args)


def _list_lessons(refs: list) -> int:
    from sim.spec.lesson import LessonError, load_lesson

    if not refs:
        return _bad("lesson: this installation has no lessons")
    for ref in refs:
        try:
            lesson = load_lesson(ref).lesson
            print(f"{ref.number:>3}  {lesson.title}  ({' vs '.join(s.label for s in lesson.scenarios)})")
        except LessonError as err:
            print(f"{ref.number:>3}  INVALID {err.problems[0]}")
    print("run one with: chaossim lesson N  (guide: docs/lessons.md)")
    return 0


def _run_lesson(loaded, args: argparse.Namespace) -> int:
    from sim.experiment.lesson import run_lesson
    from sim.report.manifest import OutDirError, prepare_out_dir
    from sim.spec import ScenarioError

    lesson = loaded.lesson
    slug = loaded.ref.folder.name
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path("runs") / f"lesson-{slug}-{stamp}"
    try:
        if args.out == "":
            raise OutDirError("--out: give a folder for the lesson's runs (an empty path is not one)")
        prepare_out_dir(out)
    except OutDirError as err:
        return _bad(str(err))
    print(f"lesson {loaded.ref.number}: {lesson.title}")
    print(f"  differs in: {lesson.differs_in.strip()}")
    try:
        done = run_lesson(loaded, seed=args.seed, out=out)
    except ScenarioError as err:
        for p in err.problems:
            print(p, file=sys.stderr)
        return 2
    for label, a in done.analyses.items():
        print(f"  {label}: steady state {a['headline']}")
    print(f"question: {' '.join(lesson.question.split())}")
    print(f"claim {'holds' if done.holds else 'does NOT hold'} (seed {done.seed}):")
    for c in done.checks:
        print(f"  [{'ok' if c.holds else 'FAILED'}] {c.text}")
    print(f"answer: {' '.join(lesson.answer.split())}")
    print(f"report in {done.report}")
    return 0 if done.holds else 1


# --- experiments: replicate, compare, sweep, search (sim.experiment does the work) ---------------------------


def _set_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="change the scenario without editing it, e.g. pools.gpu.replicas=10 (repeatable)")


def _max_events_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-events", type=max_events_arg, default=DEFAULT_MAX_EVENTS, metavar="N",
                   help=f"refuse a scenario whose estimated work exceeds N simulator events "
                        f"(default {DEFAULT_MAX_EVENTS:,}, about a quarter of an hour; 0: no limit)")


def max_events_arg(text: str) -> int | None:
    """--max-events: a non-negative integer (1e9 and 1_000_000 are accepted); 0 means no limit."""
    try:
        value = float(text.replace("_", "")) if any(c in text for c in ".eE") else int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid limit '{text}' (a number of events, e.g. 500000000)") from None
    if not value >= 0 or value != int(value) or value > 1e18:
        raise argparse.ArgumentTypeError(f"invalid limit '{text}' (a whole number of events from 0 to 1e18)")
    return int(value) or None


def _experiment_args(p: argparse.ArgumentParser, n_default: int | None) -> None:
    _set_arg(p)
    p.add_argument("-n", "--runs", type=int, default=n_default, help="replications (seeds) per design or point")
    p.add_argument("--first-seed", type=seed_arg, default=None,
                   help="seeds are FIRST, FIRST+1, ... (default: the first scenario's run.seed)")
    p.add_argument("--metric", action="append", default=None,
                   help="headline metric (repeatable; default availability, goodput_rps, latency_p99_s, ttft_p99_s)")
    p.add_argument("--analysis", action="store_true", help="also compute stuck (metastable) and recovery_s per run")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: every core)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster: tcp://host:8786, or 'local' for a LocalCluster")
    p.add_argument("--out", default=None, help="experiment directory (default: runs/<command>-<scenario>/); "
                   "re-running resumes it")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--check", action="store_true", help="exit 1 when the expectation does not hold")


def _executor(args: argparse.Namespace):
    from sim.experiment.executors import Executor

    if args.workers is not None and args.workers < 1:
        print(f"--workers: must be at least 1, got {args.workers}", file=sys.stderr)
        raise SystemExit(2)
    return Executor(workers=args.workers, dask=args.dask, progress=not args.no_progress)


def _store(args: argparse.Namespace, command: str, name: str):
    from sim.experiment.store import Store

    out = Path(args.out) if args.out else Path("runs") / f"{command}-{name}"
    try:
        return Store(out)
    except NotADirectoryError as err:
        print(str(err), file=sys.stderr)
        raise SystemExit(2) from None


def _headline(args: argparse.Namespace) -> tuple[str, ...]:
    from sim.experiment.metrics import HEADLINE

    return tuple(args.metric) if args.metric else HEADLINE


def _bad(message: str) -> int:
    print(message, file=sys.stderr)
    return 2


def _interrupted(err, store) -> int:
    """Ctrl-C: the finished runs are already on disk; write their table too, so it is usable as is."""
    from sim.experiment.replicate import run_rows

    store.write_table("runs", run_rows(err.records))
    print(f"\ninterrupted: {len(err.records)} finished runs are in {store.root}/runs.csv; "
          "re-run the same command to resume", file=sys.stderr)
    return 130


def cmd_replicate(args: argparse.Namespace) -> int:
    from sim.experiment.executors import Interrupted
    from sim.experiment.metrics import Target
    from sim.experiment.replicate import replicate, write_replication

    scenario = _load(args.scenario, check_traces=True, changes=_changes(args), max_events=args.max_events)
    try:
        targets = [Target.parse(t) for t in args.target]
    except ValueError as err:
        return _bad(f"--target {err}")
    store = _store(args, "replicate", scenario.name)
    try:
        rep = replicate(scenario, args.runs, precision=args.precision, max_runs=args.max_runs,
                        headline=tuple(args.metric) if args.metric else None, first_seed=args.first_seed,
                        analysis=args.analysis,
                        executor=_executor(args), store=store)
    except ValueError as err:
        return _bad(f"--{err}")
    except Interrupted as err:
        return _interrupted(err, store)
    write_replication(rep, store, {"command": "replicate", "set": args.set})
    print(rep.format())
    held = rep.failures == 0 and (rep.precision_met is not False)
    for t in targets:
        ok, bound = t.met([r[t.metric] for r in rep.rows if r.get(t.metric) is not None], args.confidence)
        held &= ok
        shown = "-" if bound is None else f"{bound:.6g}"
        print(f"target {t}: {'met' if ok else 'NOT met'} with {args.confidence:g} confidence (bound {shown})")
    print(f"results in {store.root}/")
    return 1 if args.check and not held else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.experiment.compare import compare, unique_labels, write_comparison
    from sim.experiment.executors import Interrupted

    changes = _changes(args)
    scenarios = [_load(path, check_traces=True, changes=changes) for path in args.scenarios]
    labels = unique_labels([Path(path).stem if not path.startswith("builtin:") else path.split(":", 1)[1]
                            for path in args.scenarios])
    store = _store(args, "compare", "-".join(labels)[:80])
    try:
        cmp = compare(list(zip(labels, scenarios, strict=True)), args.runs, headline=_headline(args),
                      first_seed=args.first_seed, analysis=args.analysis, executor=_executor(args), store=store)
    except ValueError as err:
        return _bad(f"--{err}" if str(err).startswith("n:") else str(err))
    except Interrupted as err:
        return _interrupted(err, store)
    write_comparison(cmp, store, {"command": "compare", "files": args.scenarios, "set": args.set})
    print(cmp.format())
    regressions = cmp.regressions()
    if args.check:
        for d in regressions:
            print(f"check: {d.b} is significantly worse than {d.a} on {d.metric}")
        print("check: " + ("FAILED" if regressions or cmp.failures else "passed (no design significantly worse "
                           f"than {cmp.designs[0]}, no failed run)"))
    print(f"results in {store.root}/")
    return 1 if args.check and (regressions or cmp.failures) else 0


def _targets(args: argparse.Namespace):
    from sim.experiment.metrics import Target

    try:
        return [Target.parse(t) for t in args.target]
    except ValueError as err:
        print(f"--target {err}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.experiment.executors import Interrupted
    from sim.experiment.sweep import SweepError, parse_param, sweep, write_sweep

    scenario = _load(args.scenario, check_traces=True, changes=_changes(args))
    targets = _targets(args)
    try:
        params = [parse_param(text) for text in args.param]
    except SweepError as err:
        return _bad(str(err))
    store = _store(args, "sweep", scenario.name)
    try:
        sw = sweep(scenario, params, args.runs, sample=args.sample, samples=args.samples,
                   sample_seed=args.sample_seed, headline=_headline(args), first_seed=args.first_seed,
                   analysis=args.analysis, executor=_executor(args), store=store)
    except SweepError as err:
        return _bad(str(err))
    except Interrupted as err:
        return _interrupted(err, store)
    write_sweep(sw, store, {"command": "sweep", "param": args.param, "set": args.set, "sample": args.sample})
    print(sw.format())
    misses = sw.misses(targets, args.confidence)
    for point, t, bound in misses:
        shown = "-" if bound is None else f"{bound:.6g}"
        print(f"target {t} NOT met with {args.confidence:g} confidence at {point} (bound {shown})")
    if targets and not misses:
        print(f"every point meets {', '.join(map(str, targets))} with {args.confidence:g} confidence")
    print(f"results in {store.root}/")
    return 1 if args.check and (misses or sw.failures) else 0


def cmd_search(args: argparse.Namespace) -> int:
    from sim.experiment.executors import Interrupted
    from sim.experiment.metrics import Target
    from sim.experiment.search import search, write_search
    from sim.experiment.sweep import SweepError

    scenario = _load(args.scenario, check_traces=True, changes=_changes(args))
    try:
        target = Target.parse(args.target)
    except ValueError as err:
        return _bad(f"--target {err}")
    store = _store(args, "search", scenario.name)
    try:
        sr = search(scenario, args.param, target, n=args.runs, confidence=args.confidence, largest=args.largest,
                    tolerance=args.tolerance, first_seed=args.first_seed, analysis=args.analysis,
                    executor=_executor(args), store=store)
    except SweepError as err:
        return _bad(str(err))
    except Interrupted as err:
        return _interrupted(err, store)
    write_search(sr, store, {"command": "search", "set": args.set})
    print(sr.format())
    print(f"results in {store.root}/")
    return 1 if args.check and sr.answer is None else 0


def add_experiment_commands(sub) -> None:
    """The experiment commands' parsers."""
    rep = sub.add_parser("replicate", help="run a scenario on many seeds: every metric with mean, 95 %% CI, min, max")
    rep.add_argument("scenario")
    _experiment_args(rep, None)
    _max_events_arg(rep)
    rep.add_argument("--precision", default=None,
                     help="add seeds until every headline 95 %% CI half-width is below this: absolute (for "
                     "availability, or the --metric ones) or relative (5%%, for every headline metric)")
    rep.add_argument("--max-runs", type=int, default=200, help="most runs the precision procedure may use")
    rep.add_argument("--target", action="append", default=[], help="expectation, e.g. availability>=0.999")
    rep.add_argument("--confidence", type=float, default=0.95, help="confidence of --target (one-sided)")
    rep.set_defaults(func=cmd_replicate)
    cmp = sub.add_parser("compare", help="run designs on the same seeds; paired differences, Holm-corrected")
    cmp.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="two or more designs; the first is the baseline")
    _experiment_args(cmp, 30)
    cmp.set_defaults(func=cmd_compare)
    sw = sub.add_parser("sweep", help="run a scenario over a grid or sample of parameter values")
    sw.add_argument("scenario")
    sw.add_argument("--param", action="append", default=[], required=True,
                    help="PATH=v1,v2,... or PATH=low:high:step (repeatable; grid over all)")
    sw.add_argument("--sample", choices=("grid", "random", "lhs"), default="grid",
                    help="grid (default), or a random / Latin-hypercube sample of the ranges")
    sw.add_argument("--samples", type=int, default=None, help="points to draw with --sample random|lhs")
    sw.add_argument("--sample-seed", type=seed_arg, default=0, help="seed of the random / LHS design")
    sw.add_argument("--target", action="append", default=[], help="expectation at every point (for --check)")
    sw.add_argument("--confidence", type=float, default=0.95, help="confidence of --target (one-sided)")
    _experiment_args(sw, 10)
    sw.set_defaults(func=cmd_sweep)
    se = sub.add_parser("search", help="smallest (or largest) value meeting a target with confidence, by bisection")
    se.add_argument("scenario")
    se.add_argument("--param", required=True, help="PATH=low:high, e.g. pools.gpu.replicas=2:40")
    se.add_argument("--target", required=True, help="e.g. availability>=0.999")
    se.add_argument("--confidence", type=float, default=0.9, help="one-sided confidence of meeting the target")
    se.add_argument("--largest", action="store_true", help="the largest value meeting it (e.g. surge it survives)")
    se.add_argument("--tolerance", type=float, default=None, help="stop width for a real-valued parameter")
    _experiment_args(se, 10)
    se.set_defaults(func=cmd_search)


def seed_arg(text: str) -> int:
    """A root seed from the command line: a non-negative integer, as in a scenario's run.seed."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed '{text}' (a non-negative integer)") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {seed} (a non-negative integer)")
    return seed


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chaossim", description="Chaos-engineering simulator for AI serving stacks.")
    p.add_argument("--version", action="version", version=f"chaossim {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="simulate a scenario and write its results")
    r.add_argument("scenario", nargs="?", default=DEMO, help="scenario YAML (default: the built-in demo)")
    r.add_argument("--seed", type=seed_arg, default=None, help="root seed (default: the scenario's run.seed)")
    r.add_argument("--out", default=None, help="results directory (default: runs/<scenario>-<UTC time>/)")
    r.add_argument("--no-figures", action="store_true", help="skip the timeline PNG")
    r.add_argument("--record-requests", action="store_true", help="also write requests.csv, one row per request")
    r.add_argument("--report", action="store_true", help="also analyse the run and write report.html")
    _set_arg(r)
    _max_events_arg(r)
    r.add_argument("--check", action="store_true",
                   help="exit code says whether the steady state held: 0 held, 1 deviated (or not judged), 2 bad input")
    r.add_argument("--json", action="store_true",
                   help="print the summary and the verdict as JSON on stdout (the usual text goes to stderr)")
    r.set_defaults(func=cmd_run)
    a = sub.add_parser("analyze", help="analyse a run directory: verdict, cascade, recovery, incident, budget")
    a.add_argument("run_dir", help="a directory written by chaossim run")
    a.set_defaults(func=cmd_analyze)
    rp = sub.add_parser("report", help="write a self-contained report.html for a run directory, or compare runs")
    rp.add_argument("run_dir", nargs="+",
                    help="a directory written by chaossim run; two or more: a comparison (the first is the control)")
    rp.add_argument("--out", default=None,
                    help="comparison page (default: RUN_B/comparison-vs-<RUN_A>.html)")
    rp.set_defaults(func=cmd_report)
    v = sub.add_parser("validate", help="check a scenario file; print ok or every problem")
    v.add_argument("scenario")
    _set_arg(v)
    _max_events_arg(v)
    v.set_defaults(func=cmd_validate)
    s = sub.add_parser("schema", help="print the scenario JSON Schema")
    s.set_defaults(func=cmd_schema)
    g = sub.add_parser("graph", help="draw a scenario's topology as PNG")
    g.add_argument("scenario")
    g.add_argument("--out", default=None, help="PNG path (default: <scenario>-topology.png)")
    g.add_argument("--force", action="store_true", help="overwrite the PNG if it exists")
    _set_arg(g)
    g.set_defaults(func=cmd_graph)
    ls = sub.add_parser("list", help="list every shipped scenario (runnable as builtin:<folder>/<name>)")
    ls.add_argument("folder", nargs="?", default=None, help="only this folder (incidents, lessons, faults, ...)")
    ls.set_defaults(func=cmd_list)
    le = sub.add_parser("lesson", help="list the lessons of the teaching path, or run lesson N side by side")
    le.add_argument("number", nargs="?", default=None, metavar="N", help="the lesson's number (none: list them)")
    le.add_argument("--seed", type=seed_arg, default=None, help="seed of every run (default: the lesson's)")
    le.add_argument("--out", default=None, help="folder for the runs and the report (default: runs/lesson-<N>-...)")
    le.set_defaults(func=cmd_lesson)
    add_experiment_commands(sub)
    return p


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt so that every cleanup runs."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def _quiet_stdout() -> None:
    """After a closed pipe (``chaossim schema | head``): send what is left to /dev/null, say nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (captured by a test)
        pass


def main(argv: list[str] | None = None) -> int:
    """Run one command. Ctrl-C exits 130 and SIGTERM 143 with one line, after temporary files are removed
    (the writers remove theirs when interrupted); a closed stdout pipe exits 141 without a word."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        args = parser().parse_args(argv)
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return code
    except KeyboardInterrupt:
        print("chaossim: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("chaossim: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())

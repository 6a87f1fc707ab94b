"""Cold start as a user feels it: each function's built package, on the runtime's Python, spawn to first reply.

For every scenario a fresh interpreter of the runtime's version
(``python3.12``, found as ``rolegate package`` finds it) starts as
``-I -S`` with nothing on ``sys.path`` but the function's code package
``build/<fn>`` (built by ``rolegate.package`` first when missing or older
than its sources), imports the handler module ``index`` and answers one
request against the emulator (``ROLEGATE_ENDPOINT`` set). The figure is the
wall time from spawning the process to reading its reply, timed by the
parent.

The floor is the stock SDK as a user would deploy it: a package built beside
the function's (``build/.bench/floor-<fn>``) from the same installed
dependency tree, with the same product SDKs and every dependency they
declare (aiohttp, APScheduler, websocket-client, aiofiles, cryptography
included, which the function's package leaves out), run by the same
interpreter the same way, importing the same SDK clients and making the same
invocation's calls with them (:mod:`bench.floors`; the table shows both
sides' call counts). Runs alternate, 11 each (``--scale`` scales the count)
after one discarded warm-up pair; medians compared.

Goal: spawn to reply at most 0.75x the floor's, in every scenario. The time
to import the handler module alone is shown, not judged (the handlers import
SDKs lazily, so it says nothing about what a caller waits for); so is each
child's CPU time from its start to the reply, which other work on a shared
machine moves less than the wall time (it still counts what the sweep's
threads spend handing the interpreter to each other).

Where the difference goes: one more run of each side under ``python -X
importtime`` gives the modules only the handler imports, grouped by
package, with the time spent in those modules themselves.

SDK hygiene: after the import and after the invocation, in every run, the
product SDK packages in ``sys.modules`` must be among those of the products
the invocation actually called (read from the emulator's call log): a
function imports no SDK it does not call.
"""
from __future__ import annotations

from bench.harness import (SDK_OF_PRODUCT, Emulator, Runtime, Verdicts, header, median, parser, run_main, runtime,
                           scaled, table)
from bench.scenarios import Onboard, Query, Remediate, Revoke, Scenario, quiet_setup, run_child

COMMAND = "python -m bench cold_start"
MAX_RATIO = 0.75
FULL_REPEAT = 11


def scenarios() -> list[Scenario]:
    return [
        Onboard("onboard: create grant", "onboard", "onboard"),
        Revoke("revoke: sweep 1 expired", "revoke", "revoke"),
        Revoke("revoke: sweep 2 member accounts", "revoke", "revoke-accounts", accounts=2),
        Query("query: 1 target, functions", "query", "query"),
        Query("query: 1 target, services", "query", "query-services", kind="services"),
        Remediate("remediate: grant tampered", "remediate", "remediate-grant"),
        Remediate("remediate: instance role", "remediate", "remediate-instance", case="instance-role"),
    ]


def measure(emu: Emulator, scenario: Scenario, repeat: int, rt: Runtime) -> dict[str, list]:
    quiet_setup(scenario, emu)
    for kind in ("handler", "floor"):  # warm-up: page cache filled
        run_child(emu, scenario, kind, runtime=rt)
    runs: dict[str, list] = {"handler": [], "floor": []}
    for i in range(repeat):
        for kind in (("handler", "floor") if i % 2 == 0 else ("floor", "handler")):
            run = run_child(emu, scenario, kind, runtime=rt)
            if not run.ok:
                raise RuntimeError(f"{scenario.name}: the {kind} run failed: {str(run.results)[:1500]}")
            runs[kind].append(run)
    return runs


def import_self_times(stderr: str) -> dict[str, float]:
    """Milliseconds spent in each imported module itself (``-X importtime``'s self column)."""
    out: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|", 2)
        if own.strip().isdigit():
            out[name.strip()] = out.get(name.strip(), 0.0) + int(own) / 1000
    return out


def extra_imports(emu: Emulator, scenario: Scenario, rt: Runtime, shown: int = 6) -> str:
    """Packages whose modules only the handler imports, by the time spent in those modules."""
    flags = ("-X", "importtime")
    handler = import_self_times(run_child(emu, scenario, "handler", flags=flags, runtime=rt).stderr)
    floor = set(import_self_times(run_child(emu, scenario, "floor", flags=flags, runtime=rt).stderr))
    packages: dict[str, float] = {}
    for module, ms in handler.items():
        if module not in floor:
            packages[module.split(".")[0]] = packages.get(module.split(".")[0], 0.0) + ms
    ranked = sorted(((ms, name) for name, ms in packages.items() if ms >= 1), reverse=True)[:shown]
    return ", ".join(f"{name} {ms:.0f}" for ms, name in ranked)


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0], only=True).parse_args(argv)
    args_repeat = scaled(FULL_REPEAT, args.scale)
    chosen = [s for s in scenarios() if args.only in s.name]
    rt = runtime(sorted({s.function for s in chosen}))
    header("Cold start", args.scale, f"{COMMAND} --scale {args.scale:g}  (repeat={args_repeat})")
    print(f"   interpreter: {rt.python} (Python {rt.version}, -I -S); packages: "
          + ", ".join(f"{name} {path.relative_to(path.parents[1])}" for name, path in sorted(rt.handler.items())))
    print()
    verdicts = Verdicts("cold_start")
    timing_rows, module_rows, extra_rows = [], [], []
    with Emulator() as emu:
        for scenario in chosen:
            runs = measure(emu, scenario, args_repeat, rt)
            handler, floor = runs["handler"], runs["floor"]
            reply_h, reply_f = median([r.reply_ms for r in handler]), median([r.reply_ms for r in floor])
            imp_h, imp_f = median([r.import_ms for r in handler]), median([r.import_ms for r in floor])
            fastest = min(r.reply_ms for r in handler) / min(r.reply_ms for r in floor)
            cpu_h, cpu_f = median([r.cpu_ms for r in handler]), median([r.cpu_ms for r in floor])
            calls = f"{len(handler[0].calls)}/{len(floor[0].calls)}"
            timing_rows.append((scenario.name, f"{reply_h:.0f}", f"{reply_f:.0f}", f"{reply_h / reply_f:.2f}x",
                                f"{min(r.reply_ms for r in handler):.0f}", f"{min(r.reply_ms for r in floor):.0f}",
                                f"{fastest:.2f}x", f"{cpu_h:.0f}", f"{cpu_f:.0f}", f"{cpu_h / cpu_f:.2f}x",
                                f"{imp_h:.0f}", f"{imp_f:.0f}", calls))
            verdicts.check(f"{scenario.name}: spawn to reply at most {MAX_RATIO:.2f}x the stock-SDK floor",
                           reply_h <= MAX_RATIO * reply_f,
                           f"{reply_h:.0f} ms vs {reply_f:.0f} ms = {reply_h / reply_f:.2f}x")
            extra_rows.append((scenario.name, extra_imports(emu, scenario, rt)))
            after_import = sorted({sdk for r in handler for sdk in r.sdks_after_import})
            after_invoke = sorted({sdk for r in handler for sdk in r.sdks_after_invoke})
            called = sorted({SDK_OF_PRODUCT[p] for r in handler for p in r.products_called})
            extra = sorted(set(after_import + after_invoke) - set(called))
            module_rows.append((scenario.name, _short(after_import), _short(after_invoke), _short(called),
                                ",".join(_short(extra)) or "-"))
            verdicts.check(f"{scenario.name}: imports only the SDKs it calls", not extra,
                           f"imported {_short(after_invoke)}, called {_short(called)}")
    print("Milliseconds from spawning the interpreter to the first reply, medians (and fastest) of each side;")
    print("floor = the stock SDK package (full dependencies) making the same calls; 'import' = the handler module")
    print("(or the floor's SDK modules) alone, not judged; 'cpu' = the child's CPU time (every thread) from its")
    print("start to the reply, medians, not judged: on a shared machine it moves less than the wall time;")
    print("'calls' = cloud calls of one run (handler/floor).")
    print(table(("scenario", "spawn to reply", "floor", "ratio", "fastest", "floor fastest", "fastest ratio",
                 "cpu", "floor cpu", "cpu ratio", "import", "floor import", "calls"), timing_rows))
    print()
    print("Packages only the handler imports (at import or during the invocation), ms spent in their modules,")
    print("from one `python -X importtime` run of each side:")
    print(table(("scenario", "heaviest imports the floor does not make"), extra_rows))
    print()
    print("Product SDKs in sys.modules (handler) vs the products the invocation called (emulator call log).")
    print(table(("scenario", "after import", "after invocation", "called", "not called"),
                [(r[0], ",".join(r[1]) or "-", ",".join(r[2]) or "-", ",".join(r[3]) or "-", r[4])
                 for r in module_rows]))
    return verdicts.finish()


def _short(sdks: list[str]) -> list[str]:
    return [s.removeprefix("alibabacloud_") for s in sdks]


if __name__ == "__main__":
    run_main(main)

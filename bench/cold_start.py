"""Cold start: each function's handler in a fresh interpreter, against the floor of the SDKs it needs.

For every scenario a fresh interpreter (``bench.child``) imports the handler
module and invokes it once against the emulator; another imports only the SDK
clients the function calls and makes the same invocation's essential calls
with them (:mod:`bench.floors`). Runs alternate, 10 times each (``--scale``
scales the count) after one discarded warm-up pair, and the medians are compared. Both sides
run from bytecode: the SDKs' was compiled by pip, the repository's is
compiled first (``compile_sources``), as a package built by
``rolegate.package`` ships it.

Two figures, since the handlers import SDKs lazily at first use: *import*
(module import only; a lazy handler is below the floor here) and *first*
(import plus the first invocation, what the first caller of a new instance
waits for). Goal: each within 10% of its floor.

Where the difference goes: one more run of each side under ``python -X
importtime`` gives the modules only the handler imports (at its import or
lazily during the invocation), grouped by package, with the time spent in
those modules themselves.

SDK hygiene: after the import and after the invocation, in every run, the
product SDK packages in ``sys.modules`` must be among those of the products
the invocation actually called (read from the emulator's call log): a
function imports no SDK it does not call.
"""
from __future__ import annotations

from bench.harness import (SDK_OF_PRODUCT, Emulator, Verdicts, compile_sources, header, median, parser,
                           run_main, scaled, table)
from bench.scenarios import Onboard, Query, Remediate, Revoke, Scenario, quiet_setup, run_child

COMMAND = "python -m bench cold_start"
MAX_OVERHEAD = 1.10
FULL_REPEAT = 10


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


def measure(emu: Emulator, scenario: Scenario, repeat: int) -> dict[str, list]:
    quiet_setup(scenario, emu)
    for kind in ("handler", "floor"):  # warm-up: bytecode compiled, page cache filled
        run_child(emu, scenario, kind)
    runs: dict[str, list] = {"handler": [], "floor": []}
    for i in range(repeat):
        for kind in (("handler", "floor") if i % 2 == 0 else ("floor", "handler")):
            run = run_child(emu, scenario, kind)
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


def extra_imports(emu: Emulator, scenario: Scenario, shown: int = 6) -> str:
    """Packages whose modules only the handler imports, by the time spent in those modules."""
    handler = import_self_times(run_child(emu, scenario, "handler", flags=("-X", "importtime")).stderr)
    floor = set(import_self_times(run_child(emu, scenario, "floor", flags=("-X", "importtime")).stderr))
    packages: dict[str, float] = {}
    for module, ms in handler.items():
        if module not in floor:
            packages[module.split(".")[0]] = packages.get(module.split(".")[0], 0.0) + ms
    ranked = sorted(((ms, name) for name, ms in packages.items() if ms >= 1), reverse=True)[:shown]
    return ", ".join(f"{name} {ms:.0f}" for ms, name in ranked)


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0], only=True).parse_args(argv)
    args_repeat = scaled(FULL_REPEAT, args.scale)
    header("Cold start", args.scale, f"{COMMAND} --scale {args.scale:g}  (repeat={args_repeat})")
    verdicts = Verdicts("cold_start")
    timing_rows, module_rows, extra_rows = [], [], []
    compile_sources()
    with Emulator() as emu:
        for scenario in [s for s in scenarios() if args.only in s.name]:
            runs = measure(emu, scenario, args_repeat)
            handler, floor = runs["handler"], runs["floor"]
            imp_h, imp_f = median([r.import_ms for r in handler]), median([r.import_ms for r in floor])
            first_h, first_f = median([r.first_ms for r in handler]), median([r.first_ms for r in floor])
            fastest = min(r.first_ms for r in handler) / min(r.first_ms for r in floor)
            calls = f"{len(handler[0].calls)}/{len(floor[0].calls)}"
            timing_rows.append((scenario.name, f"{imp_h:.0f}", f"{imp_f:.0f}", f"{imp_h / imp_f:.2f}x",
                                f"{first_h:.0f}", f"{first_f:.0f}", f"{first_h / first_f:.2f}x", f"{fastest:.2f}x",
                                calls))
            verdicts.check(f"{scenario.name}: import within {MAX_OVERHEAD:.2f}x of the SDK floor",
                           imp_h <= MAX_OVERHEAD * imp_f, f"{imp_h:.0f} ms vs {imp_f:.0f} ms = {imp_h / imp_f:.2f}x")
            verdicts.check(f"{scenario.name}: import + first invocation within {MAX_OVERHEAD:.2f}x of the floor",
                           first_h <= MAX_OVERHEAD * first_f,
                           f"{first_h:.0f} ms vs {first_f:.0f} ms = {first_h / first_f:.2f}x")
            extra_rows.append((scenario.name, extra_imports(emu, scenario)))
            after_import = sorted({sdk for r in handler for sdk in r.sdks_after_import})
            after_invoke = sorted({sdk for r in handler for sdk in r.sdks_after_invoke})
            called = sorted({SDK_OF_PRODUCT[p] for r in handler for p in r.products_called})
            extra = sorted(set(after_import + after_invoke) - set(called))
            module_rows.append((scenario.name, _short(after_import), _short(after_invoke), _short(called),
                                ",".join(_short(extra)) or "-"))
            verdicts.check(f"{scenario.name}: imports only the SDKs it calls", not extra,
                           f"imported {_short(after_invoke)}, called {_short(called)}")
    print("Milliseconds, medians; floor = importing the needed SDK clients (+ the bare calls of the invocation).")
    print("'fastest ratio' compares the fastest run of each side: a check on the noise of a shared machine;")
    print("'calls' counts the cloud calls of one run of each side (handler/floor), to show they do the same work.")
    print(table(("scenario", "import", "floor", "ratio", "import+1st call", "floor", "ratio", "fastest ratio",
                 "calls"), timing_rows))
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

"""One cold instance: ``python -m bench.child SPEC.json`` imports a handler (or a floor) and invokes it.

The spec names the target (``{"kind": "handler", "module": "functions.onboard.index"}``
or ``{"kind": "floor", "floor": "onboard"}``), the events to invoke it with in
order, the invocation context and where to write the report. The report holds
the time to import the target, the time of each invocation, the product SDKs
in ``sys.modules`` after the import and after the invocations, the peak RSS
(:func:`peak_rss_kb`) and what each invocation returned.

Only the standard library is imported before the target, so the import is
measured from a bare interpreter, as in a fresh Function Compute instance.
Run as ``python3.12 -I -S bench/child.py SPEC.json`` with ``"path"`` in the
spec, nothing but that built package is on ``sys.path``. The line
``replied`` on stdout marks the first invocation's reply.
Log lines the target writes to stdout are discarded (their cost still counts).
"""
from __future__ import annotations

import importlib
import importlib.util
import io
import json
import re
import resource
import sys
import time
from types import SimpleNamespace
from typing import Any

PRODUCT_SDK = re.compile(r"^(alibabacloud_[a-z_]+\d{8}|fc2|aliyunsdk[a-z0-9_]*)$")


def loaded_sdks() -> list[str]:
    """The product SDK packages imported so far (core libraries such as tea_openapi are not products)."""
    return sorted({name.split(".")[0] for name in list(sys.modules) if PRODUCT_SDK.match(name.split(".")[0])})


def peak_rss_kb() -> int:
    """This process's peak resident set, in KiB: ``VmHWM`` of ``/proc/self/status`` where there is one.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is not used on Linux: it survives
    ``execve``, so a child started from a large parent reports the parent's
    peak when its own is lower. ``VmHWM`` belongs to the address space the
    exec created.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _context(data: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(**{**data, "function": SimpleNamespace(**data.get("function", {}))})


def _load(spec: dict[str, Any]) -> Any:
    """The callable to invoke: the handler, or the floor's minimal implementation.

    With ``floor_file`` the floor's module is loaded from that file by path
    (a built package's interpreter has nothing but the package on its path).
    """
    if spec["kind"] == "handler":
        return importlib.import_module(spec["module"]).handler
    if spec.get("floor_file"):
        found = importlib.util.spec_from_file_location("rolegate_bench_floors", spec["floor_file"])
        assert found is not None and found.loader is not None
        floors = importlib.util.module_from_spec(found)
        found.loader.exec_module(floors)
    else:
        from bench import floors

    floors.load(spec["floor"])
    return lambda event, context: floors.invoke(spec["floor"], event, context)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    context = _context(spec["context"])
    sys.path[:0] = spec.get("path", [])  # a built package: the function's directory, as /code on FC
    real_stdout = sys.stdout
    sys.stdout = io.StringIO()  # the target's log lines
    started = time.perf_counter()
    target = _load(spec)
    imported = time.perf_counter()
    after_import = loaded_sdks()
    invocations: list[float] = []
    cpu_to_reply = float("nan")  # process CPU time, every thread's, from the interpreter's start
    results: list[Any] = []
    for event in spec["events"]:
        begun = time.perf_counter()
        try:
            results.append(target(event.encode("utf-8"), context))
        except Exception as exc:  # reported, judged by the parent
            results.append({"raised": type(exc).__name__, "message": str(exc)[:500],
                            "summary": getattr(exc, "summary", None)})
        invocations.append((time.perf_counter() - begun) * 1000)
        if len(invocations) == 1:  # the first reply: where a parent timing spawn to reply stops its clock
            cpu_to_reply = time.process_time() * 1000
            real_stdout.write("replied\n")
            real_stdout.flush()
        sys.stdout = io.StringIO()  # keep the captured logs from piling up across invocations
    report = {
        "import_ms": (imported - started) * 1000,
        "invoke_ms": invocations,
        "cpu_to_reply_ms": cpu_to_reply,
        "sdks_after_import": after_import,
        "sdks_after_invoke": loaded_sdks(),
        "maxrss_kb": peak_rss_kb(),
        "results": results,
    }
    sys.stdout = real_stdout
    with open(spec["out"], "w", encoding="utf-8") as f:
        json.dump(report, f, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

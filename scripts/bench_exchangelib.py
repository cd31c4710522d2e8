#!/usr/bin/env python3
"""Time exchangelib parsing the EWS answers exsync's parsing benchmark wrote.

The Rust benchmark (`cargo bench -p exsync-ews --bench parse`) writes two simulator answers to
`$CARGO_TARGET_DIR/bench-data/` (default `target/bench-data/`):

- `syncfolderitems-512.xml`: SyncFolderItems, 512 `Create` changes, IdOnly shape;
- `getitem-100.xml`: GetItem, 100 messages, AllProperties plus headers and message ids.

This script times exchangelib going from those exact bytes to its item objects, the path
`EWSService.parse()` takes (exchangelib's own entry point for static XML):
`_get_soap_parts` (util.to_xml, i.e. lxml), `_get_soap_messages`, `_get_elements_in_response`
(response classes and codes, the SyncState of SyncFolderItems), then `_elem_to_obj` for each
element (`Message.from_xml`; for SyncFolderItems the change type and the item). No HTTP.

It prints MB/s (10^6 bytes per second, best of N runs, time.perf_counter) and, when the Rust
benchmark's results are present, exsync's MB/s from Criterion, the ratio and exsync's peak
memory, as the table in docs/performance.md.

With --also-chunked it also times the variant where lxml is fed one byte per chunk: what
`_get_soap_parts` gets from requests' `Response.iter_content()` (default chunk_size=1) on a
real, non-streamed HTTP response.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

try:
    import exchangelib
    import lxml.etree
    from exchangelib import BASIC, IMPERSONATION, Account, Build, Configuration, Credentials, Message, Version
    from exchangelib.services import GetItem, SyncFolderItems
    from exchangelib.util import DummyResponse
except ImportError as e:  # pragma: no cover - depends on the environment
    sys.exit(f"exchangelib is not installed ({e}); run `make venv` and use .venv/bin/python")

# (file stem, exchangelib service, how many objects the answer must yield)
DOCUMENTS = (
    ("syncfolderitems-512", SyncFolderItems, 512),
    ("getitem-100", GetItem, 100),
)


def target_dir() -> Path:
    """Where cargo builds: $CARGO_TARGET_DIR (as the Makefile exports it), else <repo>/target."""
    value = os.environ.get("CARGO_TARGET_DIR")
    return Path(value) if value else REPO / "target"


def offline_account() -> Account:
    """An account that never touches the network: the version is given, autodiscover is off.

    Exchange 2010 SP2 is the schema level exsync and the simulator speak.
    """
    config = Configuration(
        service_endpoint="https://127.0.0.1:9/EWS/Exchange.asmx",
        credentials=Credentials("CONTOSO\\svc-exsync", "unused"),
        auth_type=BASIC,
        version=Version(build=Build(14, 2)),
    )
    return Account(
        primary_smtp_address="alice@contoso.test",
        config=config,
        autodiscover=False,
        access_type=IMPERSONATION,
    )


def parse(service, data: bytes, chunked: bool = False) -> list:
    """exchangelib's response path, as EWSService.parse(); `chunked` feeds lxml byte by byte."""
    response = DummyResponse(content=data, streaming=chunked)
    _, body = service._get_soap_parts(response=response)
    messages = service._get_soap_messages(body=body)
    return list(service._elems_to_objs(service._get_elements_in_response(response=messages)))


def check(name: str, objects: list, expected: int) -> None:
    """Fails loudly unless exchangelib produced the objects exsync produces from the same bytes."""
    if len(objects) != expected:
        sys.exit(f"{name}: exchangelib produced {len(objects)} objects, expected {expected}")
    for obj in objects:
        if isinstance(obj, Exception):
            sys.exit(f"{name}: exchangelib returned an error: {obj!r}")
        if isinstance(obj, tuple):  # SyncFolderItems: (change type, item)
            change, item = obj
            if change != "create" or not isinstance(item, Message) or not item.id:
                sys.exit(f"{name}: unexpected change {obj!r}")
        elif not isinstance(obj, Message) or not obj.body or not obj.headers or not obj.to_recipients:
            sys.exit(f"{name}: a message without body, headers or recipients: {obj!r}")


def best_of(runs: int, fn) -> tuple[float, float]:
    """(best, median) wall time in seconds over `runs` runs, each after a full collection."""
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def criterion_seconds(name: str) -> float | None:
    """Criterion's estimate for parse/<name>: the slope when it has one, else the mean, as its
    report prints."""
    path = target_dir() / "criterion" / "parse" / name / "new" / "estimates.json"
    try:
        est = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    point = (est.get("slope") or est.get("mean") or {}).get("point_estimate")
    return point / 1e9 if point else None


def exsync_memory() -> dict:
    try:
        return json.loads((target_dir() / "bench-data" / "exsync-memory.json").read_text())
    except (OSError, ValueError):
        return {}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rustc_version() -> str:
    try:
        return subprocess.run(["rustc", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="timed runs per document (best is reported)")
    ap.add_argument("--also-chunked", action="store_true", help="also time lxml fed one byte per chunk")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    data_dir = target_dir() / "bench-data"
    documents = []
    for name, service_cls, expected in DOCUMENTS:
        path = data_dir / f"{name}.xml"
        if not path.is_file():
            sys.exit(
                f"{path} is missing: run the Rust benchmark first "
                "(`cargo bench -p exsync-ews --bench parse`, or `make bench`), "
                "with the same CARGO_TARGET_DIR"
            )
        documents.append((name, service_cls, expected, path.read_bytes()))

    account = offline_account()
    memory = exsync_memory()
    rows = []
    for name, service_cls, expected, data in documents:
        service = service_cls(account=account)
        check(name, parse(service, data), expected)  # also warms up imports and caches
        best, median = best_of(args.runs, lambda: parse(service, data))
        mb = len(data) / 1e6
        line = f"exchangelib {name}: {len(data)} bytes, best {best * 1e3:.2f} ms ({mb / best:.2f} MB/s), median {median * 1e3:.2f} ms"
        if args.also_chunked:
            chunked_best, _ = best_of(max(1, args.runs // 4), lambda: parse(service, data, chunked=True))
            line += f"; fed byte by byte: best {chunked_best * 1e3:.2f} ms ({mb / chunked_best:.2f} MB/s)"
        print(line)
        rust = criterion_seconds(name)
        rows.append((name, len(data), mb / rust if rust else None, mb / best, memory.get(name, {}).get("peak_bytes")))

    print()
    print("| Document | Size | exsync MB/s | exchangelib MB/s | Ratio | exsync peak memory |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, size, rust_mbps, py_mbps, peak in rows:
        rust_cell = f"{rust_mbps:.1f}" if rust_mbps else "(run the Rust bench)"
        ratio = f"{rust_mbps / py_mbps:.0f}×" if rust_mbps else "–"
        peak_cell = f"{peak / 1e6:.2f} MB" if peak is not None else "–"
        print(f"| `{name}.xml` | {size / 1e3:.1f} kB | {rust_cell} | {py_mbps:.1f} | {ratio} | {peak_cell} |")
    print()
    print(f"date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    print(f"nproc: {len(os.sched_getaffinity(0))}; CPU: {cpu_model()}")
    print(f"{rustc_version()}; Python {platform.python_version()}; exchangelib {exchangelib.__version__}; lxml {lxml.etree.__version__}")


if __name__ == "__main__":
    main()

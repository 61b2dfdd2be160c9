"""xlsx_read against a peer, side by side in one run: the same 1000 x 100 workbook of numbers
(100,000 cells, big_workbook.py) read whole, page by page as each server asks, over MCP
stdio, by the official Python MCP SDK at its default settings:

- office-bridge: `office-bridge mcp` (the stdio relay, as Claude Desktop starts it) in front
  of a `serve` on its own data directory, tool `xlsx_read`, following `next_range`;
- excel-mcp-server (PyPI): `excel-mcp-server stdio --allow-dir DIR`, tool `read_range` at its
  default page size (2,000 cells), following `next_range`; and once more with the largest
  page it allows (10,000 cells), so the peer's best case is printed too.

Each round reads with both, alternating which goes first, each read a fresh copy of the
file (nothing kept from an earlier round helps); every value read is compared with the
workbook after the clock stops. Prints cells/s per round, the medians and the
ratio. No timing is asserted: this is a measurement (the README quotes it).

Run: bash tests/mcp_clients/xlsx_read_vs_peer.sh   (installs the peer into target/)
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from big_workbook import BIG_COLS, BIG_ROWS, big_value, write_big  # beside this file
from python_sdk_test import Bridge, a1_cell, error_text, structured  # beside this file

CELLS = BIG_ROWS * BIG_COLS
ROUNDS = int(os.environ.get("ROUNDS", "3"))


async def read_pages(session: ClientSession, tool: str, first_args: dict, next_args) -> tuple[dict, int, float]:
    """Calls `tool` until the result has no next_range. Returns (cells by (row, col), pages,
    seconds); the session is initialised before the clock starts."""
    await session.initialize()
    seen: dict[tuple[int, int], object] = {}
    pages = []
    started = time.perf_counter()
    args = first_args
    while True:
        result = await session.call_tool(tool, args)
        if result.is_error:
            raise RuntimeError(f"{tool}: {error_text(result)}")
        page = structured(result)
        pages.append(page)
        if not page.get("next_range"):
            break
        args = next_args(page)
    seconds = time.perf_counter() - started
    for page in pages:
        address = page.get("address") or page.get("range")
        first, _, _ = address.partition(":")
        r0, c0 = a1_cell(first.split("!")[-1].replace("$", ""))
        for r, row in enumerate(page["values"]):
            for c, v in enumerate(row):
                seen[(r0 + r, c0 + c)] = v
    return seen, len(pages), seconds


def check(name: str, seen: dict) -> None:
    if len(seen) != CELLS:
        raise AssertionError(f"{name}: read {len(seen)} cells, not {CELLS}")
    for (r, c), v in seen.items():
        if v != big_value(r, c):
            raise AssertionError(f"{name}: row {r} col {c}: {v!r} != {big_value(r, c)!r}")


async def with_stdio(params: StdioServerParameters, body):
    async with stdio_client(params) as (read, write, *_):
        async with ClientSession(read, write) as session:
            return await body(session)


def main() -> int:
    peer = shutil.which("excel-mcp-server")
    if not peer:
        print("excel-mcp-server is not on PATH (xlsx_read_vs_peer.sh installs it)", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="ob-peer-"))
    bridge = Bridge(tmp / "bridge")
    try:
        write_big(bridge.files / "big.xlsx")
        peer_dir = tmp / "peer"
        peer_dir.mkdir()
        peer_params = StdioServerParameters(command=peer, args=["stdio", "--allow-dir", str(peer_dir)])

        # Each read is of a file of its own, a copy nobody has read yet, so that no server
        # answers from what it kept of an earlier round.
        copies = 0

        def fresh(folder: Path) -> str:
            nonlocal copies
            copies += 1
            name = f"big-{copies}.xlsx"
            shutil.copy(bridge.files / "big.xlsx", folder / name)
            return name

        def ours(session):
            name = fresh(bridge.files)
            return read_pages(
                session,
                "xlsx_read",
                {"path": name},
                lambda p: {"path": name, "sheet": p["sheet"], "range": p["next_range"]},
            )

        def theirs(max_cells: int | None):
            extra = {} if max_cells is None else {"max_cells": max_cells}

            def body(session):
                path = str(peer_dir / fresh(peer_dir))
                return read_pages(
                    session,
                    "read_range",
                    {"path": path, "sheet": "Data", **extra},
                    lambda p: {"path": path, "sheet": "Data", "range": p["next_range"], **extra},
                )

            return body

        runs = {
            "office-bridge xlsx_read (stdio relay)": (bridge.stdio_params(), ours),
            "excel-mcp-server read_range (default page)": (peer_params, theirs(None)),
            "excel-mcp-server read_range (max_cells 10000)": (peer_params, theirs(10_000)),
        }
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for round_no in range(ROUNDS):
            order = list(runs) if round_no % 2 == 0 else list(reversed(runs))
            for name in order:
                params, body = runs[name]
                seen, pages, seconds = anyio.run(with_stdio, params, body)
                check(name, seen)
                rates[name].append(CELLS / seconds)
                print(f"round {round_no + 1}: {name}: {pages} pages, {seconds:.3f} s, {CELLS / seconds:,.0f} cells/s", flush=True)
        print()
        medians = {name: statistics.median(r) for name, r in rates.items()}
        for name, m in medians.items():
            print(f"median {name}: {m:,.0f} cells/s")
        ours_rate = medians["office-bridge xlsx_read (stdio relay)"]
        for name, m in medians.items():
            if name.startswith("excel-mcp-server"):
                print(f"ratio office-bridge / {name}: {ours_rate / m:.1f}x")
        return 0
    finally:
        bridge.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Shared by the MCP client tests in this folder.

The tool names are a contract, and docs/mcp.md is where it is written: CONTRACT_TOOLS is
read from the first column of that document's "## Tools" table rather than copied here,
so the tests hold the running server to what the documentation says (inspector_test.py
checks that tools/list is exactly this set). The bridge's own tests read the same table.
"""

import re
from itertools import dropwhile, takewhile
from pathlib import Path

MCP_DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"


def documented_tools(doc: str) -> set[str]:
    """The names in the first column of the "## Tools" table of `doc` (docs/mcp.md)."""
    section = doc.split("\n## Tools\n", 1)[1].splitlines()
    rows = takewhile(lambda l: l.startswith("|"), dropwhile(lambda l: not l.startswith("|"), section))
    cells = (re.fullmatch(r"`([a-z0-9_]+)`", row.split("|")[1].strip()) for row in rows)
    return {cell.group(1) for cell in cells if cell}


CONTRACT_TOOLS = documented_tools(MCP_DOC.read_text(encoding="utf-8"))
# An empty set would make every "the server offers the contract's tools" check pass.
if not CONTRACT_TOOLS:
    raise RuntimeError(f"{MCP_DOC}: no tools found in its ## Tools table")

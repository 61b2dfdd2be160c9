"""Judges a conformance run: every check of every server scenario must pass, except the
ones conformance-not-applicable.md lists (each of which must still fail, so the list
cannot go stale). The suite's own exit code cannot say this: it fails on any failure,
and its baseline file works per scenario, while one scenario here (DNS rebinding) has one
check that applies and one that does not.

Usage: check_conformance.py RESULTS_DIR SCENARIO...   (the scenarios the suite listed)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Scenarios this bridge must pass outright: if one of them is missing from the results
# (renamed upstream, or the suite stopped early), that is a failure too.
REQUIRED = {"server-initialize", "ping", "tools-list", "server-sse-multiple-streams", "dns-rebinding-protection"}


def not_applicable() -> dict[str, set[str]]:
    rows: dict[str, set[str]] = {}
    for line in (HERE / "conformance-not-applicable.md").read_text().splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|\s*`?([^`|]+?)`?\s*\|", line)
        if m:
            rows.setdefault(m.group(1), set()).add(m.group(2).strip())
    return rows


def latest_results(results: Path, scenario: str) -> list[dict] | None:
    runs = sorted(results.glob(f"server-{scenario}-*/checks.json"))
    # The scenario name is a prefix of others' (e.g. tools-call-*): take exact matches.
    runs = [r for r in runs if re.fullmatch(rf"server-{re.escape(scenario)}-\d{{4}}-.*", r.parent.name)]
    return json.loads(runs[-1].read_text()) if runs else None


def main() -> int:
    results = Path(sys.argv[1])
    scenarios = sys.argv[2:]
    na = not_applicable()
    problems: list[str] = []
    passed = failed_as_expected = warned = 0
    for name in sorted(set(na) - set(scenarios)):
        problems.append(f"{name}: listed as not applicable but the suite has no such scenario; remove its row")
    for name in sorted(REQUIRED - set(scenarios)):
        problems.append(f"{name}: required scenario not offered by this version of the suite")
    print(f"{'scenario':34} {'check':40} result")
    for scenario in scenarios:
        checks = latest_results(results, scenario)
        if checks is None:
            problems.append(f"{scenario}: no results (the scenario did not run)")
            continue
        skip = na.get(scenario, set())
        judged = [c for c in checks if c.get("status") in ("SUCCESS", "FAILURE", "WARNING")]
        if not judged:
            problems.append(f"{scenario}: no check was judged")
        for c in judged:
            cid, status = c["id"], c["status"]
            listed = "*" in skip or cid in skip
            if status == "FAILURE" and listed:
                verdict = "n/a (conformance-not-applicable.md)"
                failed_as_expected += 1
            elif status == "FAILURE":
                verdict = "FAIL: " + (c.get("errorMessage") or "")[:200]
                problems.append(f"{scenario}/{cid}: {c.get('errorMessage', '')}")
            elif cid in skip:
                verdict = "passes, but listed as not applicable"
                problems.append(f"{scenario}/{cid}: passes now; remove its row from conformance-not-applicable.md")
            elif status == "WARNING":
                verdict = "warning: " + (c.get("errorMessage") or "")[:160]
                warned += 1
            else:
                verdict = "pass"
                passed += 1
            print(f"{scenario:34} {cid:40} {verdict}")
        if "*" in skip and judged and all(c["status"] != "FAILURE" for c in judged):
            problems.append(f"{scenario}: passes now; remove its row from conformance-not-applicable.md")
    print()
    for p in problems:
        print(f"PROBLEM: {p}")
    print(f"({failed_as_expected} checks not applicable, {warned} warnings)")
    print(f"conformance: {passed} passed, {len(problems)} failed, {failed_as_expected} skipped")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

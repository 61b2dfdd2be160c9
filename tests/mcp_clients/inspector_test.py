"""The MCP Inspector's CLI (`@modelcontextprotocol/inspector --cli`, pinned in package.json)
against a running bridge: over Streamable HTTP with the token, and through the stdio relay
`office-bridge mcp`; and the ways it must fail (no token, a wrong token, a CA it does not
trust).

Usage (run.sh does this): python inspector_test.py NODE INSPECTOR_JS BRIDGE_BIN DATA_DIR PORT FILES_DIR
"""

import json
import os
import subprocess
import sys

from contract import CONTRACT_TOOLS as TOOLS  # beside this file: the tools of docs/mcp.md


def main() -> int:
    node, inspector, bridge, data_dir, port, files = sys.argv[1:7]
    url = f"https://localhost:{port}/mcp"
    with open(os.path.join(data_dir, "token"), encoding="utf-8") as f:
        token = f.read().strip()
    ca = os.path.join(data_dir, "tls", "ca.pem")
    trusting = dict(os.environ, NODE_EXTRA_CA_CERTS=ca)

    def inspect(*args: str, env=trusting) -> tuple[int, dict]:
        run = subprocess.run(
            [node, inspector, "--cli", *args],
            env=env, capture_output=True, text=True, timeout=120,
        )
        # One JSON document: a result on stdout, or {"error": ...} on stderr.
        out = run.stdout.strip() or run.stderr.strip()
        try:
            return run.returncode, json.loads(out[out.index("{"):])
        except ValueError:
            raise AssertionError(f"no JSON from the inspector: {run.stdout!r}\n{run.stderr}")

    http = [url, "--header", f"Authorization: Bearer {token}"]
    failures = []

    def check(name: str, ok: bool, detail) -> None:
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
        if not ok:
            failures.append(name)
            print(f"     {json.dumps(detail)[:600]}")

    code, listed = inspect(*http, "--method", "tools/list")
    names = {t["name"] for t in listed.get("tools", [])}
    check(f"tools/list over HTTPS lists exactly the {len(TOOLS)} tools of docs/mcp.md", code == 0 and names == TOOLS,
          {"missing": sorted(TOOLS - names), "extra": sorted(names - TOOLS)})
    annotated = [t["name"] for t in listed.get("tools", []) if "annotations" in t and "inputSchema" in t]
    check("every tool has an input schema and annotations", len(annotated) == len(TOOLS), annotated)

    code, status = inspect(*http, "--method", "tools/call", "--tool-name", "office_status")
    structured = status.get("structuredContent", {})
    check("tools/call office_status over HTTPS", code == 0 and status.get("isError") is False
          and structured.get("bridge", {}).get("version") and files in structured.get("allowed_folders", []),
          status)

    code, answer = inspect(*http, "--method", "tools/call", "--tool-name", "xlsx_read",
                           "--tool-arg", "path=../../etc/passwd")
    text = json.dumps(answer)
    check("a path outside the allowed folders is a tool error the agent can read",
          "outside" in text or "not allowed" in text or "allowed folder" in text, answer)

    relay = [bridge, "--data-dir", data_dir, "mcp", "--port", port]
    code, status = inspect(*relay, "--method", "tools/call", "--tool-name", "office_status")
    check("tools/call office_status through the stdio relay `office-bridge mcp`",
          code == 0 and status.get("isError") is False, status)

    # --stored-auth-only: on a 401 the CLI would otherwise start an interactive OAuth login.
    for name, header in [("without the token", []),
                         ("with a wrong token", ["--header", "Authorization: Bearer nope"])]:
        code, refused = inspect(url, *header, "--stored-auth-only", "--method", "tools/list")
        check(f"{name}: refused, and the client is told why", code != 0
              and "missing or wrong bearer token" in json.dumps(refused), refused)

    untrusting = {k: v for k, v in os.environ.items() if k != "NODE_EXTRA_CA_CERTS"}
    code, refused = inspect(*http, "--method", "tools/list", env=untrusting)
    check("a client that does not trust the bridge's CA cannot connect",
          code != 0 and "certificate" in json.dumps(refused), refused)

    print(f"inspector: {8 - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

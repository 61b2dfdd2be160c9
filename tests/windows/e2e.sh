#!/usr/bin/env bash
# End to end with the Windows binary under Wine, driven from Linux. tests/windows.sh runs it
# with OB_WINE, OB_PRNG_DLL and WINEPREFIX set; $1 is the folder with office-bridge.exe,
# $2 the Linux office-bridge-load (with the Linux office-bridge beside it).
#
#   1. MCP from a Linux script through the Windows relay `office-bridge.exe mcp` on stdio;
#      the relay starts the bridge itself, detached (the launcher's Windows path), and the
#      bridge outlives it.
#   2. The other-user check under Wine: Wine 8 lists every socket with owning process 0,
#      even the bridge's own, so the bridge's self-test fails and it says, in the log and
#      the banner, that other users are not refused (docs/security.md), rather than
#      refusing everyone. That is asserted; it is also why Linux clients can connect.
#   3. The Linux office-bridge-load against the Windows bridge: simulated Excel and
#      PowerPoint panes on the pane channel and MCP agents reading ranges and writing them
#      into decks, over real TLS; every request and every audit record accounted for.
#      `office-bridge.exe notify` follows: its toast name registered for the user, and,
#      Wine having no toast platform, the lines printed instead.
#   4. The administrator's policy file at the OS path from the known folder
#      (C:\ProgramData\office-bridge\policy.json in the prefix), watched live: appearing,
#      read and refused (Wine reports every file as owned by the Wine user, and only an
#      Administrators-, SYSTEM- or TrustedInstaller-owned file may be used), then removed.
#   5. `office-bridge.exe audit verify` on the chain all of it wrote.
set -euo pipefail
bin=$1
load=$2
ob=$bin/office-bridge.exe
[ -f "$bin/bcryptprimitives.dll" ] || cp "$OB_PRNG_DLL" "$bin/bcryptprimitives.dll"
wine() { "$OB_WINE" "$@"; }
winpath() { "$OB_WINE" winepath -w "$1" 2>/dev/null | tr -d '\r'; }
work=$(mktemp -d)
data=$work/data
mkdir -p "$data"
policy_dir=$WINEPREFIX/drive_c/ProgramData/office-bridge
bridge_pid=
cleanup() {
  [ -n "$bridge_pid" ] && kill "$bridge_pid" 2>/dev/null
  rm -rf "$work" "$policy_dir"
}
trap cleanup EXIT
fail() {
  echo "windows e2e: FAILED: $*" >&2
  for f in "$work"/*.log "$data"/bridge.log; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }
  done
  exit 1
}
ok() { echo "windows e2e: ok: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# GET a desktop route from Linux with the bridge's CA and the desktop token.
desktop_get() {
  curl -sS --fail --max-time 20 --cacert "$data/tls/ca.pem" \
    -H "Authorization: Bearer $(cat "$data/desktop-token")" "https://localhost:$port$1"
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
wdata=$(winpath "$data")
port=$(free_port)

# -- 1. MCP through the Windows relay, which starts the bridge ---------------------------
python3 - "$OB_WINE" "$ob" "$wdata" "$port" >"$work/relay.log" 2>&1 <<'EOF' || fail "MCP through the relay"
import json, subprocess, sys
wine, ob, data, port = sys.argv[1:]
relay = subprocess.Popen([wine, ob, "--data-dir", data, "mcp", "--port", port],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
def send(msg):
    relay.stdin.write(json.dumps(msg) + "\n"); relay.stdin.flush()
def answer(id):
    for line in relay.stdout:
        if line.strip():
            msg = json.loads(line)
            if msg.get("id") == id:
                return msg
    raise SystemExit(f"the relay closed before answering {id}")
send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "windows-e2e", "version": "1"}}})
assert answer(1)["result"]["serverInfo"]["name"]
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
tools = {t["name"] for t in answer(2)["result"]["tools"]}
for want in ["excel_read_range", "ppt_add_table", "xlsx_read", "scan_file"]:
    assert want in tools, (want, sorted(tools))
# No workbook is open: a clear error, not a hang or a crash.
send({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
      "params": {"name": "excel_list_sheets", "arguments": {}}})
res = answer(3)
assert res.get("error") or res["result"].get("isError"), res
print(f"tools: {len(tools)}; excel_list_sheets with no workbook: {json.dumps(res)[:160]}")
relay.stdin.close()
relay.wait(timeout=60)
EOF
ok "MCP through office-bridge.exe mcp: $(grep -o 'tools: .*' "$work/relay.log" | head -c 200)"
[ -f "$data/bridge.json" ] || fail "the relay left no bridge running (no bridge.json)"
desktop_get /healthz >"$work/health.json" || fail "the relay's bridge does not answer after the relay exited"
ok "the bridge the relay started detached outlives it: $(cat "$work/health.json")"
# The relay's bridge has no Linux parent here to watch; the rest runs on one started from
# this script (its Linux pid for the load tool), after this one is stopped.
wine "$ob" --data-dir "$wdata" audit verify >"$work/verify-relay.log" 2>&1 || fail "audit verify (relay's bridge)"
"${OB_WINE%/*}/wineserver" -k 2>/dev/null || true
sleep 1

# -- the data directory from the known folder, not from APPDATA ---------------------------
APPDATA='Z:\nowhere' wine "$ob" certs status >"$work/appdata.log" 2>&1 || true
grep -q 'Certificates in C:\\users\\[^\\]*\\AppData\\Roaming\\office-bridge\\tls' "$work/appdata.log" ||
  fail "the default data directory is not RoamingAppData's: $(head -n 1 "$work/appdata.log")"
ok "default data directory from the RoamingAppData known folder, APPDATA ignored: $(head -n 1 "$work/appdata.log" | tr -d '\r')"

# -- 2. the other-user check under Wine ---------------------------------------------------
port=$(free_port)
# ProgramData pointed elsewhere: the policy path must still come from the known folder.
ProgramData='Z:\nowhere' wine "$ob" --data-dir "$wdata" serve --port "$port" >"$work/serve.log" 2>&1 &
bridge_pid=$!
for _ in $(seq 60); do
  desktop_get /healthz >/dev/null 2>&1 && break
  kill -0 "$bridge_pid" 2>/dev/null || fail "the bridge exited at start"
  sleep 0.5
done
desktop_get /healthz >/dev/null || fail "the bridge does not answer"
grep -q 'Other users:   NOT refused' "$work/serve.log" ||
  fail "the banner does not say other users are not refused under Wine"
grep -q 'a connection of its own was not recognised' "$work/serve.log" ||
  fail "the log does not say why the other-user check is off"
ok "under Wine the owner of a socket is unknown (pid 0): the check is off and the bridge says why"

# -- 3. panes and agents from Linux over TLS, with `notify` following ---------------------
toast_key='HKCU\Software\Classes\AppUserModelId\OfficeBridge.Notify'
wine reg delete "$toast_key" /f >/dev/null 2>&1 || true
wine "$ob" --data-dir "$wdata" notify --port "$port" >"$work/notify.out" 2>"$work/notify.err" &
sleep 3
"$load" --port "$port" --data-dir "$data" --bridge-pid "$bridge_pid" --panes 4 --agents 2 \
  --duration 4 --baseline 5 >"$work/load.log" 2>&1 || fail "office-bridge-load against the Windows bridge"
ok "office-bridge-load: $(grep -E '^requests:' "$work/load.log")"
ok "office-bridge-load: $(grep -E '^audit:' "$work/load.log")"
# Toasts: the name is registered for the user; Wine has no toast platform (the class is
# not registered), so `notify` says so once and prints the lines instead.
for _ in $(seq 20); do grep -q 'moved into' "$work/notify.out" && break; sleep 0.5; done
grep -q 'moved into' "$work/notify.out" || fail "notify showed no transfer"
grep -q 'desktop notifications failed' "$work/notify.err" || fail "notify did not say toasts failed"
wine reg query "$toast_key" /v DisplayName 2>/dev/null | grep -q 'office-bridge' ||
  fail "notify did not register its toast name"
ok "notify: toast name registered ($toast_key), toasts unavailable under Wine, printed: $(head -n 1 "$work/notify.out")"

# -- 4. the policy file at the OS path, watched live ---------------------------------------
path=$(desktop_get /v1/status | json 'd["policy_file"]["path"]')
[ "$path" = 'C:\ProgramData\office-bridge\policy.json' ] || fail "policy path $path is not ProgramData's"
mkdir -p "$policy_dir"
echo '{"addins": {"powerpoint": {"enabled": false}}}' >"$policy_dir/policy.json"
for _ in $(seq 20); do
  why=$(desktop_get /v1/status | json 'd["policy_file"].get("error") or ""')
  [ -n "$why" ] && break
  sleep 0.5
done
case $why in
*"owned by S-1-5-21-"*) ;;
*) fail "a user-owned policy file was not refused as such: '$why'" ;;
esac
[ "$(desktop_get /v1/status | json 'd["policy"]["powerpoint_enabled"]')" = True ] ||
  fail "the refused file's setting was applied"
ok "policy file appeared at the known-folder path and was refused live: $why"
rm -rf "$policy_dir"
for _ in $(seq 20); do
  [ "$(desktop_get /v1/status | json 'd["policy_file"].get("error") or ""')" = "" ] && break
  sleep 0.5
done
[ "$(desktop_get /v1/status | json 'd["policy_file"].get("error") or ""')" = "" ] ||
  fail "removing the policy file was not noticed"
ok "policy file removed: noticed live, defaults"

# -- 5. the audit chain ----------------------------------------------------------------------
# A Wine process ignores SIGTERM; ending the prefix's processes stops it (this prefix is
# this run's own).
"${OB_WINE%/*}/wineserver" -k 2>/dev/null || true
wait "$bridge_pid" 2>/dev/null || true
bridge_pid=
wine "$ob" --data-dir "$wdata" audit verify >"$work/verify.log" 2>&1 || fail "audit verify"
ok "audit verify (office-bridge.exe): $(tr -s '\r\n' ' ' <"$work/verify.log" | head -c 200)"

// The shared client's JSON-RPC handling, register/resume, backoff and the administrator's
// switch, driven with a fake WebSocket and fake timers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BridgeClient, STATES, backoffDelay, supportedSets, DISABLED_RETRY_MS } from "../../addins/shared/client.js";
import { RpcError, CODES } from "../../addins/shared/rpc.js";

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.all.push(this);
  }
  send(data) {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000, reason = "") {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }
  // test side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(obj) {
    this.onmessage?.({ data: typeof obj === "string" ? obj : JSON.stringify(obj) });
  }
  serverClose(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  last(method) {
    return [...this.sent].reverse().find((m) => m.method === method);
  }
}

class FakeTimers {
  constructor() {
    this.now = 0;
    this.timers = [];
    this.seq = 0;
  }
  setTimeout = (fn, ms) => {
    const id = ++this.seq;
    this.timers.push({ id, at: this.now + ms, fn, ms });
    return id;
  };
  clearTimeout = (id) => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };
  /** The delays of the timers waiting now. */
  pending() {
    return this.timers.map((t) => t.ms);
  }
  advance(ms) {
    this.now += ms;
    const due = this.timers.filter((t) => t.at <= this.now).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), map: m };
}

function makeClient(extra = {}) {
  FakeSocket.all = [];
  const timers = new FakeTimers();
  const storage = memoryStorage();
  const states = [];
  const client = new BridgeClient({
    url: "wss://localhost:29443/addin/ws",
    app: "excel",
    getDocument: async () => ({ name: "Q3.xlsx", url: "https://contoso/Q3.xlsx" }),
    getCapabilities: () => ["ExcelApi 1.1", "ExcelApi 1.2"],
    operations: {
      "excel.listSheets": async () => ({ sheets: [{ name: "Revenue", position: 0, visible: true }] }),
      "excel.readRange": async (p) => {
        if (!p.sheet) throw new RpcError(CODES.INVALID_PARAMS, 'missing field "sheet"');
        return { sheet: p.sheet, address: p.address, values: [[1]], text: [["1"]], numberFormat: [["General"]] };
      },
      "excel.boom": async () => {
        throw Object.assign(new Error("The requested resource doesn't exist."), { code: "ItemNotFound", debugInfo: { errorLocation: "Worksheets.getItem" } });
      },
      "excel.bug": async () => {
        throw new TypeError("x is undefined");
      },
    },
    WebSocket: FakeSocket,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    random: () => 0.5,
    storage,
    ...extra,
  });
  client.addEventListener("state", (e) => states.push(e.detail.state));
  return { client, timers, storage, states };
}

async function connectAndRegister(client, result = {}) {
  client.start();
  const ws = FakeSocket.all.at(-1);
  ws.open();
  await tick();
  const reg = ws.last("register");
  ws.receive({ jsonrpc: "2.0", id: reg.id, result: { session_id: "ses_1", resumed: false, policy: { addin_enabled: true, flows_enabled: true }, heartbeat_seconds: 15, ...result } });
  await tick();
  return { ws, reg };
}

test("backoff: 1 s, 2 s, 4 s ... capped at 30 s, jitter within +/-20 %, never outside 1..30 s", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 10, 50].map((n) => backoffDelay(n, () => 0.5)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  assert.equal(backoffDelay(0, () => 0), 1000, "never below 1 s");
  assert.equal(backoffDelay(2, () => 0), 3200);
  assert.equal(backoffDelay(2, () => 0.999999), 4800);
  assert.equal(backoffDelay(5, () => 0.999999), 30000, "never above 30 s");
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(3)));
  assert.ok(seen.size > 5, "jitter spreads reconnects");
});

test("register sends app, document, version, capabilities; connected after the answer", async () => {
  const { client, states, storage } = makeClient();
  const { reg } = await connectAndRegister(client);
  assert.equal(reg.jsonrpc, "2.0");
  assert.deepEqual(reg.params, {
    app: "excel",
    document: { name: "Q3.xlsx", url: "https://contoso/Q3.xlsx" },
    addin_version: "0.1.0",
    capabilities: ["ExcelApi 1.1", "ExcelApi 1.2"],
  });
  assert.equal(client.state, STATES.CONNECTED);
  assert.deepEqual(states, [STATES.CONNECTING, STATES.CONNECTED]);
  assert.equal(storage.getItem("office-bridge.session.excel.https://contoso/Q3.xlsx"), "ses_1");
});

test("bridge requests are dispatched to the operation table and answered with the same id", async () => {
  const { client } = makeClient();
  const { ws } = await connectAndRegister(client);
  const served = [];
  client.addEventListener("served", (e) => served.push(e.detail));
  ws.receive({ jsonrpc: "2.0", id: 7, method: "excel.listSheets", params: null });
  ws.receive({ jsonrpc: "2.0", id: "s-8", method: "excel.readRange", params: { sheet: "Revenue", address: "B2" } });
  await tick();
  assert.deepEqual(ws.sent.find((m) => m.id === 7), { jsonrpc: "2.0", id: 7, result: { sheets: [{ name: "Revenue", position: 0, visible: true }] } });
  assert.equal(ws.sent.find((m) => m.id === "s-8").result.address, "B2");
  assert.deepEqual(served.map((s) => s.method), ["excel.listSheets", "excel.readRange"]);
});

test("errors: unknown method -32601, bad params -32602, Office error -32005 with data, bug -32603", async () => {
  const { client } = makeClient();
  const { ws } = await connectAndRegister(client);
  ws.receive({ jsonrpc: "2.0", id: 101, method: "excel.nope", params: {} });
  ws.receive({ jsonrpc: "2.0", id: 102, method: "excel.readRange", params: {} });
  ws.receive({ jsonrpc: "2.0", id: 103, method: "excel.boom" });
  ws.receive({ jsonrpc: "2.0", id: 104, method: "excel.bug" });
  ws.receive({ jsonrpc: "2.0", id: 105, method: "toString" });
  await tick();
  const err = (id) => ws.sent.find((m) => m.id === id).error;
  assert.equal(err(101).code, -32601);
  assert.deepEqual(err(102), { code: -32602, message: 'missing field "sheet"' });
  assert.equal(err(103).code, -32005);
  assert.deepEqual(err(103).data, { code: "ItemNotFound", message: "The requested resource doesn't exist.", debugInfo: { errorLocation: "Worksheets.getItem" } });
  assert.equal(err(104).code, -32603);
  assert.equal(err(105).code, -32601, "inherited properties are not operations");
});

test("malformed frames: not JSON -32700 with id null; not JSON-RPC -32600", async () => {
  const { client } = makeClient();
  const { ws } = await connectAndRegister(client);
  ws.receive("{nope");
  ws.receive({ id: 9, method: "excel.listSheets" });
  await tick();
  assert.deepEqual(ws.sent.at(-2), { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error: the frame is not JSON" } });
  assert.equal(ws.sent.at(-1).id, 9);
  assert.equal(ws.sent.at(-1).error.code, -32600);
});

test("notifications reach listeners; policy.changed with addin_enabled false disables the pane", async () => {
  const { client } = makeClient();
  const { ws } = await connectAndRegister(client);
  const got = [];
  client.addEventListener("notification", (e) => got.push(e.detail));
  ws.receive({ jsonrpc: "2.0", method: "flow.notice", params: { source: { name: "Q3.xlsx" }, sheet: "Revenue", cells: "B2" } });
  ws.receive({ jsonrpc: "2.0", method: "approval.request", params: { approval_id: "ap_1", flow: {}, expires_at: 1 } });
  ws.receive({ jsonrpc: "2.0", method: "policy.changed", params: { policy: { addin_enabled: false, flows_enabled: true } } });
  assert.deepEqual(got.map((g) => g.method), ["flow.notice", "approval.request", "policy.changed"]);
  assert.equal(client.state, STATES.DISABLED);
  assert.equal(ws.sent.length, 1, "notifications are never answered");
  // While disabled, requests are refused.
  ws.receive({ jsonrpc: "2.0", id: 11, method: "excel.listSheets" });
  await tick();
  assert.equal(ws.sent.find((m) => m.id === 11).error.code, -32002);
});

test("approval.decide and label.set are requests with the documented params", async () => {
  const { client } = makeClient();
  const { ws } = await connectAndRegister(client);
  const p1 = client.decideApproval("ap_1", "allow", "document");
  const p2 = client.setLabel("Revenue", "B2:D5", "confidential");
  const d = ws.last("approval.decide");
  const l = ws.last("label.set");
  assert.deepEqual(d.params, { approval_id: "ap_1", decision: "allow", scope: "document" });
  assert.deepEqual(l.params, { sheet: "Revenue", address: "B2:D5", sensitivity: "confidential" });
  ws.receive({ jsonrpc: "2.0", id: d.id, result: { accepted: true } });
  ws.receive({ jsonrpc: "2.0", id: l.id, error: { code: -32601, message: "method not found" } });
  assert.deepEqual(await p1, { accepted: true });
  await assert.rejects(p2, (e) => e instanceof RpcError && e.code === -32601);
});

test("a request the bridge never answers times out with words", async () => {
  const { client, timers } = makeClient();
  await connectAndRegister(client);
  const p = client.decideApproval("ap_1", "deny", "once");
  timers.advance(30000);
  await assert.rejects(p, /did not answer approval.decide within 30s/);
});

test("a dropped connection fails pending requests, reconnects with backoff and resumes the session", async () => {
  const { client, timers, states } = makeClient();
  const { ws } = await connectAndRegister(client);
  const p = client.decideApproval("ap_1", "allow", "once");
  ws.serverClose(1006);
  await assert.rejects(p, /closed before approval.decide was answered/);
  assert.equal(client.state, STATES.RECONNECTING);
  assert.deepEqual(timers.pending(), [1000]);
  timers.advance(1000);
  const ws2 = FakeSocket.all.at(-1);
  assert.notEqual(ws2, ws);
  ws2.serverClose(1006); // refused again: next wait doubles
  assert.deepEqual(timers.pending(), [2000]);
  timers.advance(2000);
  const ws3 = FakeSocket.all.at(-1);
  ws3.open();
  await tick();
  const reg = ws3.last("register");
  assert.equal(reg.params.session_id, "ses_1", "the saved session id is sent to resume");
  ws3.receive({ jsonrpc: "2.0", id: reg.id, result: { session_id: "ses_1", resumed: true, policy: { addin_enabled: true } } });
  await tick();
  assert.equal(client.state, STATES.CONNECTED);
  assert.equal(client.attempt, 0, "backoff resets after a good register");
  assert.ok(states.includes(STATES.RECONNECTING));
  // after a bridge restart the bridge gives a new id: the pane keeps that one
  ws3.serverClose(1001);
  timers.advance(1000);
  const ws4 = FakeSocket.all.at(-1);
  ws4.open();
  await tick();
  const reg4 = ws4.last("register");
  ws4.receive({ jsonrpc: "2.0", id: reg4.id, result: { session_id: "ses_2", resumed: false, policy: { addin_enabled: true } } });
  await tick();
  assert.equal(client.storage.getItem(client.storageKey), "ses_2");
});

test("backoff is capped at 30 s over many failures", async () => {
  const { client, timers } = makeClient();
  client.start();
  const waits = [];
  for (let i = 0; i < 8; i++) {
    FakeSocket.all.at(-1).serverClose(1006);
    waits.push(timers.pending()[0]);
    timers.advance(timers.pending()[0]);
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test("disabled by the administrator: -32002 then close 4003, retry register every second, recover", async () => {
  const { client, timers, states } = makeClient();
  client.start();
  const ws = FakeSocket.all.at(-1);
  ws.open();
  await tick();
  const reg = ws.last("register");
  ws.receive({ jsonrpc: "2.0", id: reg.id, error: { code: -32002, message: "disabled by the administrator", data: { policy: { addin_enabled: false } } } });
  await tick();
  assert.equal(client.state, STATES.DISABLED);
  ws.serverClose(4003, "disabled");
  await tick();
  assert.equal(client.state, STATES.DISABLED);
  assert.deepEqual(timers.pending(), [DISABLED_RETRY_MS]);
  assert.equal(DISABLED_RETRY_MS, 1000, "turned back on, the pane learns it within 2 s (the bridge reads its policy file every second)");
  timers.advance(DISABLED_RETRY_MS - 1);
  assert.equal(FakeSocket.all.length, 1, "no retry before the interval");
  timers.advance(1);
  const ws2 = FakeSocket.all.at(-1);
  assert.equal(FakeSocket.all.length, 2);
  ws2.open();
  await tick();
  const reg2 = ws2.last("register");
  ws2.receive({ jsonrpc: "2.0", id: reg2.id, result: { session_id: "ses_9", policy: { addin_enabled: true } } });
  await tick();
  assert.equal(client.state, STATES.CONNECTED);
  assert.deepEqual(states.filter((s, i) => s !== states[i - 1]), [STATES.CONNECTING, STATES.DISABLED, STATES.CONNECTED]);
});

test("on the stand-in: register says simulated; -32006 then close 4004 stops, says how, no retry", async () => {
  const { client, timers } = makeClient({ simulated: true });
  client.start();
  const ws = FakeSocket.all.at(-1);
  ws.open();
  await tick();
  const reg = ws.last("register");
  assert.equal(reg.params.simulated, true);
  ws.receive({ jsonrpc: "2.0", id: reg.id, error: { code: -32006, message: "the playground is off: start office-bridge with `office-bridge serve --playground`" } });
  await tick();
  ws.serverClose(4004, "the playground is off");
  await tick();
  assert.equal(client.state, STATES.PLAYGROUND_OFF);
  assert.match(client.stateDetail, /serve --playground/);
  assert.deepEqual(timers.pending(), [], "no reconnect: the bridge would refuse again");
  // In Office (not simulated) register does not carry the field at all.
  const plain = makeClient();
  const { reg: reg2 } = await connectAndRegister(plain.client);
  assert.equal("simulated" in reg2.params, false);
});

test("close 4003 without a register error (policy changed live) also disables", async () => {
  const { client, timers } = makeClient();
  const { ws } = await connectAndRegister(client);
  ws.serverClose(4003);
  assert.equal(client.state, STATES.DISABLED);
  assert.deepEqual(timers.pending(), [DISABLED_RETRY_MS]);
});

test("close 4001 (superseded by another window) does not reconnect; retryNow does", async () => {
  const { client, timers } = makeClient();
  const { ws } = await connectAndRegister(client);
  ws.serverClose(4001);
  assert.equal(client.state, STATES.SUPERSEDED);
  assert.deepEqual(timers.pending(), []);
  client.retryNow();
  assert.equal(FakeSocket.all.length, 2);
});

test("stop closes the socket and stops reconnecting", async () => {
  const { client, timers } = makeClient();
  const { ws } = await connectAndRegister(client);
  client.stop();
  await tick();
  assert.equal(ws.readyState, 3);
  assert.equal(client.state, STATES.STOPPED);
  assert.deepEqual(timers.pending(), []);
});

test("supportedSets lists every supported version of the host's sets", () => {
  const Office = { context: { requirements: { isSetSupported: (n, v) => n === "ExcelApi" && Number(v.split(".")[1]) <= 3 } } };
  assert.deepEqual(supportedSets(Office, "excel"), ["ExcelApi 1.1", "ExcelApi 1.2", "ExcelApi 1.3"]);
});

test("disabled but the bridge does not close: the pane closes after 5 s and retries every second", async () => {
  const { client, timers } = makeClient();
  client.start();
  const ws = FakeSocket.all.at(-1);
  ws.open();
  await tick();
  const reg = ws.last("register");
  ws.receive({ jsonrpc: "2.0", id: reg.id, error: { code: -32002, message: "disabled" } });
  await tick();
  assert.deepEqual(timers.pending(), [5000]);
  timers.advance(5000);
  await tick();
  assert.equal(ws.readyState, 3);
  assert.equal(client.state, STATES.DISABLED);
  assert.deepEqual(timers.pending(), [DISABLED_RETRY_MS]);
});

test("register clamps a long document name to 1024 bytes and drops a url over 8192 bytes", async () => {
  const { client } = makeClient({ getDocument: async () => ({ name: "é".repeat(600), url: `https://x/${"a".repeat(9000)}` }) });
  client.start();
  const ws = FakeSocket.all.at(-1);
  ws.open();
  await tick();
  const reg = ws.last("register");
  assert.equal(new TextEncoder().encode(reg.params.document.name).length, 1024);
  assert.equal(reg.params.document.url, "");
});

test("approval.list and label.list are requests with empty params", async () => {
  const { client } = makeClient();
  const { ws } = await connectAndRegister(client);
  const pa = client.listApprovals();
  const pm = client.listMarks();
  const a = ws.last("approval.list");
  const m = ws.last("label.list");
  assert.deepEqual([a.params, m.params], [{}, {}]);
  ws.receive({ jsonrpc: "2.0", id: a.id, result: { approvals: [] } });
  ws.receive({ jsonrpc: "2.0", id: m.id, result: { marks: [{ sheet: "Revenue", address: "B2:D5" }] } });
  assert.deepEqual(await pa, { approvals: [] });
  assert.deepEqual(await pm, { marks: [{ sheet: "Revenue", address: "B2:D5" }] });
});

test("restarted: a reconnect whose session the bridge no longer knows (a new bridge)", async () => {
  // No sessionStorage (some Office webviews): the id of this page's last register is sent.
  const { client, timers } = makeClient({ storage: null });
  const { ws } = await connectAndRegister(client);
  assert.equal(client.restarted, false, "a first register is not a restart");
  const reconnect = async (result) => {
    FakeSocket.all.at(-1).serverClose(1001);
    timers.advance(1000);
    const next = FakeSocket.all.at(-1);
    next.open();
    await tick();
    const reg = next.last("register");
    next.receive({ jsonrpc: "2.0", id: reg.id, result: { policy: { addin_enabled: true }, ...result } });
    await tick();
    return reg;
  };
  assert.ok(ws);
  let reg = await reconnect({ session_id: "ses_1", resumed: true });
  assert.equal(reg.params.session_id, "ses_1", "the in-memory id, without storage");
  assert.equal(client.restarted, false);
  reg = await reconnect({ session_id: "ses_2", resumed: false });
  assert.equal(reg.params.session_id, "ses_1");
  assert.equal(client.restarted, true, "the bridge did not know the session");
  reg = await reconnect({ session_id: "ses_2", resumed: true });
  assert.equal(reg.params.session_id, "ses_2", "the new bridge's id from then on");
  assert.equal(client.restarted, false);
});

test("nothing answers on the bridge's port: 'office-bridge is not running', and the retry counts down", async () => {
  const { statusText, statusDetail } = await import("../../addins/shared/ui.js");
  const { NOT_RUNNING } = await import("../../addins/shared/client.js");
  const { client, timers } = makeClient({ random: () => 0.5 });
  client.start();
  // The socket fails before it opens (a refused connection): close 1006.
  FakeSocket.all.at(-1).serverClose(1006);
  assert.equal(client.state, STATES.RECONNECTING);
  assert.equal(client.notRunning, true);
  assert.equal(statusText(client), "office-bridge is not running: start it with `office-bridge serve`");
  assert.equal(statusText(client), NOT_RUNNING);
  const due = client.retryAt;
  assert.equal(statusDetail(client, due - 9000), "Retrying in 9 s");
  assert.equal(statusDetail(client, due - 8200), "Retrying in 9 s");
  assert.equal(statusDetail(client, due - 7900), "Retrying in 8 s", "it counts down");
  assert.equal(statusDetail(client, due + 500), "Retrying in 1 s", "never 0 or less");
  // A connection that opened and then dropped says why instead.
  timers.advance(timers.pending()[0]);
  const ws = FakeSocket.all.at(-1);
  ws.open();
  await tick();
  ws.receive({ jsonrpc: "2.0", id: ws.last("register").id, result: { session_id: "ses_1", policy: { addin_enabled: true } } });
  await tick();
  assert.equal(statusDetail(client), "");
  ws.serverClose(1001);
  assert.equal(client.notRunning, false);
  assert.equal(statusText(client), "Reconnecting to office-bridge…");
  assert.match(statusDetail(client), /^office-bridge is restarting\. Retrying in \d s$/);
});

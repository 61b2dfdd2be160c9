// A stand-in for the Rust bridge, for browser tests of the panes without building it: serves
// addins/ over HTTPS with the bridge's Content-Security-Policy and speaks the add-in channel
// (docs/addin-protocol.md) on /addin/ws with a minimal WebSocket server (RFC 6455, text
// frames, close, ping). Tests drive panes with call()/notify() and read what panes sent.
// What the real bridge keeps, it keeps here too, as plain data tests set and read: the open
// approvals per app (`approvals`, answered to approval.list), the confidential marks
// (`marks`, label.list; label.set adds or removes exactly), and the sessions it knows
// (`restart()` forgets them and drops the panes with 1001, as a restarted bridge would),
// the transfers (`flows`, which flow.list answers from); an unknown method gets -32601.
// For the monitor page it also speaks the token-protected events API (docs/events.md):
// GET /v1/events (server-sent events, sent with emit()), /v1/flows (`flows`, newest first),
// /v1/approvals (`approvals` of every app), /v1/status, /v1/policy, and POST
// /v1/approvals/{id} (recorded in `answers`, emitted as "approval.answer").
import { createServer } from "node:https";
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { EventEmitter } from "node:events";

const ADDINS = join(dirname(fileURLToPath(import.meta.url)), "../../addins");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json" };

export function selfSignedCert() {
  const dir = mkdtempSync(join(tmpdir(), "ob-cert-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], { stdio: "ignore" });
  return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) };
}

export function csp(port) {
  return `default-src 'self'; script-src 'self' https://appsforoffice.microsoft.com; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' wss://localhost:${port} https://appsforoffice.microsoft.com; frame-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'; object-src 'none'`;
}

class Conn extends EventEmitter {
  constructor(socket) {
    super();
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.app = null;
    this.registered = null;
    this.sent = [];
    this.received = [];
    socket.on("data", (d) => this.#onData(d));
    socket.on("close", () => this.emit("close"));
    socket.on("error", () => {});
  }
  #onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const op = this.buf[0] & 0x0f;
      const finBit = (this.buf[0] & 0x80) !== 0;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      const masked = this.buf[1] & 0x80;
      const need = off + (masked ? 4 : 0) + len;
      if (this.buf.length < need) return;
      let payload = this.buf.subarray(off + (masked ? 4 : 0), need);
      if (masked) {
        const key = this.buf.subarray(off, off + 4);
        payload = Buffer.from(payload.map((b, i) => b ^ key[i % 4]));
      }
      this.buf = this.buf.subarray(need);
      this.lastFin = finBit;
      if (op === 1 || op === 0) {
        this.frags = op === 1 ? [payload] : [...(this.frags ?? []), payload];
        if (!this.lastFin) continue;
        const msg = JSON.parse(Buffer.concat(this.frags).toString("utf8"));
        this.frags = null;
        this.received.push(msg);
        this.emit("message", msg);
      } else if (op === 8) this.close(1000);
      else if (op === 9) this.#frame(10, payload);
    }
  }
  #frame(op, payload) {
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | op, n]) : n < 65536 ? Buffer.from([0x80 | op, 126, n >> 8, n & 255]) : Buffer.concat([Buffer.from([0x80 | op, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
    if (!this.socket.destroyed) this.socket.write(Buffer.concat([head, payload]));
  }
  send(obj) {
    this.sent.push(obj);
    this.#frame(1, Buffer.from(JSON.stringify(obj)));
  }
  close(code = 1000, reason = "") {
    if (this.closing) return;
    this.closing = true;
    const r = Buffer.from(reason);
    const p = Buffer.alloc(2 + r.length);
    p.writeUInt16BE(code);
    r.copy(p, 2);
    this.#frame(8, p);
    setTimeout(() => this.socket.destroy(), 50);
  }
}

export async function startFakeBridge({ port = 0, policy = { excel: true, powerpoint: true } } = {}) {
  const { key, cert } = selfSignedCert();
  const events = new EventEmitter();
  const conns = new Set();
  let nextId = 1;
  let sessions = 0;
  const known = new Set(); // session ids this "bridge" issued since its last restart
  const approvals = { excel: [], powerpoint: [] };
  const marks = [];
  const flows = []; // /v1/flows rows, newest first
  const answers = []; // POST /v1/approvals/{id} bodies
  const streams = new Set(); // open /v1/events responses
  const token = randomBytes(32).toString("hex");
  const waiting = new Map();
  const server = createServer({ key, cert }, (req, res) => {
    const url = new URL(req.url, "https://localhost");
    if (url.pathname.startsWith("/v1/")) {
      api(req, res, url);
      return;
    }
    let rel = decodeURIComponent(url.pathname).replace(/^\/+/, "");
    if (rel === "" || rel.endsWith("/")) rel += "index.html";
    const file = normalize(join(ADDINS, rel));
    if (!file.startsWith(ADDINS) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end("not found\n");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-security-policy": csp(server.address().port), "cache-control": "no-cache" });
    res.end(readFileSync(file));
  });
  server.on("upgrade", (req, socket) => {
    const origin = req.headers.origin;
    const port = server.address().port;
    if (req.url !== "/addin/ws" || origin !== `https://localhost:${port}`) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    const accept = createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const conn = new Conn(socket);
    conns.add(conn);
    conn.on("close", () => conns.delete(conn));
    conn.on("message", (msg) => {
      if (msg.method === "register") {
        const app = msg.params?.app;
        if (!policy[app]) {
          conn.send({ jsonrpc: "2.0", id: msg.id, error: { code: -32002, message: "add-in disabled by the administrator", data: { policy: { addin_enabled: false, flows_enabled: true } } } });
          setTimeout(() => conn.close(4003, "disabled by the administrator"), 20);
          return;
        }
        conn.app = app;
        conn.registered = msg.params;
        const resumed = known.has(msg.params.session_id);
        const session_id = resumed ? msg.params.session_id : `ses_${++sessions}`;
        known.add(session_id);
        conn.send({ jsonrpc: "2.0", id: msg.id, result: { session_id, resumed, document_id: `doc_${app}`, policy: { addin_enabled: true, flows_enabled: true }, heartbeat_seconds: 15, bridge_version: "fake" } });
        events.emit("registered", conn);
      } else if (msg.method === "approval.decide") {
        events.emit(msg.method, msg.params, conn);
        const list = approvals[conn.app] ?? [];
        const i = list.findIndex((a) => a.approval_id === msg.params?.approval_id);
        if (i >= 0) list.splice(i, 1);
        conn.send({ jsonrpc: "2.0", id: msg.id, result: { accepted: true } });
      } else if (msg.method === "label.set") {
        events.emit(msg.method, msg.params, conn);
        const { sheet, address, sensitivity } = msg.params ?? {};
        const i = marks.findIndex((m) => m.sheet === sheet && m.address === address);
        if (sensitivity === "confidential" && i < 0) marks.push({ sheet, address });
        if (sensitivity === "normal" && i >= 0) marks.splice(i, 1); // exact range only
        conn.send({ jsonrpc: "2.0", id: msg.id, result: { applied: true } });
      } else if (msg.method === "approval.list") {
        events.emit(msg.method, msg.params, conn);
        conn.send({ jsonrpc: "2.0", id: msg.id, result: { approvals: structuredClone(approvals[conn.app] ?? []) } });
      } else if (msg.method === "label.list") {
        events.emit(msg.method, msg.params, conn);
        conn.send({ jsonrpc: "2.0", id: msg.id, result: { marks: structuredClone(marks) } });
      } else if (msg.method === "flow.list") {
        events.emit(msg.method, msg.params, conn);
        // {flow_ids}: those transfers; {recent: n}: the latest n (newest first, as `flows` is).
        const recent = Number(msg.params?.recent) || 0;
        const ids = new Set(msg.params?.flow_ids ?? []);
        const picked = recent ? flows.slice(0, recent) : flows.filter((f) => ids.has(f.flow_id));
        conn.send({ jsonrpc: "2.0", id: msg.id, result: { flows: structuredClone(picked) } });
      } else if (msg.method === "ping") {
        conn.send({ jsonrpc: "2.0", id: msg.id, result: { pong: Math.floor(Date.now() / 1000) } });
      } else if (msg.method !== undefined && msg.id !== undefined) {
        // As the bridge does: every request gets an answer, an unknown method -32601.
        conn.send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: `method not found: ${msg.method}` } });
      } else if (msg.id !== undefined && !msg.method && waiting.has(msg.id)) {
        const w = waiting.get(msg.id);
        waiting.delete(msg.id);
        w(msg);
      }
    });
  });
  function api(req, res, url) {
    const json = (status, body) => res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${token}`) return json(401, { error: "missing or wrong token" });
    const path = url.pathname;
    if (path === "/v1/events" && req.method === "GET") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      res.write(": hello\n\n");
      streams.add(res);
      req.on("close", () => streams.delete(res));
      return;
    }
    if (path === "/v1/flows") return json(200, { flows: flows.slice(0, Number(url.searchParams.get("limit")) || 100) });
    if (path === "/v1/approvals" && req.method === "GET") return json(200, { approvals: Object.values(approvals).flat() });
    if (path === "/v1/status") return json(200, { version: "0.0.0-fake", documents: [], policy: { excel_enabled: true, powerpoint_enabled: true, flows_enabled: true, agent_client_may_approve: true } });
    if (path === "/v1/policy") return json(200, { path: null, policy: { flows: { default: "notify" } }, values: [{ path: "flows.default", value: "notify", source: "default" }], error: null });
    const m = /^\/v1\/approvals\/([^/]+)$/.exec(path);
    if (m && req.method === "POST") {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        const id = decodeURIComponent(m[1]);
        const answer = { approval_id: id, ...JSON.parse(body || "{}") };
        const list = Object.values(approvals).find((l) => l.some((a) => a.approval_id === id));
        if (!list) return json(404, { error: `no pending approval ${id}` });
        list.splice(list.findIndex((a) => a.approval_id === id), 1);
        answers.push(answer);
        events.emit("approval.answer", answer);
        json(200, { accepted: true });
      });
      return;
    }
    json(404, { error: "not found" });
  }

  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  const actualPort = server.address().port;
  const pane = (app) => [...conns].find((c) => c.app === app && c.registered);
  return {
    port: actualPort,
    origin: `https://localhost:${actualPort}`,
    events,
    policy,
    approvals,
    marks,
    flows,
    answers,
    token,
    pane,
    /** Sends an event to every open /v1/events stream: `type` is its name and data's type. */
    emit(type, data = {}) {
      const frame = `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      for (const r of streams) r.write(frame);
      return streams.size;
    },
    /** Ends every open /v1/events stream (the monitor reconnects and reloads what it shows). */
    dropStreams() {
      for (const r of streams) r.destroy();
    },
    /** How many monitor pages have the event stream open. */
    get streams() {
      return streams.size;
    },
    /** The next `method` a pane sends (params, conn), optionally only from `app`; rejects after
     * `timeoutMs` so a message that never comes fails the test instead of hanging it. */
    next(method, { app = null, timeoutMs = 10000 } = {}) {
      return new Promise((resolve, reject) => {
        const on = (params, conn) => {
          if (app && conn?.app !== app) return;
          clearTimeout(timer);
          events.off(method, on);
          resolve(params);
        };
        const timer = setTimeout(() => {
          events.off(method, on);
          reject(new Error(`no ${method}${app ? ` from the ${app} pane` : ""} within ${timeoutMs} ms`));
        }, timeoutMs);
        events.on(method, on);
      });
    },
    async waitForPane(app, timeoutMs = 15000) {
      const t0 = Date.now();
      while (Date.now() - t0 < timeoutMs) {
        const c = pane(app);
        if (c) return c;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no ${app} pane registered within ${timeoutMs} ms`);
    },
    /** Sends a request to a pane; resolves with its whole JSON-RPC response. */
    call(app, method, params = {}) {
      const c = pane(app);
      if (!c) return Promise.reject(new Error(`no ${app} pane`));
      const id = nextId++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        c.send({ jsonrpc: "2.0", id, method, params });
      });
    },
    notify(app, method, params = {}) {
      pane(app)?.send({ jsonrpc: "2.0", method, params });
    },
    disconnect(app, code, reason) {
      pane(app)?.close(code, reason);
    },
    /** As a restarted bridge: every session forgotten (the next register is not resumed),
     * the held approvals dropped, the panes told it is going away (1001). Marks are stored. */
    restart() {
      known.clear();
      for (const app of Object.keys(approvals)) approvals[app].length = 0;
      for (const c of conns) c.close(1001, "the bridge is shutting down");
    },
    close() {
      for (const r of streams) r.destroy();
      for (const c of conns) c.socket.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

// node tests/addins/fake-bridge.mjs [port]: serve the panes and the playground by hand.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const b = await startFakeBridge({ port: Number(process.argv[2] ?? 29443) });
  console.log(`fake bridge at ${b.origin}/playground/ (self-signed certificate)`);
  b.events.on("registered", (c) => console.log("registered", c.app, c.registered.document));
}

// Shared by the tests that run the REAL bridge (OFFICE_BRIDGE_BIN): start and stop
// `office-bridge serve --port 0` on a throwaway data dir with its own administrator policy
// file, speak MCP to it as an agent's client does, call its HTTP API and read its event
// stream as the desktop does, and connect simulated panes over the add-in channel (wss,
// RFC 6455, written here: Node 20 has no WebSocket client).
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SseParser } from "../../../addins/monitor/model.js";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The Chromium flags of every browser test (see the brief, section 8). */
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

// ------------------------------------------------------------------ the bridge process

/**
 * Starts `office-bridge serve --port 0` with its own data dir and, when `policy` is given,
 * an administrator policy file (OFFICE_BRIDGE_POLICY). Resolves once the banner is out,
 * with {origin, port, dataDir, ca, token, desktopToken, proc, logs, dir}: `token` is the
 * agent's (/mcp), `desktopToken` the desktop credential (the monitor, answering approvals).
 * `playground`: start it with `--playground` (the simulated documents of /playground/).
 */
export async function startBridge(bin, name, policy, { dataDir, port = 0, dir, playground = false } = {}) {
  dir ??= mkdtempSync(join(tmpdir(), `ob-${name}-`));
  dataDir ??= join(dir, "data");
  const env = { ...process.env };
  delete env.OFFICE_BRIDGE_DATA_DIR;
  if (policy !== undefined) {
    const policyFile = join(dir, "policy.json");
    writeFileSync(policyFile, JSON.stringify(policy));
    env.OFFICE_BRIDGE_POLICY = policyFile;
  }
  const args = ["serve", "--port", String(port), "--data-dir", dataDir, ...(playground ? ["--playground"] : [])];
  const proc = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const b = { name, bin, dir, dataDir, proc, logs: [], env };
  proc.stdout.on("data", (d) => b.logs.push(String(d)));
  proc.stderr.on("data", (d) => b.logs.push(String(d)));
  const t0 = Date.now();
  let m;
  while (!(m = /^ {2}URL: +(https:\/\/localhost:(\d+))\/\s*$/m.exec(b.logs.join(""))) || !/Stop with Ctrl-C/.test(b.logs.join(""))) {
    if (Date.now() - t0 > 30000) {
      proc.kill("SIGKILL");
      throw new Error(`bridge ${name} did not start:\n${b.logs.join("")}`);
    }
    if (proc.exitCode !== null) throw new Error(`bridge ${name} exited (${proc.exitCode}):\n${b.logs.join("")}`);
    await sleep(50);
  }
  b.origin = m[1];
  b.port = Number(m[2]);
  const banner = b.logs.join("");
  const caPath = /^ {2}CA: +(.+?) \(expires/m.exec(banner)?.[1] ?? join(dataDir, "tls/ca.pem");
  const tokenPath = /^ {2}Token file: +(.+?) \(print it/m.exec(banner)?.[1] ?? join(dataDir, "token");
  b.ca = readFileSync(caPath);
  const desktopTokenPath = /^ {2}Desktop token: +(.+?) \(/m.exec(banner)?.[1] ?? join(dataDir, "desktop-token");
  b.token = readFileSync(tokenPath, "utf8").trim();
  b.desktopToken = readFileSync(desktopTokenPath, "utf8").trim();
  return b;
}

/** SIGTERM (graceful shutdown), SIGKILL after 5 s. */
/** Stops a bridge: SIGTERM (a clean stop: held writes are refused first), or SIGKILL to
 * stand for a crash. */
export async function stopBridge(b, { signal = "SIGTERM" } = {}) {
  if (!b?.proc || b.proc.exitCode !== null || b.proc.signalCode !== null) return;
  const exited = new Promise((r) => b.proc.once("exit", r));
  b.proc.kill(signal);
  const timer = setTimeout(() => b.proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Runs another office-bridge command against the same data dir; resolves with {code, stdout, stderr}. */
export function runCommand(bin, args, { env = process.env, timeout = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d) => (stdout += d));
    proc.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`office-bridge ${args.join(" ")} did not finish in ${timeout} ms`));
    }, timeout);
    proc.on("error", reject);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ------------------------------------------------------------------ the HTTP API and its events

/** The bridge's token-protected HTTP API (/v1/...), as a desktop tool calls it: with the
 * desktop credential, or with `token` (the agent's, to show what it may not do). Resolves
 * with {status, body} (body parsed from JSON). */
export function api(bridge, method, path, body, token = bridge.desktopToken) {
  return new Promise((resolveApi, reject) => {
    const req = httpsRequest(new URL(path, bridge.origin), { method, ca: bridge.ca, agent: false, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolveApi({ status: res.statusCode, body: text ? JSON.parse(text) : null }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * `GET /v1/events` read as the monitor page reads it (its own SseParser): every event,
 * {event, data} with `data` parsed, in order. `EventStream.open` resolves once the stream
 * is answered (200), so what happens after it is on the stream.
 */
export class EventStream {
  static open(bridge, token = bridge.desktopToken) {
    return new Promise((resolveOpen, reject) => {
      const req = httpsRequest(new URL("/v1/events", bridge.origin), { ca: bridge.ca, agent: false, headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET /v1/events: HTTP ${res.statusCode}`));
          return;
        }
        resolveOpen(new EventStream(req, res));
      });
      req.on("error", reject);
      req.end();
    });
  }

  constructor(req, res) {
    this.req = req;
    this.events = [];
    this.changed = new EventEmitter();
    const parser = new SseParser((e) => this.#push(e));
    res.setEncoding("utf8");
    res.on("data", (d) => parser.push(d));
    res.on("error", () => {});
  }

  #push({ event, data }) {
    this.events.push({ event, data: JSON.parse(data) });
    this.changed.emit("event");
  }

  /** Resolves with the first event named `name` whose data passes `pred` (waiting for it). */
  async next(name, pred = () => true, timeout = 15000) {
    const t0 = Date.now();
    for (;;) {
      const hit = this.events.find((e) => e.event === name && pred(e.data));
      if (hit) return hit.data;
      if (Date.now() - t0 > timeout) throw new Error(`no ${name} event within ${timeout} ms (got ${this.events.map((e) => e.event).join(", ")})`);
      await new Promise((r) => {
        const done = () => {
          clearTimeout(t);
          this.changed.off("event", done);
          r();
        };
        const t = setTimeout(done, 100);
        this.changed.on("event", done);
      });
    }
  }

  /** The data of every event named `name`, in order. */
  all(name) {
    return this.events.filter((e) => e.event === name).map((e) => e.data);
  }

  close() {
    this.req.destroy();
  }
}

// ------------------------------------------------------------------ a tiny MCP client

/**
 * Streamable HTTP, as an agent's client speaks it: POST JSON-RPC to /mcp with the bearer
 * token, trusting only the bridge's CA; no Origin header (not a browser). The answer is
 * application/json or a text/event-stream whose `data:` lines carry JSON-RPC messages.
 */
export class McpClient {
  constructor(bridge) {
    this.url = new URL("/mcp", bridge.origin);
    this.token = bridge.token;
    this.agent = new Agent({ ca: bridge.ca, keepAlive: false });
    this.session = null;
    this.protocol = null;
    this.nextId = 1;
    this.open = new Set(); // responses still streaming, destroyed by close()
  }

  async connect() {
    const init = await this.rpc("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "office-bridge-e2e", version: "0.1.0" },
    });
    if (!this.session) throw new Error("initialize answered without an mcp-session-id header");
    this.protocol = init.protocolVersion;
    const r = await this.post({ jsonrpc: "2.0", method: "notifications/initialized" });
    if (r.status !== 202 && r.status !== 200) throw new Error(`notifications/initialized: HTTP ${r.status}`);
    return init;
  }

  /** A request; resolves with its result, rejects with its JSON-RPC error. */
  async rpc(method, params) {
    const id = this.nextId++;
    const r = await this.post({ jsonrpc: "2.0", id, method, params }, id);
    if (r.message.error) throw Object.assign(new Error(`${method}: ${r.message.error.message}`), { rpc: r.message.error });
    return r.message.result;
  }

  callTool(name, args) {
    return this.rpc("tools/call", { name, arguments: args });
  }

  post(body, id) {
    const headers = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${this.token}`,
    };
    if (this.session) headers["mcp-session-id"] = this.session;
    if (this.protocol) headers["mcp-protocol-version"] = this.protocol;
    return new Promise((resolvePost, reject) => {
      const req = httpsRequest(this.url, { method: "POST", agent: this.agent, headers }, (res) => {
        this.open.add(res);
        res.on("close", () => this.open.delete(res));
        const sid = res.headers["mcp-session-id"];
        if (sid && !this.session) this.session = sid;
        const type = String(res.headers["content-type"] ?? "");
        res.setEncoding("utf8");
        let text = "";
        let done = false;
        const finish = (message) => {
          done = true;
          resolvePost({ status: res.statusCode, headers: res.headers, message });
          res.destroy();
        };
        if (res.statusCode >= 400 || id === undefined || !/event-stream|json/.test(type)) {
          res.on("data", (d) => (text += d));
          res.on("end", () => {
            if (res.statusCode >= 400) reject(new Error(`POST ${body.method}: HTTP ${res.statusCode} ${text.slice(0, 500)}`));
            else resolvePost({ status: res.statusCode, headers: res.headers, message: text ? JSON.parse(text) : null });
          });
          return;
        }
        if (type.includes("application/json")) {
          res.on("data", (d) => (text += d));
          res.on("end", () => finish(JSON.parse(text)));
          return;
        }
        // text/event-stream: events end with a blank line; keep the one answering `id`.
        res.on("data", (d) => {
          text += d.replace(/\r\n/g, "\n");
          let cut;
          while (!done && (cut = text.indexOf("\n\n")) >= 0) {
            const event = text.slice(0, cut);
            text = text.slice(cut + 2);
            const data = event
              .split("\n")
              .filter((l) => l.startsWith("data:"))
              .map((l) => l.slice(5).replace(/^ /, ""))
              .join("\n");
            if (!data) continue;
            const msg = JSON.parse(data);
            if (msg.id === id && ("result" in msg || "error" in msg)) finish(msg);
          }
        });
        res.on("end", () => {
          if (!done) reject(new Error(`POST ${body.method}: the event stream ended without an answer to id ${id}`));
        });
      });
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });
  }

  close() {
    for (const res of this.open) res.destroy();
    this.agent.destroy();
  }
}

// ------------------------------------------------------------------ a WebSocket client

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A WebSocket client over the bridge's TLS: text messages, ping/pong, close. */
export class WsClient extends EventEmitter {
  static connect(url, { ca, origin }) {
    return new Promise((resolve, reject) => {
      const key = randomBytes(16).toString("base64");
      const req = httpsRequest(url, {
        ca,
        agent: false,
        headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key, Origin: origin },
      });
      req.on("upgrade", (res, socket, head) => {
        const accept = createHash("sha1").update(key + GUID).digest("base64");
        if (res.headers["sec-websocket-accept"] !== accept) {
          socket.destroy();
          reject(new Error("bad Sec-WebSocket-Accept"));
          return;
        }
        resolve(new WsClient(socket, head));
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => reject(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode} ${body}`)));
      });
      req.on("error", reject);
      req.end();
    });
  }

  constructor(socket, head) {
    super();
    this.socket = socket;
    this.buf = head?.length ? Buffer.from(head) : Buffer.alloc(0);
    this.fragments = null;
    this.closed = false;
    socket.on("data", (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.#parse();
    });
    socket.on("close", () => {
      this.closed = true;
      this.emit("close");
    });
    socket.on("error", () => {});
    if (this.buf.length) queueMicrotask(() => this.#parse());
  }

  #parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const op = b[0] & 0x0f;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (b[1] & 0x80) !== 0;
      const maskAt = off;
      if (masked) off += 4;
      if (b.length < off + len) return;
      let payload = b.subarray(off, off + len);
      if (masked) payload = Buffer.from(payload.map((x, i) => x ^ b[maskAt + (i % 4)]));
      this.buf = b.subarray(off + len);
      if (op === 0x1 || op === 0x0) {
        this.fragments = op === 0x1 ? [payload] : [...(this.fragments ?? []), payload];
        if (fin) {
          const text = Buffer.concat(this.fragments).toString("utf8");
          this.fragments = null;
          this.emit("message", text);
        }
      } else if (op === 0x9) {
        this.#frame(0xa, payload);
      } else if (op === 0x8) {
        if (!this.closed) this.#frame(0x8, payload.subarray(0, 2));
        this.socket.end();
      }
    }
  }

  #frame(op, payload) {
    if (this.socket.destroyed) return;
    const mask = randomBytes(4);
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x80 | op, 0x80 | len]) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    if (len >= 126 && len < 65536) {
      head[0] = 0x80 | op;
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    } else if (len >= 65536) {
      head[0] = 0x80 | op;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(len), 2);
    }
    const body = Buffer.from(payload.map((x, i) => x ^ mask[i % 4]));
    this.socket.write(Buffer.concat([head, mask, body]));
  }

  send(text) {
    this.#frame(0x1, Buffer.from(text, "utf8"));
  }

  close() {
    if (this.socket.destroyed) return;
    this.#frame(0x8, Buffer.from([0x03, 0xe8]));
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 500).unref();
  }
}

/**
 * A simulated task pane: registers a document over the add-in channel (Origin: the bridge's
 * own), answers the bridge's requests with `office(method, params)` (a result, or throw
 * {code, message}), and records every request and notification it receives.
 */
export class SimPane {
  static async open(bridge, app, name, office) {
    const ws = await WsClient.connect(new URL("/addin/ws", bridge.origin), { ca: bridge.ca, origin: bridge.origin });
    const pane = new SimPane(ws, office);
    pane.registration = await pane.call("register", {
      app,
      document: { name, url: `https://contoso.example/${encodeURIComponent(name)}` },
      addin_version: "0.1.0-test",
      capabilities: [],
    });
    return pane;
  }

  constructor(ws, office) {
    this.ws = ws;
    this.office = office;
    this.received = []; // {method, params}
    this.waiting = new Map();
    this.nextId = 1;
    this.events = new EventEmitter();
    ws.on("message", (text) => this.#onMessage(text));
  }

  async #onMessage(text) {
    const msg = JSON.parse(text);
    if (typeof msg.method === "string") {
      this.received.push({ method: msg.method, params: msg.params });
      this.events.emit("received");
      if (msg.id === undefined) return;
      let reply;
      try {
        reply = { jsonrpc: "2.0", id: msg.id, result: await this.office(msg.method, msg.params ?? {}) };
      } catch (e) {
        reply = { jsonrpc: "2.0", id: msg.id, error: { code: e?.code ?? -32005, message: e?.message ?? String(e) } };
      }
      this.ws.send(JSON.stringify(reply));
    } else if (this.waiting.has(msg.id)) {
      const { resolve, reject } = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.error) reject(Object.assign(new Error(msg.error.message), { rpc: msg.error }));
      else resolve(msg.result);
    }
  }

  call(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  /** Resolves with the params of the first `method` received (waiting for it if need be). */
  async next(method, timeout = 15000) {
    const t0 = Date.now();
    for (;;) {
      const hit = this.received.find((r) => r.method === method);
      if (hit) return hit.params;
      if (Date.now() - t0 > timeout) throw new Error(`no ${method} within ${timeout} ms (got ${this.received.map((r) => r.method).join(", ")})`);
      await new Promise((r) => {
        const done = () => {
          clearTimeout(t);
          this.events.off("received", done);
          r();
        };
        const t = setTimeout(done, 100);
        this.events.on("received", done);
      });
    }
  }

  close() {
    this.ws.close();
  }
}

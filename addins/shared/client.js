// The pane's side of the add-in channel: one WebSocket to the bridge, JSON-RPC 2.0 both ways
// (docs/addin-protocol.md). Everything that touches the outside world (WebSocket, timers,
// randomness, storage) is injected so tests can drive it with fakes.

import { CODES, RpcError, toRpcError } from "./rpc.js";

export const STATES = Object.freeze({
  CONNECTING: "connecting",
  CONNECTED: "connected",
  RECONNECTING: "reconnecting",
  DISABLED: "disabled",
  SUPERSEDED: "superseded",
  // A pane on the stand-in and a bridge started without --playground: not retried.
  PLAYGROUND_OFF: "playground-off",
  STOPPED: "stopped",
});

export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 30000;
/** How often a pane disabled by the administrator tries `register` again: it is
 * disconnected (close 4003), so this is how soon it learns the add-in was turned back on
 * (the bridge reads the policy file every second). */
export const DISABLED_RETRY_MS = 1000;

/** What a pane says when its connection attempts never open: nothing listens. */
export const NOT_RUNNING = "office-bridge is not running: start it with `office-bridge serve`";
export const REQUEST_TIMEOUT_MS = 30000;

/**
 * Delay before reconnect attempt `attempt` (0 for the first): 1 s, 2 s, 4 s ... capped at
 * 30 s, with +/-20 % jitter so panes restarted together do not reconnect in lockstep; never
 * below 1 s nor above 30 s.
 */
export function backoffDelay(attempt, random = Math.random) {
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, Math.min(attempt, 30)));
  const jittered = exp * (0.8 + 0.4 * random());
  return Math.round(Math.min(BACKOFF_CAP_MS, Math.max(BACKOFF_BASE_MS, jittered)));
}

export function bridgeUrl(loc = globalThis.location) {
  return `wss://${loc.host}/addin/ws`;
}

/**
 * Events (EventTarget, detail in `event.detail`):
 * - "state": {state, detail}            connection state changed
 * - "registered": register result (also after every reconnect; `client.restarted` says
 *                 whether the bridge had forgotten this pane's session: a new bridge)
 * - "notification": {method, params}    policy.changed, flow.notice, approval.request, ...
 * - "served": {method, params, result?, error?, ms}   a bridge request this pane answered
 */
export class BridgeClient extends EventTarget {
  constructor(opts) {
    super();
    this.url = opts.url;
    this.app = opts.app;
    this.getDocument = opts.getDocument; // async () => ({name, url})
    this.addinVersion = opts.addinVersion ?? "0.1.0";
    // On the Office.js stand-in (the playground): the bridge accepts it only with --playground.
    this.simulated = Boolean(opts.simulated);
    this.getCapabilities = opts.getCapabilities ?? (() => []);
    this.operations = opts.operations ?? {};
    this.WebSocket = opts.WebSocket ?? globalThis.WebSocket;
    this.setTimeout = opts.setTimeout ?? globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = opts.clearTimeout ?? globalThis.clearTimeout.bind(globalThis);
    this.random = opts.random ?? Math.random;
    this.storage = opts.storage ?? safeSessionStorage();
    this.requestTimeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.state = STATES.STOPPED;
    this.stateDetail = "";
    this.policy = null;
    this.session = null;
    this.attempt = 0;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.timer = null;
    this.registered = false;
    this.documentInfo = null;
    this.disabledCloseTimer = null;
    this.restarted = false;
    // When the next reconnect attempt is due (unix ms), for a live "Retrying in 9 s".
    this.retryAt = null;
    // The last attempt never opened a connection: office-bridge is not running.
    this.notRunning = false;
  }

  get storageKey() {
    const doc = this.documentInfo?.url || this.documentInfo?.name || "";
    return `office-bridge.session.${this.app}.${doc}`;
  }

  start() {
    if (this.state !== STATES.STOPPED) return;
    this.#setState(STATES.CONNECTING, "");
    this.#connect();
  }

  stop() {
    this.#clearTimer();
    this.#setState(STATES.STOPPED, "");
    const ws = this.ws;
    this.ws = null;
    this.registered = false;
    this.#failPending("the pane stopped");
    if (ws) {
      try {
        ws.close(1000, "pane closed");
      } catch {
        /* already closed */
      }
    }
  }

  /** Sends a request to the bridge; resolves with its result, rejects with an RpcError. */
  request(method, params = {}) {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) {
      return Promise.reject(new RpcError(CODES.INTERNAL, "not connected to office-bridge"));
    }
    if (method !== "register" && !this.registered) {
      return Promise.reject(new RpcError(CODES.NOT_REGISTERED, "not registered with office-bridge yet"));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = this.setTimeout(() => {
        this.pending.delete(id);
        reject(new RpcError(CODES.INTERNAL, `office-bridge did not answer ${method} within ${this.requestTimeoutMs / 1000}s`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer, method });
      this.#send({ jsonrpc: "2.0", id, method, params });
    });
  }

  notify(method, params = {}) {
    if (this.ws && this.ws.readyState === 1) this.#send({ jsonrpc: "2.0", method, params });
  }

  decideApproval(approval_id, decision, scope) {
    return this.request("approval.decide", { approval_id, decision, scope });
  }

  setLabel(sheet, address, sensitivity) {
    return this.request("label.set", { sheet, address, sensitivity });
  }

  /** The approvals the bridge holds for this document: {approvals: [approval.request params]}. */
  listApprovals() {
    return this.request("approval.list", {});
  }

  /** How these transfers stand now: {flows: [flow summaries with outcome, written, decided_by]}. */
  listFlows(flowIds) {
    return this.request("flow.list", { flow_ids: flowIds });
  }

  /** The bridge's `n` latest transfers from or into this document, newest first, each with
   * its outcome now (what a reloaded pane shows again): {flows: [...]}. */
  listRecentFlows(n = 50) {
    return this.request("flow.list", { recent: n });
  }

  /** The person's confidential marks on this workbook: {marks: [{sheet, address}]}. */
  listMarks() {
    return this.request("label.list", {});
  }

  // ---- connection ----

  #connect() {
    this.#clearTimer();
    let ws;
    try {
      ws = new this.WebSocket(this.url);
    } catch (e) {
      this.#scheduleReconnect(`could not open the connection (${e?.message ?? e})`);
      return;
    }
    this.ws = ws;
    this.registered = false;
    let opened = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      opened = true;
      this.notRunning = false;
      this.#register();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.#onMessage(ev.data);
    };
    ws.onerror = () => {
      /* a close event follows; the reason is handled there */
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return; // a stale socket we already replaced
      if (this.disabledCloseTimer !== null) {
        this.clearTimeout(this.disabledCloseTimer);
        this.disabledCloseTimer = null;
      }
      this.ws = null;
      this.registered = false;
      this.#failPending("the connection to office-bridge closed");
      this.#onClose(ev?.code ?? 1006, ev?.reason ?? "", opened);
    };
  }

  async #register() {
    try {
      this.documentInfo = await this.getDocument();
    } catch (e) {
      this.documentInfo = { name: "Untitled", url: "" };
    }
    const params = {
      app: this.app,
      // The bridge refuses a name over 1024 bytes or a url over 8192 bytes: clamp the name,
      // drop an over-long url (a cut url names nothing) rather than fail to register.
      document: {
        name: clampBytes(String(this.documentInfo?.name || "").trim(), 1024) || "Untitled",
        url: byteLength(this.documentInfo?.url || "") <= 8192 ? this.documentInfo?.url || "" : "",
      },
      addin_version: this.addinVersion,
      capabilities: (await this.getCapabilities()).slice(0, 64),
    };
    if (this.simulated) params.simulated = true;
    // The id kept in sessionStorage, else the one of this page's last register (storage is
    // unavailable in some Office webviews): a reconnect always asks to resume.
    const saved = this.#loadSession() || this.session?.session_id || null;
    if (saved) params.session_id = saved;
    try {
      const result = await this.request("register", params);
      this.registered = true;
      // Not resumed although the pane sent its id: the bridge does not know the session, so
      // it restarted (or the pane was away past the 10-minute grace): what it held is gone.
      this.restarted = Boolean(saved) && result?.resumed === false;
      this.session = result;
      this.policy = result?.policy ?? null;
      if (result?.session_id) this.#saveSession(result.session_id);
      this.attempt = 0;
      this.dispatchEvent(new CustomEvent("registered", { detail: result }));
      if (this.policy && this.policy.addin_enabled === false) {
        this.#setState(STATES.DISABLED, "");
      } else {
        this.#setState(STATES.CONNECTED, result?.resumed ? "resumed" : "");
      }
    } catch (e) {
      if (e?.code === CODES.PLAYGROUND_OFF) {
        this.#setState(STATES.PLAYGROUND_OFF, e.message);
        this.#clearTimer();
      } else if (e?.code === CODES.DISABLED) {
        this.policy = e.data?.policy ?? { addin_enabled: false };
        this.#setState(STATES.DISABLED, "");
        // The bridge closes with 4003 right after; if it does not within 5 s, close from
        // our side so onclose schedules the slow (60 s) retry of register either way.
        const ws = this.ws;
        this.disabledCloseTimer = this.setTimeout(() => {
          if (this.ws === ws && ws.readyState === 1) ws.close(1000, "disabled");
        }, 5000);
      } else if (this.ws) {
        this.#setState(STATES.RECONNECTING, `register failed: ${e?.message ?? e}`);
        try {
          this.ws.close(1000, "register failed");
        } catch {
          /* ignore */
        }
      }
    }
  }

  #onClose(code, reason, opened = true) {
    if (this.state === STATES.STOPPED || this.state === STATES.PLAYGROUND_OFF) return;
    if (code === 4004) {
      this.#setState(STATES.PLAYGROUND_OFF, reason || "the playground is off");
      return;
    }
    if (code === 4003 || this.state === STATES.DISABLED) {
      this.#setState(STATES.DISABLED, "");
      this.#clearTimer();
      this.timer = this.setTimeout(() => this.#connect(), DISABLED_RETRY_MS);
      return;
    }
    if (code === 4001) {
      // Another pane of the same document registered: do not fight over the session.
      this.#setState(STATES.SUPERSEDED, "This document is connected from another window.");
      return;
    }
    // A connection that never opened: nothing answered on the bridge's port.
    this.notRunning = !opened && (code === 1006 || code === 1015);
    const why = this.notRunning
      ? NOT_RUNNING
      : code === 1009
        ? "a message was too large"
        : code === 1011
          ? "the heartbeat timed out"
          : code === 1001
            ? "office-bridge is restarting"
            : reason || "the connection closed";
    this.#scheduleReconnect(why);
  }

  #scheduleReconnect(why) {
    const delay = backoffDelay(this.attempt++, this.random);
    this.retryAt = Date.now() + delay;
    this.#setState(STATES.RECONNECTING, why, delay);
    this.#clearTimer();
    this.timer = this.setTimeout(() => {
      this.retryAt = null;
      this.#connect();
    }, delay);
  }

  /** Reconnects now (the "Retry now" button). */
  retryNow() {
    if (this.state === STATES.CONNECTED || this.state === STATES.STOPPED) return;
    this.#clearTimer();
    if (this.ws) {
      try {
        this.ws.close(1000, "retry");
      } catch {
        /* ignore */
      }
      this.ws = null;
    }
    this.#connect();
  }

  // ---- messages ----

  #onMessage(data) {
    if (typeof data !== "string") return;
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      this.#send({ jsonrpc: "2.0", id: null, error: { code: CODES.PARSE_ERROR, message: "parse error: the frame is not JSON" } });
      return;
    }
    if (!msg || typeof msg !== "object" || Array.isArray(msg) || msg.jsonrpc !== "2.0") {
      this.#send({ jsonrpc: "2.0", id: msg?.id ?? null, error: { code: CODES.INVALID_REQUEST, message: "invalid request: not a JSON-RPC 2.0 object" } });
      return;
    }
    if (typeof msg.method === "string") {
      if (msg.id === undefined) this.#onNotification(msg.method, msg.params ?? {});
      else this.#onRequest(msg.id, msg.method, msg.params ?? {});
      return;
    }
    if (msg.id !== undefined && msg.id !== null) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      this.clearTimeout(p.timer);
      if (msg.error) p.reject(new RpcError(msg.error.code, msg.error.message, msg.error.data));
      else p.resolve(msg.result);
    }
  }

  #onNotification(method, params) {
    if (method === "policy.changed") {
      const policy = params?.policy ?? params;
      this.policy = policy;
      if (policy && policy.addin_enabled === false) this.#setState(STATES.DISABLED, "");
      else if (policy && policy.addin_enabled === true && this.state === STATES.DISABLED && this.registered) {
        this.#setState(STATES.CONNECTED, "");
      }
    }
    this.dispatchEvent(new CustomEvent("notification", { detail: { method, params } }));
  }

  async #onRequest(id, method, params) {
    const started = Date.now();
    let response;
    if (this.state === STATES.DISABLED) {
      response = { jsonrpc: "2.0", id, error: { code: CODES.DISABLED, message: "this add-in is disabled by your administrator" } };
    } else if (!Object.prototype.hasOwnProperty.call(this.operations, method)) {
      response = { jsonrpc: "2.0", id, error: { code: CODES.METHOD_NOT_FOUND, message: `method not found: ${String(method).slice(0, 100)}` } };
    } else {
      try {
        const result = await this.operations[method](params);
        response = { jsonrpc: "2.0", id, result: result ?? {} };
      } catch (e) {
        response = { jsonrpc: "2.0", id, error: toRpcError(e) };
      }
    }
    this.#send(response);
    this.dispatchEvent(
      new CustomEvent("served", {
        detail: { method, params, result: response.result, error: response.error, ms: Date.now() - started },
      }),
    );
  }

  #send(obj) {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    try {
      ws.send(JSON.stringify(obj));
      return true;
    } catch {
      return false;
    }
  }

  #failPending(why) {
    for (const [id, p] of this.pending) {
      this.clearTimeout(p.timer);
      p.reject(new RpcError(CODES.INTERNAL, `${why} before ${p.method} was answered`));
      this.pending.delete(id);
    }
  }

  #setState(state, detail, delayMs) {
    if (state !== STATES.RECONNECTING) this.retryAt = null;
    const changed = state !== this.state || detail !== this.stateDetail;
    this.state = state;
    this.stateDetail = detail;
    if (changed) this.dispatchEvent(new CustomEvent("state", { detail: { state, detail, delayMs } }));
  }

  #clearTimer() {
    if (this.timer !== null) {
      this.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  #loadSession() {
    try {
      return this.storage?.getItem(this.storageKey) || null;
    } catch {
      return null;
    }
  }

  #saveSession(id) {
    try {
      this.storage?.setItem(this.storageKey, id);
    } catch {
      /* storage may be unavailable in some Office webviews: resume is best effort */
    }
  }
}

function byteLength(s) {
  return new TextEncoder().encode(String(s)).length;
}

/** The longest prefix of `s` (whole characters) that fits in `max` UTF-8 bytes. */
export function clampBytes(s, max) {
  if (byteLength(s) <= max) return s;
  let out = "";
  let n = 0;
  for (const ch of s) {
    const b = byteLength(ch);
    if (n + b > max) break;
    out += ch;
    n += b;
  }
  return out;
}

function safeSessionStorage() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null;
  }
}

/** The requirement sets to report in `register`, each "Name version", highest first per set. */
export const KNOWN_SETS = {
  excel: [["ExcelApi", 17], ["ImageCoercion", 2]],
  powerpoint: [["PowerPointApi", 9], ["ImageCoercion", 2]],
};

export function supportedSets(Office, app) {
  const out = [];
  for (const [name, maxMinor] of KNOWN_SETS[app] ?? []) {
    for (let minor = 1; minor <= maxMinor; minor++) {
      const v = `1.${minor}`;
      let ok = false;
      try {
        ok = Office.context.requirements.isSetSupported(name, v);
      } catch {
        ok = false;
      }
      if (ok) out.push(`${name} ${v}`);
    }
  }
  return out;
}

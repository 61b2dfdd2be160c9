// Loaded with `node --import` before the MCP conformance suite. The suite has no option
// for request headers or a custom CA, and office-bridge requires both: this adds
// `Authorization: Bearer <token>` to requests for the bridge's origin only, and trusts
// exactly the bridge's CA. It does it through undici's global dispatcher, which Node's
// fetch (the SDK client the suite uses) and the suite's own undici requests (the
// DNS-rebinding checks) both go through. Nothing else about the requests changes.
//
// Environment: OB_BRIDGE_ORIGIN (https://localhost:PORT), OB_TOKEN_FILE, OB_CA_FILE.
import { readFileSync } from "node:fs";
import { Agent, setGlobalDispatcher } from "undici";

const origin = process.env.OB_BRIDGE_ORIGIN;
const tokenFile = process.env.OB_TOKEN_FILE;
const caFile = process.env.OB_CA_FILE;
if (!origin || !tokenFile || !caFile) {
  throw new Error("bearer-preload: set OB_BRIDGE_ORIGIN, OB_TOKEN_FILE and OB_CA_FILE");
}
const ca = readFileSync(caFile, "utf8");
const bridgeHost = new URL(origin).hostname;

function withBearer(headers, value) {
  if (headers == null) return { authorization: value };
  if (Array.isArray(headers)) {
    // undici's flat form [name, value, name, value, ...] or a list of pairs.
    if (headers.length === 0 || typeof headers[0] === "string" || Buffer.isBuffer(headers[0])) {
      return [...headers, "authorization", value];
    }
    return [...headers, ["authorization", value]];
  }
  if (typeof headers[Symbol.iterator] === "function") {
    return [...headers, ["authorization", value]];
  }
  return { ...headers, authorization: value };
}

const agent = new Agent({ connect: { ca } }).compose((dispatch) => (opts, handler) => {
  const target = typeof opts.origin === "string" ? opts.origin : opts.origin?.origin;
  if (target === origin) {
    // Re-read per request: `office-bridge token rotate` may have run.
    const token = readFileSync(tokenFile, "utf8").trim();
    // TLS names the bridge (SNI, certificate check) even when a scenario sends a
    // foreign Host header on purpose (DNS rebinding), so that request reaches the
    // bridge's Host check instead of failing the handshake first.
    opts = {
      ...opts,
      headers: withBearer(opts.headers, `Bearer ${token}`),
      servername: bridgeHost,
    };
  }
  return dispatch(opts, handler);
});
setGlobalDispatcher(agent);

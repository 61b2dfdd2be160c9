// JSON-RPC error codes of the add-in channel (docs/addin-protocol.md) and the helpers every
// operation uses: requirement-set checks, parameter checks, and mapping Office errors.

export const CODES = Object.freeze({
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  NOT_REGISTERED: -32001,
  DISABLED: -32002,
  ALREADY_REGISTERED: -32003,
  UNSUPPORTED: -32004,
  OFFICE_ERROR: -32005,
  PLAYGROUND_OFF: -32006,
});

/** An error that becomes a JSON-RPC error response as is. */
export class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    if (data !== undefined) this.data = data;
  }
  toJSON() {
    const e = { code: this.code, message: this.message };
    if (this.data !== undefined) e.data = this.data;
    return e;
  }
}

export function invalidParams(message) {
  return new RpcError(CODES.INVALID_PARAMS, message);
}

/**
 * Throws -32004 unless the host supports `set` at `version`, checked at run time as
 * Office recommends. The message names the set: "needs ExcelApi 1.2".
 */
export function requireSet(Office, set, version) {
  let ok = false;
  try {
    ok = Boolean(Office?.context?.requirements?.isSetSupported(set, version));
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new RpcError(CODES.UNSUPPORTED, `needs ${set} ${version}`, { set, version });
  }
}

export function isSetSupported(Office, set, version) {
  try {
    return Boolean(Office?.context?.requirements?.isSetSupported(set, version));
  } catch {
    return false;
  }
}

/**
 * Maps anything thrown while running an operation to a JSON-RPC error object.
 * - RpcError: as is.
 * - An Office error (OfficeExtension.Error, or an AsyncResult error: it has a `code`):
 *   -32005 with Office's code, message and debugInfo in `data`.
 * - Anything else is a bug in the pane: -32603.
 */
export function toRpcError(err) {
  if (err instanceof RpcError) return err.toJSON();
  if (err && typeof err === "object" && (typeof err.code === "string" || typeof err.code === "number")) {
    const data = { code: err.code, message: String(err.message ?? "") };
    if (err.debugInfo !== undefined) data.debugInfo = safeJson(err.debugInfo);
    if (err.name && err.name !== "Error") data.name = String(err.name);
    return { code: CODES.OFFICE_ERROR, message: `Office error ${err.code}: ${err.message ?? ""}`.trim(), data };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: CODES.INTERNAL, message: `internal error in the task pane: ${message}` };
}

function safeJson(v) {
  try {
    return JSON.parse(JSON.stringify(v));
  } catch {
    return String(v);
  }
}

// ---- parameter checks (each names the field it rejects) ----

export function obj(params) {
  if (params === undefined || params === null) return {};
  if (typeof params !== "object" || Array.isArray(params)) throw invalidParams("params must be an object");
  return params;
}

export function str(params, field, { optional = false, max = 4096 } = {}) {
  const v = params[field];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw invalidParams(`missing field "${field}"`);
  }
  if (typeof v !== "string" || v.length === 0) throw invalidParams(`"${field}" must be a non-empty string`);
  if (v.length > max) throw invalidParams(`"${field}" is longer than ${max} characters`);
  return v;
}

export function num(params, field, { optional = false, min = -Infinity, max = Infinity } = {}) {
  const v = params[field];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw invalidParams(`missing field "${field}"`);
  }
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw invalidParams(`"${field}" must be a number between ${min} and ${max}`);
  }
  return v;
}

/** An optional boolean field: absent or null is false; anything but a boolean is -32602. */
export function flag(params, field) {
  const v = params[field];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw invalidParams(`"${field}" must be true or false`);
  return v;
}

const CELL = /^\$?[A-Za-z]{1,3}\$?[0-9]{1,7}$/;
const COLS = /^\$?[A-Za-z]{1,3}$/;
const ROWS = /^\$?[0-9]{1,7}$/;

/** An A1 address without a sheet: "B2", "B2:D5", "A:C", "2:4". */
export function address(params, field = "address") {
  const v = str(params, field, { max: 256 });
  const parts = v.split(":");
  const ok =
    (parts.length === 1 && CELL.test(parts[0])) ||
    (parts.length === 2 &&
      ((CELL.test(parts[0]) && CELL.test(parts[1])) ||
        (COLS.test(parts[0]) && COLS.test(parts[1])) ||
        (ROWS.test(parts[0]) && ROWS.test(parts[1]))));
  if (!ok) throw invalidParams(`"${field}" must be an A1 address such as "B2" or "B2:D5" (got "${v.slice(0, 40)}")`);
  return v;
}

/** A rectangular 2-D array of scalars (numbers, strings, booleans, null). */
export function matrix(params, field, { maxCells = 100000 } = {}) {
  const v = params[field];
  if (!Array.isArray(v) || v.length === 0 || !v.every((r) => Array.isArray(r))) {
    throw invalidParams(`"${field}" must be a non-empty array of rows`);
  }
  const width = v[0].length;
  if (width === 0) throw invalidParams(`"${field}" rows must not be empty`);
  if (!v.every((r) => r.length === width)) throw invalidParams(`"${field}" rows must all have the same length`);
  if (v.length * width > maxCells) throw invalidParams(`"${field}" has more than ${maxCells} cells`);
  for (const r of v) {
    for (const c of r) {
      const t = typeof c;
      if (!(c === null || t === "string" || t === "boolean" || (t === "number" && Number.isFinite(c)))) {
        throw invalidParams(`"${field}" cells must be numbers, strings, booleans or null`);
      }
    }
  }
  return v;
}

/** Splits "Revenue!B2:D5" or "'My sheet'!B2" into {sheet, address}; a bare address gives sheet null. */
export function splitAddress(full) {
  const s = String(full ?? "");
  const i = s.lastIndexOf("!");
  if (i < 0) return { sheet: null, address: s };
  let sheet = s.slice(0, i);
  if (sheet.startsWith("'") && sheet.endsWith("'")) sheet = sheet.slice(1, -1).replace(/''/g, "'");
  return { sheet, address: s.slice(i + 1) };
}

//! The headers of the relay's requests to `/mcp`: the bearer token (read per request, so a
//! rotation takes effect at once), the session id, the protocol version, and from
//! protocol 2026-07-28 on the `Mcp-Method` / `Mcp-Name` headers of SEP-2243, which servers
//! of that revision require.

use std::fs;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;

use super::{Relay, Session};

pub(super) const SESSION_HEADER: &str = "mcp-session-id";
const PROTOCOL_HEADER: &str = "mcp-protocol-version";
pub(super) const LAST_EVENT_ID_HEADER: &str = "last-event-id";

/// Where a client on protocol 2026-07-28 or later names its version on every request
/// (there is no initialize handshake from that revision on).
const META_PROTOCOL_KEY: &str = "io.modelcontextprotocol/protocolVersion";

/// From this revision on, servers require `Mcp-Method` / `Mcp-Name` headers (SEP-2243).
const STANDARD_HEADERS_VERSION: &str = "2026-07-28";

impl Relay {
    /// Headers every request to `/mcp` carries.
    pub(super) fn headers(
        &self,
        message: Option<&Value>,
        session: &Session,
    ) -> Result<HeaderMap, String> {
        let token_path = self.data_dir.token_file();
        // Read per request: `office-bridge token rotate` may replace it at any time.
        let token = fs::read_to_string(&token_path)
            .map_err(|e| format!("cannot read the token file {}: {e}", token_path.display()))?;
        let mut headers = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
            format!(
                "the token file {} is damaged; run `office-bridge token rotate`",
                token_path.display()
            )
        })?;
        headers.insert(AUTHORIZATION, bearer);
        if let Some(id) = &session.id
            && let Ok(v) = HeaderValue::from_str(id)
        {
            headers.insert(SESSION_HEADER, v);
        }
        let version = message
            .and_then(meta_protocol_version)
            .or_else(|| session.protocol.clone());
        if let Some(version) = version {
            if let Ok(v) = HeaderValue::from_str(&version) {
                headers.insert(PROTOCOL_HEADER, v);
            }
            if version.as_str() >= STANDARD_HEADERS_VERSION
                && let Some(message) = message
            {
                for (name, value) in standard_headers(message) {
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        headers.insert(name, v);
                    }
                }
            }
        }
        Ok(headers)
    }
}

/// The protocol version a 2026-07-28+ client names in the request's `_meta`.
fn meta_protocol_version(message: &Value) -> Option<String> {
    message
        .pointer("/params/_meta")
        .and_then(|m| m.get(META_PROTOCOL_KEY))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// SEP-2243 `Mcp-Method` and `Mcp-Name` for a request or notification. (Tool arguments
/// promoted to `Mcp-Param-*` headers need the tool's schema; the bridge's tools
/// annotate none.)
fn standard_headers(message: &Value) -> Vec<(&'static str, String)> {
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        return Vec::new();
    };
    let mut out = vec![("mcp-method", method.to_owned())];
    let key = match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
        "tasks/get" | "tasks/update" | "tasks/cancel" => Some("taskId"),
        _ => None,
    };
    if let Some(name) = key
        .and_then(|k| message.pointer(&format!("/params/{k}")))
        .and_then(Value::as_str)
    {
        out.push(("mcp-name", header_safe(name)));
    }
    out
}

/// Header values must be visible ASCII; anything else travels Base64-wrapped
/// (`=?base64?...?=`), as SEP-2243 specifies.
fn header_safe(value: &str) -> String {
    use base64::Engine;
    let plain = !value.is_empty()
        && value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t'])
        && !value.starts_with("=?base64?");
    if plain {
        value.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn standard_headers_and_meta_version() {
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "xlsx_read", "_meta": {META_PROTOCOL_KEY: "2026-07-28"}}});
        assert_eq!(meta_protocol_version(&call).as_deref(), Some("2026-07-28"));
        assert_eq!(
            standard_headers(&call),
            vec![
                ("mcp-method", "tools/call".to_owned()),
                ("mcp-name", "xlsx_read".to_owned())
            ]
        );
        assert_eq!(
            standard_headers(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})).len(),
            1
        );
        assert_eq!(header_safe("ok name"), "ok name");
        assert_eq!(header_safe("Umsatz Q3 é"), "=?base64?VW1zYXR6IFEzIMOp?=");
        assert!(header_safe(" lead").starts_with("=?base64?"));
    }
}

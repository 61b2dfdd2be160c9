//! The JSON-RPC shapes the relay's transport looks at: which messages are requests, which
//! ids an answer answers (a batch is a list of messages), and the errors the relay itself
//! answers with. Nothing here knows MCP's methods beyond their names.

use serde_json::{Value, json};

/// JSON-RPC error codes.
pub(super) const PARSE_ERROR: i64 = -32700;
pub(super) const INTERNAL_ERROR: i64 = -32603;

pub(super) fn as_messages(message: &Value) -> Vec<&Value> {
    match message {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

pub(super) fn is_method(message: &Value, method: &str) -> bool {
    message.get("method").and_then(Value::as_str) == Some(method)
}

pub(super) fn is_jsonrpc(message: &Value) -> bool {
    as_messages(message)
        .iter()
        .all(|m| m.get("jsonrpc").and_then(Value::as_str) == Some("2.0"))
        && !matches!(message, Value::Array(a) if a.is_empty())
}

/// Ids of the requests in a message (or batch): the answers the client waits for, and
/// the ids an error must name if the bridge cannot be reached.
pub(super) fn request_ids(message: &Value) -> Vec<Value> {
    as_messages(message)
        .into_iter()
        .filter(|m| m.get("method").is_some())
        .filter_map(|m| m.get("id").filter(|id| !id.is_null()).cloned())
        .collect()
}

/// Ids a message (or batch) answers: responses and errors carry `id` and no `method`.
pub(super) fn response_ids(message: &Value) -> Vec<Value> {
    as_messages(message)
        .into_iter()
        .filter(|m| m.get("method").is_none())
        .filter(|m| m.get("result").is_some() || m.get("error").is_some())
        .filter_map(|m| m.get("id").cloned())
        .collect()
}

pub(super) fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_requests_and_responses() {
        let req = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {}});
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let resp = json!({"jsonrpc": "2.0", "id": "e1", "result": {"action": "accept"}});
        let err = json!({"jsonrpc": "2.0", "id": 4, "error": {"code": -1, "message": "x"}});
        assert_eq!(request_ids(&req), vec![json!(3)]);
        assert!(request_ids(&note).is_empty());
        assert!(
            request_ids(&resp).is_empty(),
            "a client's answer to the server is no request"
        );
        assert_eq!(response_ids(&resp), vec![json!("e1")]);
        assert_eq!(response_ids(&err), vec![json!(4)]);
        assert!(response_ids(&req).is_empty());
        let batch = json!([req, note, {"jsonrpc": "2.0", "id": "b", "method": "ping"}]);
        assert_eq!(request_ids(&batch), vec![json!(3), json!("b")]);
        assert!(is_jsonrpc(&batch));
        assert!(!is_jsonrpc(&json!([])));
        assert!(!is_jsonrpc(&json!({"id": 1})));
    }

    #[test]
    fn error_responses_are_one_line_json_rpc() {
        let e = error_response(
            json!(9),
            INTERNAL_ERROR,
            "office-bridge is not reachable at https://localhost:29443: refused\nline two",
        );
        let line = e.to_string();
        assert!(!line.contains('\n'));
        let back: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["id"], 9);
        assert_eq!(back["error"]["code"], -32603);
        assert_eq!(
            error_response(Value::Null, PARSE_ERROR, "x")["id"],
            Value::Null
        );
    }
}

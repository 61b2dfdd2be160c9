//! JSON-RPC 2.0 framing for the add-in channel: decoding what a pane sends, encoding
//! what the bridge sends. Decoding never panics and turns every malformed frame into a
//! JSON-RPC error the pane can read. The protocol is specified in docs/addin-protocol.md.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Standard JSON-RPC 2.0 codes, and the channel's own in the -32000..-32099 server range.
pub mod codes {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// A request other than `register` arrived before `register`.
    pub const NOT_REGISTERED: i64 = -32001;
    /// The administrator disabled this add-in.
    pub const ADDIN_DISABLED: i64 = -32002;
    /// A second `register` on a connection that already has a session.
    pub const ALREADY_REGISTERED: i64 = -32003;
    /// The operation is not supported by this Office host (missing requirement set).
    pub const UNSUPPORTED: i64 = -32004;
    /// Office itself reported an error while running the operation.
    pub const OFFICE_ERROR: i64 = -32005;
    /// A pane on the Office.js stand-in registered while the playground is off.
    pub const PLAYGROUND_OFF: i64 = -32006;
}

/// The bridge -> pane methods that change a document (docs/addin-protocol.md). Named here,
/// once, because they are also what document text must not name: text that mentions one
/// is flagged as instructions aimed at the agent (`mcp::injection_check`).
pub mod write_methods {
    pub const EXCEL_WRITE_RANGE: &str = "excel.writeRange";
    pub const EXCEL_DELETE_SHEET: &str = "excel.deleteSheet";
    pub const POWERPOINT_ADD_SLIDE: &str = "powerpoint.addSlide";
    pub const POWERPOINT_ADD_TEXT_BOX: &str = "powerpoint.addTextBox";
    pub const POWERPOINT_ADD_TABLE: &str = "powerpoint.addTable";
    pub const POWERPOINT_INSERT_IMAGE: &str = "powerpoint.insertImage";
    pub const POWERPOINT_DELETE_SLIDE: &str = "powerpoint.deleteSlide";
    /// Every one of the above: a new write method belongs here too.
    pub const ALL: [&str; 7] = [
        EXCEL_WRITE_RANGE,
        EXCEL_DELETE_SHEET,
        POWERPOINT_ADD_SLIDE,
        POWERPOINT_ADD_TEXT_BOX,
        POWERPOINT_ADD_TABLE,
        POWERPOINT_INSERT_IMAGE,
        POWERPOINT_DELETE_SLIDE,
    ];
}

/// A JSON-RPC id: the spec allows strings, numbers and null.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RpcId {
    Number(i64),
    Text(String),
}

/// A JSON-RPC error object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// One decoded frame from a pane.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// The pane asks the bridge something and expects a response with this id.
    Request {
        id: RpcId,
        method: String,
        params: Value,
    },
    /// The pane tells the bridge something; no response.
    Notification { method: String, params: Value },
    /// The pane answers a request the bridge sent.
    Response {
        id: RpcId,
        outcome: Result<Value, RpcError>,
    },
}

/// Why a frame could not be decoded, with the id to answer to when one was readable.
#[derive(Debug, PartialEq)]
pub struct DecodeError {
    pub id: Option<RpcId>,
    pub error: RpcError,
}

impl DecodeError {
    fn invalid(id: Option<RpcId>, message: impl Into<String>) -> Self {
        DecodeError {
            id,
            error: RpcError::new(codes::INVALID_REQUEST, message),
        }
    }
}

/// Decodes one text frame. The frame size limit is enforced before this is called (by the
/// WebSocket layer), so parsing is bounded.
pub fn decode(text: &str) -> Result<Incoming, DecodeError> {
    let value: Value = serde_json::from_str(text).map_err(|e| DecodeError {
        id: None,
        error: RpcError::new(codes::PARSE_ERROR, format!("parse error: {e}")),
    })?;
    let obj = match value {
        Value::Object(obj) => obj,
        Value::Array(_) => {
            return Err(DecodeError::invalid(
                None,
                "batches are not supported on the add-in channel: send one message per frame",
            ));
        }
        _ => {
            return Err(DecodeError::invalid(
                None,
                "a JSON-RPC message must be a JSON object",
            ));
        }
    };
    // The id is read first so every later error can be addressed to the right request.
    let id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) => Some(RpcId::Number(n)),
            None => {
                return Err(DecodeError::invalid(
                    None,
                    "id must be an integer or a string",
                ));
            }
        },
        Some(Value::String(s)) if s.len() <= 256 => Some(RpcId::Text(s.clone())),
        Some(_) => {
            return Err(DecodeError::invalid(
                None,
                "id must be an integer or a string of at most 256 characters",
            ));
        }
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(DecodeError::invalid(id, "missing \"jsonrpc\": \"2.0\""));
    }
    let has_result = obj.contains_key("result");
    let has_error = obj.contains_key("error");
    match obj.get("method") {
        Some(Value::String(method)) => {
            if has_result || has_error {
                return Err(DecodeError::invalid(
                    id,
                    "a message cannot have both a method and a result or error",
                ));
            }
            let params = match obj.get("params") {
                None | Some(Value::Null) => Value::Object(Default::default()),
                Some(p @ (Value::Object(_) | Value::Array(_))) => p.clone(),
                Some(_) => {
                    return Err(DecodeError::invalid(
                        id,
                        "params must be an object or an array",
                    ));
                }
            };
            let method = method.clone();
            Ok(match id {
                Some(id) => Incoming::Request { id, method, params },
                None => Incoming::Notification { method, params },
            })
        }
        Some(_) => Err(DecodeError::invalid(id, "method must be a string")),
        None => {
            let Some(id) = id else {
                return Err(DecodeError::invalid(
                    None,
                    "a response must carry the id of the request it answers",
                ));
            };
            let outcome = match (obj.get("result"), obj.get("error")) {
                (Some(result), None) => Ok(result.clone()),
                (None, Some(error)) => match serde_json::from_value::<RpcError>(error.clone()) {
                    Ok(e) => Err(e),
                    Err(e) => {
                        return Err(DecodeError::invalid(
                            Some(id),
                            format!("malformed error object: {e}"),
                        ));
                    }
                },
                _ => {
                    return Err(DecodeError::invalid(
                        Some(id),
                        "a response needs exactly one of result or error",
                    ));
                }
            };
            Ok(Incoming::Response { id, outcome })
        }
    }
}

pub fn encode_request(id: i64, method: &str, params: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

pub fn encode_notification(method: &str, params: &Value) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

pub fn encode_result(id: &RpcId, result: &Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string()
}

/// An error response; `id` is None (JSON null) when the request's id could not be read.
pub fn encode_error(id: Option<&RpcId>, error: &RpcError) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": error}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_requests_notifications_and_responses() {
        assert_eq!(
            decode(r#"{"jsonrpc":"2.0","id":7,"method":"register","params":{"app":"excel"}}"#),
            Ok(Incoming::Request {
                id: RpcId::Number(7),
                method: "register".into(),
                params: json!({"app": "excel"})
            })
        );
        assert_eq!(
            decode(r#"{"jsonrpc":"2.0","method":"label.set"}"#),
            Ok(Incoming::Notification {
                method: "label.set".into(),
                params: json!({})
            })
        );
        assert_eq!(
            decode(r#"{"jsonrpc":"2.0","id":"a","result":[1,2]}"#),
            Ok(Incoming::Response {
                id: RpcId::Text("a".into()),
                outcome: Ok(json!([1, 2]))
            })
        );
        let Ok(Incoming::Response {
            outcome: Err(e), ..
        }) = decode(
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32004,"message":"needs ExcelApi 1.2"}}"#,
        )
        else {
            panic!("expected an error response");
        };
        assert_eq!(e.code, codes::UNSUPPORTED);
    }

    #[test]
    fn malformed_frames_become_errors_with_the_right_code_and_id() {
        let cases: &[(&str, i64, Option<RpcId>)] = &[
            ("{not json", codes::PARSE_ERROR, None),
            ("", codes::PARSE_ERROR, None),
            ("[]", codes::INVALID_REQUEST, None),
            ("42", codes::INVALID_REQUEST, None),
            (
                r#"{"id":1,"method":"x"}"#,
                codes::INVALID_REQUEST,
                Some(RpcId::Number(1)),
            ),
            (
                r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
                codes::INVALID_REQUEST,
                Some(RpcId::Number(1)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
                codes::INVALID_REQUEST,
                Some(RpcId::Number(1)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#,
                codes::INVALID_REQUEST,
                Some(RpcId::Number(1)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
                codes::INVALID_REQUEST,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#,
                codes::INVALID_REQUEST,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","result":1}"#,
                codes::INVALID_REQUEST,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"result":1,"error":{}}"#,
                codes::INVALID_REQUEST,
                Some(RpcId::Number(2)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"error":"bad"}"#,
                codes::INVALID_REQUEST,
                Some(RpcId::Number(2)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"method":"x","result":1}"#,
                codes::INVALID_REQUEST,
                Some(RpcId::Number(2)),
            ),
        ];
        for (frame, code, id) in cases {
            let err = decode(frame).expect_err(frame);
            assert_eq!(err.error.code, *code, "{frame}");
            assert_eq!(&err.id, id, "{frame}");
        }
    }

    #[test]
    fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
        let frame = "[".repeat(100_000);
        assert_eq!(decode(&frame).unwrap_err().error.code, codes::PARSE_ERROR);
    }

    #[test]
    fn encodes_errors_with_null_id() {
        let s = encode_error(None, &RpcError::new(codes::PARSE_ERROR, "bad"));
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["id"], Value::Null);
        assert_eq!(v["error"]["code"], json!(-32700));
    }
}

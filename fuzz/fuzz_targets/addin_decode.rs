//! The add-in channel's JSON-RPC decoder on arbitrary text frames, then what the socket
//! loop does with the outcome: answer a bad frame with an encoded error, read `register`
//! params, encode a result. Nothing may panic, and every error answer must be JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use office_bridge::addin::protocol::{self, Incoming};
use office_bridge::addin::socket::parse_registration;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // A WebSocket text frame is UTF-8 (the WebSocket layer refuses anything else).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match protocol::decode(text) {
        Err(e) => {
            let answer = protocol::encode_error(e.id.as_ref(), &e.error);
            let v: Value = serde_json::from_str(&answer).expect("an error answer is JSON");
            assert_eq!(v["jsonrpc"], "2.0");
        }
        Ok(Incoming::Request { id, method, params }) => {
            if method == "register" {
                let _ = parse_registration(&params);
            }
            let answer = protocol::encode_result(&id, &params);
            serde_json::from_str::<Value>(&answer).expect("a result answer is JSON");
        }
        Ok(Incoming::Notification { method, params }) => {
            let note = protocol::encode_notification(&method, &params);
            serde_json::from_str::<Value>(&note).expect("a notification is JSON");
        }
        Ok(Incoming::Response { .. }) => {}
    }
});

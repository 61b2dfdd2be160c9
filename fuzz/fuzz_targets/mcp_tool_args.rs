//! MCP tool arguments: for each tool, the deserialization rmcp runs on a call's arguments
//! and every check the tool makes before it touches a pane, a file or the tracker
//! (`office_bridge::mcp::validate_arguments`, which the tool handlers share), including
//! path resolution inside an allowed folder with symbolic links leading out of it.
//! Input: the tool's name on the first line, then the arguments as JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use office_bridge_fuzz::{allowed_dirs, tool_and_args};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let (tool, args) = tool_and_args(data);
    // rmcp takes the arguments as a JSON object; anything else is refused before a tool
    // runs, so only objects (and absent arguments) reach the tools.
    let args: Value = match serde_json::from_slice(args) {
        Ok(v @ (Value::Object(_) | Value::Null)) => v,
        _ => return,
    };
    let dirs = allowed_dirs();
    if let Err(message) = office_bridge::mcp::validate_arguments(tool, args, dirs) {
        assert!(!message.is_empty(), "{tool}: an error says what is wrong");
    }
});

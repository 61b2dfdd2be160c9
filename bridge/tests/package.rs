//! `office-bridge package mcpb`: the Claude Desktop extension holds this binary with its
//! permissions, a manifest that lists every tool and runs the stdio relay with the folders
//! the person picks, and, once unpacked, answers MCP over stdio as Claude Desktop would
//! start it (the manifest's command and arguments, the folders substituted). The official
//! `mcpb` CLI's verdict on the same bundle is in tests/mcpb/bundle.test.js.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::served::*;
use serde_json::{Value, json};

/// Unpacks `bundle` into `dir`, keeping the unix permissions the zip records.
fn unpack(bundle: &std::path::Path, dir: &std::path::Path) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(bundle).unwrap()).unwrap();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let path = dir.join(entry.enclosed_name().expect("names stay inside"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        std::fs::write(&path, bytes).unwrap();
        if let Some(mode) = entry.unix_mode() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

#[test]
fn the_bundle_holds_this_binary_and_its_server_answers_mcp_over_stdio() {
    let temp = tempfile::tempdir().unwrap();
    let bundle = temp.path().join("office-bridge.mcpb");
    let out = Command::new(BIN)
        .args(["package", "mcpb", "--out"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let unpacked = temp.path().join("unpacked");
    unpack(&bundle, &unpacked);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(unpacked.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["manifest_version"], "0.3");
    assert_eq!(manifest["server"]["type"], "binary");
    assert!(unpacked.join("icon.png").is_file());
    let entry = unpacked.join(manifest["server"]["entry_point"].as_str().unwrap());
    assert_eq!(
        std::fs::read(&entry).unwrap(),
        std::fs::read(BIN).unwrap(),
        "the bundle holds this very binary"
    );
    assert_eq!(
        std::fs::metadata(&entry).unwrap().permissions().mode() & 0o111,
        0o111,
        "executable"
    );
    // Claude Desktop's substitution: ${__dirname} is the unpacked folder, the folders the
    // person picked expand in place of ${user_config.allowed_folders}.
    let folders = [temp.path().join("files-a"), temp.path().join("files-b")];
    for f in &folders {
        std::fs::create_dir_all(f).unwrap();
    }
    let config = &manifest["server"]["mcp_config"];
    let command = config["command"]
        .as_str()
        .unwrap()
        .replace("${__dirname}", unpacked.to_str().unwrap());
    let mut args: Vec<String> = Vec::new();
    for a in config["args"].as_array().unwrap() {
        match a.as_str().unwrap() {
            "${user_config.allowed_folders}" => {
                args.extend(folders.iter().map(|f| f.display().to_string()))
            }
            other => args.push(other.to_string()),
        }
    }
    // A bridge already running on this data directory: the relay connects to it.
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut bridge = serve(&data, 0);
    let mut relay = Command::new(&command)
        .args(&args)
        .env("OFFICE_BRIDGE_DATA_DIR", &data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = relay.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = relay.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    let mut send = |v: Value| {
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    };
    let answer = |id: i64| loop {
        let v = rx.recv_timeout(Duration::from_secs(30)).expect("an answer");
        if v["id"] == json!(id) {
            break v;
        }
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "claude-desktop-like", "version": "0"}}}),
    );
    assert!(answer(1)["result"]["serverInfo"].is_object());
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let tools = answer(2);
    let listed: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let in_manifest: Vec<&str> = manifest["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for name in &in_manifest {
        assert!(
            listed.contains(name),
            "{name} listed in the manifest, not served"
        );
    }
    assert_eq!(listed.len(), in_manifest.len(), "{listed:?}");
    let _ = relay.kill();
    let _ = relay.wait();
    terminate(&mut bridge);
}

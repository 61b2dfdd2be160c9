//! `office-bridge service`: the bridge started at login. The systemd user unit it writes
//! passes `systemd-analyze verify` and runs this binary with this data directory; install,
//! status and uninstall work on a user with no systemd session (the unit is written and the
//! person told how to enable it); `--print` writes nothing. The macOS LaunchAgent is a
//! property list Python's plistlib reads back argument for argument.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use office_bridge::cli::service::{ServiceCommand, launch_agent};

const BIN: &str = env!("CARGO_BIN_EXE_office-bridge");

fn service(home: &Path, data: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .arg("service")
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        // No user session bus here: systemctl --user cannot reach a manager.
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn require(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is needed under CI (Debian: systemd / python3)"
        );
        eprintln!("{tool} not found: not checked here");
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn the_systemd_unit_is_valid_and_install_status_uninstall_work() {
    let temp = tempfile::tempdir().unwrap();
    let home = temp.path().join("home");
    let data = temp.path().join("data dir");
    let files = temp.path().join("my files");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&files).unwrap();
    let unit = home.join(".config/systemd/user/office-bridge.service");

    // --print shows it and writes nothing.
    let printed = service(
        &home,
        &data,
        &["install", "--print", "--allow-dir", files.to_str().unwrap()],
    );
    assert!(printed.status.success(), "{}", text(&printed));
    let shown = text(&printed);
    assert!(shown.contains(&unit.display().to_string()), "{shown}");
    assert!(
        shown.contains("systemctl --user enable --now office-bridge.service"),
        "{shown}"
    );
    assert!(!unit.exists());

    let installed = service(
        &home,
        &data,
        &["install", "--allow-dir", files.to_str().unwrap()],
    );
    assert!(installed.status.success(), "{}", text(&installed));
    let contents = std::fs::read_to_string(&unit).unwrap();
    let exec = contents
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .unwrap();
    assert!(exec.contains(&format!("\"{BIN}\"")), "{exec}");
    assert!(exec.contains(&format!("\"{}\"", data.display())), "{exec}");
    assert!(exec.contains(&format!("\"{}\"", files.display())), "{exec}");
    if require("systemd-analyze") {
        let verify = Command::new("systemd-analyze")
            .args(["verify"])
            .arg(&unit)
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "systemd-analyze verify: {}",
            text(&verify)
        );
        // It reports problems on stderr and still exits 0 for some of them.
        let said = text(&verify);
        assert!(
            !said.contains("office-bridge.service:"),
            "systemd-analyze verify: {said}"
        );
    }

    let status = service(&home, &data, &["status"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains("Installed:"), "{}", text(&status));
    assert!(
        !text(&status).contains("another binary"),
        "{}",
        text(&status)
    );
    // Another data directory is not this installation.
    let other = service(&home, &temp.path().join("other"), &["status"]);
    assert!(
        text(&other).contains("another binary or data directory"),
        "{}",
        text(&other)
    );

    let removed = service(&home, &data, &["uninstall"]);
    assert!(removed.status.success(), "{}", text(&removed));
    assert!(!unit.exists());
    let status = service(&home, &data, &["status"]);
    assert_eq!(status.status.code(), Some(1), "{}", text(&status));
}

#[test]
fn the_launch_agent_is_a_property_list_of_the_same_arguments() {
    let cmd = ServiceCommand {
        exe: PathBuf::from("/Applications/office-bridge/office-bridge"),
        data_dir: PathBuf::from("/Users/ana/Library/Application Support/office-bridge"),
        port: 29443,
        allow_dirs: vec![PathBuf::from("/Users/ana/R&D <Q3> \"final\"")],
    };
    let plist = launch_agent(&cmd);
    if !require("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.plist");
    std::fs::write(&path, &plist).unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut expected = vec![cmd.exe.display().to_string()];
    expected.extend(cmd.args());
    assert_eq!(parsed["ProgramArguments"], serde_json::json!(expected));
    assert_eq!(parsed["RunAtLoad"], true);
    assert_eq!(parsed["Label"], "org.office-bridge.serve");
}

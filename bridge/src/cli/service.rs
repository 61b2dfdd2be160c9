//! `office-bridge service install | uninstall | status`: the bridge started at login for
//! the current user, by the platform's own means: a systemd user unit on Linux, a
//! LaunchAgent on macOS, a value under the user's `Run` key on Windows. Each is written
//! from the running binary's path and the data directory in use, so the bridge that starts
//! at login is this one, with these certificates, tokens and database.
//!
//! What is written is pure text made here ([`systemd_unit`], [`launch_agent`],
//! [`run_key_command`]), tested on every platform; `--print` shows it, and the commands that
//! would be run, without writing or running anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The name the service is known by: the unit (`office-bridge.service`), the LaunchAgent's
/// label (`org.office-bridge.serve`), the `Run` value (`office-bridge`).
pub const UNIT: &str = "office-bridge.service";
pub const LAUNCH_LABEL: &str = "org.office-bridge.serve";
pub const RUN_VALUE: &str = "office-bridge";
const RUN_KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";

/// What the service runs: this binary, `--data-dir DIR serve`, and the serve options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceCommand {
    pub exe: PathBuf,
    pub data_dir: PathBuf,
    pub port: u16,
    pub allow_dirs: Vec<PathBuf>,
}

impl ServiceCommand {
    /// The arguments after the program.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_string(),
            self.data_dir.display().to_string(),
            "serve".to_string(),
            "--port".to_string(),
            self.port.to_string(),
        ];
        for d in &self.allow_dirs {
            args.push("--allow-dir".into());
            args.push(d.display().to_string());
        }
        args
    }
}

/// One word of an `ExecStart=` line: always in double quotes, with what systemd would
/// otherwise expand escaped (`\` and `"` with a backslash, `%` as `%%`, `$` as `$$`).
fn systemd_word(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The systemd user unit.
pub fn systemd_unit(cmd: &ServiceCommand) -> String {
    let exec: Vec<String> = std::iter::once(cmd.exe.display().to_string())
        .chain(cmd.args())
        .map(|w| systemd_word(&w))
        .collect();
    format!(
        "# Written by `office-bridge service install`; remove with `office-bridge service uninstall`.\n\
         [Unit]\n\
         Description=office-bridge: the local bridge between an AI agent and the Excel and PowerPoint add-ins\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={}\n\
         Restart=on-failure\n\
         RestartSec=2\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        exec.join(" ")
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The LaunchAgent property list.
pub fn launch_agent(cmd: &ServiceCommand) -> String {
    let args: String = std::iter::once(cmd.exe.display().to_string())
        .chain(cmd.args())
        .map(|a| format!("    <string>{}</string>\n", xml_escape(&a)))
        .collect();
    let log = xml_escape(&cmd.data_dir.join("bridge.log").display().to_string());
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by `office-bridge service install`; remove with `office-bridge service uninstall`. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{LAUNCH_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
{args}  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>StandardErrorPath</key>
  <string>{log}</string>
</dict>
</plist>
"#
    )
}

/// One argument of a Windows command line, quoted the way `CommandLineToArgvW` reads it
/// back: in double quotes, backslashes doubled only before a quote.
fn windows_arg(s: &str) -> String {
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in s.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.push_str(&"\\".repeat(backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.push_str(&"\\".repeat(backslashes));
                backslashes = 0;
                out.push(c);
            }
        }
    }
    out.push_str(&"\\".repeat(backslashes * 2));
    out.push('"');
    out
}

/// The command line stored under the user's `Run` key.
pub fn run_key_command(cmd: &ServiceCommand) -> String {
    std::iter::once(cmd.exe.display().to_string())
        .chain(cmd.args())
        .map(|a| windows_arg(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where the platform keeps it, and what it holds.
pub struct Plan {
    /// The file written (none for the Windows `Run` key: the registry holds it).
    pub file: Option<PathBuf>,
    /// What is written.
    pub contents: String,
    /// Commands run after writing (install) or before removing (uninstall).
    pub install: Vec<Vec<String>>,
    pub uninstall: Vec<Vec<String>>,
    pub status: Vec<Vec<String>>,
    /// What an installed file must hold to be this binary with this data directory (the
    /// two as the file writes them).
    pub identifies: Vec<String>,
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// The plan for this platform.
pub fn plan(cmd: &ServiceCommand) -> Result<Plan> {
    if cfg!(target_os = "linux") {
        let dir = dirs::config_dir()
            .context("no configuration folder for this user")?
            .join("systemd/user");
        Ok(Plan {
            file: Some(dir.join(UNIT)),
            contents: systemd_unit(cmd),
            install: vec![
                strings(&["systemctl", "--user", "daemon-reload"]),
                strings(&["systemctl", "--user", "enable", "--now", UNIT]),
            ],
            uninstall: vec![strings(&["systemctl", "--user", "disable", "--now", UNIT])],
            status: vec![
                strings(&["systemctl", "--user", "is-enabled", UNIT]),
                strings(&["systemctl", "--user", "is-active", UNIT]),
            ],
            identifies: vec![
                systemd_word(&cmd.exe.display().to_string()),
                systemd_word(&cmd.data_dir.display().to_string()),
            ],
        })
    } else if cfg!(target_os = "macos") {
        let file = dirs::home_dir()
            .context("no home folder for this user")?
            .join("Library/LaunchAgents")
            .join(format!("{LAUNCH_LABEL}.plist"));
        let path = file.display().to_string();
        Ok(Plan {
            contents: launch_agent(cmd),
            install: vec![strings(&["launchctl", "load", "-w", &path])],
            uninstall: vec![strings(&["launchctl", "unload", "-w", &path])],
            status: vec![strings(&["launchctl", "list", LAUNCH_LABEL])],
            identifies: vec![
                format!(
                    "<string>{}</string>",
                    xml_escape(&cmd.exe.display().to_string())
                ),
                format!(
                    "<string>{}</string>",
                    xml_escape(&cmd.data_dir.display().to_string())
                ),
            ],
            file: Some(file),
        })
    } else if cfg!(windows) {
        let value = run_key_command(cmd);
        Ok(Plan {
            file: None,
            install: vec![strings(&[
                "reg", "add", RUN_KEY, "/v", RUN_VALUE, "/t", "REG_SZ", "/d", &value, "/f",
            ])],
            uninstall: vec![strings(&["reg", "delete", RUN_KEY, "/v", RUN_VALUE, "/f"])],
            status: vec![strings(&["reg", "query", RUN_KEY, "/v", RUN_VALUE])],
            identifies: Vec::new(),
            contents: value,
        })
    } else {
        bail!("starting at login is not supported on this platform")
    }
}

fn shown(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if w.contains(char::is_whitespace) || w.contains('"') {
                format!("'{w}'")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs each command; the first failure ends it with what the command said.
fn run_all(commands: &[Vec<String>]) -> Result<()> {
    for c in commands {
        let Some((program, args)) = c.split_first() else {
            continue;
        };
        let out = Command::new(program)
            .args(args)
            .output()
            .with_context(|| format!("cannot run {}", shown(c)))?;
        if !out.status.success() {
            bail!(
                "{} failed: {}",
                shown(c),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

/// `service install`: writes the unit (or plist, or `Run` value) and enables it.
pub fn install(cmd: &ServiceCommand, print: bool) -> Result<()> {
    let plan = plan(cmd)?;
    if print {
        if let Some(f) = &plan.file {
            println!("Would write {}:\n", f.display());
        }
        println!("{}", plan.contents);
        println!("Then run:");
        for c in &plan.install {
            println!("  {}", shown(c));
        }
        return Ok(());
    }
    if let Some(f) = &plan.file {
        write_file(f, &plan.contents)?;
        println!("Wrote {}.", f.display());
    }
    match run_all(&plan.install) {
        Ok(()) => println!("office-bridge now starts at login (and is running)."),
        Err(e) => println!(
            "Written, but it could not be enabled now ({e:#}). It takes effect once these run in your session:\n{}",
            plan.install
                .iter()
                .map(|c| format!("  {}", shown(c)))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
    Ok(())
}

/// `service uninstall`: disables it and removes what `install` wrote.
pub fn uninstall(cmd: &ServiceCommand, print: bool) -> Result<()> {
    let plan = plan(cmd)?;
    if print {
        println!("Would run:");
        for c in &plan.uninstall {
            println!("  {}", shown(c));
        }
        if let Some(f) = &plan.file {
            println!("and remove {}.", f.display());
        }
        return Ok(());
    }
    if let Err(e) = run_all(&plan.uninstall) {
        println!("Note: {e:#}");
    }
    if let Some(f) = &plan.file {
        match std::fs::remove_file(f) {
            Ok(()) => println!("Removed {}.", f.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("Nothing installed at {}.", f.display())
            }
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", f.display())),
        }
        if cfg!(target_os = "linux") {
            let _ = run_all(&[strings(&["systemctl", "--user", "daemon-reload"])]);
        }
    }
    Ok(())
}

/// `service status`: what is installed, whether it runs this binary with this data
/// directory, and what the platform says of it.
pub fn status(cmd: &ServiceCommand) -> Result<bool> {
    let plan = plan(cmd)?;
    let installed = match &plan.file {
        Some(f) => match std::fs::read_to_string(f) {
            Ok(text) => {
                let current = plan.identifies.iter().all(|w| text.contains(w.as_str()));
                println!(
                    "Installed: {}{}",
                    f.display(),
                    if current {
                        ""
                    } else {
                        " (written for another binary or data directory: run `office-bridge service install` again to update it)"
                    }
                );
                true
            }
            Err(_) => {
                println!("Not installed (no {}).", f.display());
                false
            }
        },
        None => true,
    };
    for c in &plan.status {
        let Some((program, args)) = c.split_first() else {
            continue;
        };
        match Command::new(program).args(args).output() {
            Ok(out) => println!(
                "{}: {}",
                shown(c),
                String::from_utf8_lossy(&out.stdout).trim()
            ),
            Err(e) => println!("{}: cannot run it ({e})", shown(c)),
        }
    }
    Ok(installed)
}

fn write_file(path: &Path, contents: &str) -> Result<()> {
    let dir = path.parent().context("the service file has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, contents.as_bytes())?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> ServiceCommand {
        ServiceCommand {
            exe: PathBuf::from("/opt/office bridge/office-bridge"),
            data_dir: PathBuf::from("/home/ana/.local/share/office-bridge"),
            port: 29443,
            allow_dirs: vec![PathBuf::from("/home/ana/Q3 100% \"final\" $work")],
        }
    }

    #[test]
    fn the_unit_quotes_every_word_and_escapes_what_systemd_expands() {
        let unit = systemd_unit(&cmd());
        let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
        assert_eq!(
            exec,
            r#"ExecStart="/opt/office bridge/office-bridge" "--data-dir" "/home/ana/.local/share/office-bridge" "serve" "--port" "29443" "--allow-dir" "/home/ana/Q3 100%% \"final\" $$work""#
        );
        assert!(unit.contains("WantedBy=default.target"));
    }

    #[test]
    fn the_plist_lists_each_argument_escaped() {
        let mut c = cmd();
        c.allow_dirs = vec![PathBuf::from("/Users/ana/R&D <2025>")];
        let plist = launch_agent(&c);
        assert!(plist.contains("<string>/Users/ana/R&amp;D &lt;2025&gt;</string>"));
        assert!(plist.contains(&format!("<string>{LAUNCH_LABEL}</string>")));
    }

    #[test]
    fn the_run_value_round_trips_through_windows_quoting() {
        let c = ServiceCommand {
            exe: PathBuf::from(r"C:\Program Files\office-bridge\office-bridge.exe"),
            data_dir: PathBuf::from(r"C:\Users\ana\AppData\Roaming\office-bridge\"),
            port: 29443,
            allow_dirs: vec![PathBuf::from(r#"D:\a "quoted" dir"#)],
        };
        let line = run_key_command(&c);
        assert_eq!(
            line,
            r#""C:\Program Files\office-bridge\office-bridge.exe" "--data-dir" "C:\Users\ana\AppData\Roaming\office-bridge\\" "serve" "--port" "29443" "--allow-dir" "D:\a \"quoted\" dir""#
        );
    }
}

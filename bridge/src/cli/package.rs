//! `office-bridge package mcpb`: a Claude Desktop extension (an MCP Bundle, `.mcpb`).
//!
//! A bundle is a zip with a `manifest.json` at its root (manifest version 0.3 of the
//! `@anthropic-ai/mcpb` schema), the icon, and the server: here the binary itself, one per
//! platform under `server/<platform>/`, started as `office-bridge mcp` (the stdio relay,
//! which starts the bridge when none is running). The person picks the folders the file
//! tools may use when installing it (`user_config.allowed_folders`, passed as
//! `--allow-dir`). The bundle holds the binary of the machine that builds it, and any
//! others given with `--binary PLATFORM=PATH` (a cross-built `office-bridge.exe`, say).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use zip::write::SimpleFileOptions;

use crate::mcp::OfficeBridgeMcp;

/// The bundle's icon: the add-ins' colour icon (192 x 192 PNG).
const ICON: &[u8] = include_bytes!("../../../manifests/color.png");

/// A platform as the manifest names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Platform {
    Darwin,
    Linux,
    Win32,
}

impl Platform {
    /// The manifest's name for it (`darwin`, `linux`, `win32`).
    pub fn name(self) -> &'static str {
        match self {
            Platform::Darwin => "darwin",
            Platform::Linux => "linux",
            Platform::Win32 => "win32",
        }
    }

    /// The platform this binary was built for, if a bundle can hold it.
    pub fn current() -> Option<Platform> {
        match std::env::consts::OS {
            "macos" => Some(Platform::Darwin),
            "linux" => Some(Platform::Linux),
            "windows" => Some(Platform::Win32),
            _ => None,
        }
    }

    fn parse(s: &str) -> Result<Platform> {
        Ok(match s {
            "darwin" | "macos" => Platform::Darwin,
            "linux" => Platform::Linux,
            "win32" | "windows" => Platform::Win32,
            other => bail!("unknown platform {other:?}: darwin, linux or win32"),
        })
    }

    /// Where its binary goes in the bundle.
    fn entry_point(self) -> String {
        let exe = if self == Platform::Win32 {
            "office-bridge.exe"
        } else {
            "office-bridge"
        };
        format!("server/{}/{exe}", self.name())
    }
}

/// A `PLATFORM=PATH` argument.
pub fn parse_binary(arg: &str) -> Result<(Platform, PathBuf)> {
    let (platform, path) = arg
        .split_once('=')
        .with_context(|| format!("--binary {arg:?}: expected PLATFORM=PATH"))?;
    Ok((Platform::parse(platform)?, PathBuf::from(path)))
}

/// The manifest of a bundle holding binaries for `platforms` (the first is the default
/// command; the others are platform overrides).
pub fn manifest(platforms: &[Platform]) -> Value {
    let args = json!(["mcp", "--allow-dir", "${user_config.allowed_folders}"]);
    let command = |p: Platform| format!("${{__dirname}}/{}", p.entry_point());
    let main = platforms.first().copied().unwrap_or(Platform::Linux);
    let overrides: serde_json::Map<String, Value> = platforms
        .iter()
        .map(|&p| {
            (
                p.name().to_string(),
                json!({"command": command(p), "args": args}),
            )
        })
        .collect();
    let tools: Vec<Value> = OfficeBridgeMcp::tool_summaries()
        .into_iter()
        .map(|(name, description)| json!({"name": name, "description": description}))
        .collect();
    json!({
        "manifest_version": "0.3",
        "name": "office-bridge",
        "display_name": "office-bridge",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Read Excel workbooks and write PowerPoint decks through their task panes, with every transfer of data between documents tracked and decided by your choices and your administrator's policy.",
        "long_description": "office-bridge connects the agent to the Excel and PowerPoint add-ins open on this computer. It labels every value the agent reads with its source, checks every write for data from other documents (even reformatted, such as \"$1.23M\" or \"12.3%\"), and allows, shows, holds for your approval or blocks each transfer. Everything is recorded in a tamper-evident audit log. The file tools read and write workbooks only in the folders you choose here.",
        "author": {"name": "office-bridge developers"},
        "license": "MIT OR Apache-2.0",
        "icon": "icon.png",
        "server": {
            "type": "binary",
            "entry_point": main.entry_point(),
            "mcp_config": {
                "command": command(main),
                "args": args,
                "platform_overrides": overrides,
            },
        },
        "tools": tools,
        "user_config": {
            "allowed_folders": {
                "type": "directory",
                "title": "Folders for workbook files",
                "description": "The folders the file tools (xlsx_read, xlsx_write, scan_file) may read and write. Live Excel and PowerPoint documents are reached through their add-ins, not through these folders.",
                "multiple": true,
                "required": true,
            },
        },
        "compatibility": {
            "platforms": platforms.iter().map(|p| p.name()).collect::<Vec<_>>(),
        },
        "keywords": ["excel", "powerpoint", "office", "data loss prevention", "audit"],
    })
}

/// What was written.
pub struct Packed {
    pub out: PathBuf,
    pub platforms: Vec<Platform>,
    pub bytes: u64,
}

/// Writes the bundle to `out`: this machine's binary and `others` (each a platform and a
/// path to its binary).
pub fn mcpb(out: &Path, others: &[(Platform, PathBuf)]) -> Result<Packed> {
    let mut binaries: Vec<(Platform, PathBuf)> = Vec::new();
    if let Some(here) = Platform::current() {
        let exe = std::env::current_exe().context("cannot find this program's own binary")?;
        binaries.push((here, exe));
    }
    for (p, path) in others {
        if binaries.iter().any(|(q, _)| q == p) {
            // A binary given for this machine's platform replaces the running one.
            binaries.retain(|(q, _)| q != p);
        }
        binaries.push((*p, path.clone()));
    }
    if binaries.is_empty() {
        bail!("this platform cannot be bundled; give binaries with --binary PLATFORM=PATH");
    }
    let platforms: Vec<Platform> = binaries.iter().map(|(p, _)| *p).collect();
    let manifest = serde_json::to_vec_pretty(&manifest(&platforms))?;
    // Written beside the target and renamed over it, so a failure leaves no half bundle.
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    {
        let mut zip = zip::ZipWriter::new(tmp.as_file_mut());
        let file = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o644);
        zip.start_file("manifest.json", file)?;
        zip.write_all(&manifest)?;
        zip.start_file("icon.png", file)?;
        zip.write_all(ICON)?;
        for (platform, path) in &binaries {
            let bytes = std::fs::read(path).with_context(|| {
                format!(
                    "cannot read the {} binary {}",
                    platform.name(),
                    path.display()
                )
            })?;
            zip.start_file(platform.entry_point(), file.unix_permissions(0o755))?;
            zip.write_all(&bytes)?;
        }
        zip.finish()?;
    }
    let bytes = tmp.as_file().metadata()?.len();
    tmp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(Packed {
        out: out.to_path_buf(),
        platforms,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_runs_the_relay_with_the_chosen_folders() {
        let m = manifest(&[Platform::Linux, Platform::Win32]);
        assert_eq!(m["server"]["type"], "binary");
        assert_eq!(m["server"]["entry_point"], "server/linux/office-bridge");
        assert_eq!(
            m["server"]["mcp_config"]["args"],
            json!(["mcp", "--allow-dir", "${user_config.allowed_folders}"])
        );
        assert_eq!(
            m["server"]["mcp_config"]["platform_overrides"]["win32"]["command"],
            "${__dirname}/server/win32/office-bridge.exe"
        );
        assert_eq!(m["compatibility"]["platforms"], json!(["linux", "win32"]));
        let tools = m["tools"].as_array().unwrap();
        assert_eq!(tools.len(), OfficeBridgeMcp::tool_names().len());
        assert!(
            tools
                .iter()
                .all(|t| !t["description"].as_str().unwrap().is_empty())
        );
        assert_eq!(m["user_config"]["allowed_folders"]["multiple"], true);
    }

    #[test]
    fn binaries_are_named_by_platform() {
        assert_eq!(
            parse_binary("win32=/tmp/office-bridge.exe").unwrap(),
            (Platform::Win32, PathBuf::from("/tmp/office-bridge.exe"))
        );
        assert!(parse_binary("beos=/x").is_err());
        assert!(parse_binary("/x").is_err());
    }
}

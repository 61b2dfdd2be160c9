//! Where office-bridge keeps its state: certificates, the agent's bearer token, the
//! desktop credential, the database and the key of its audit value hashes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Environment variable that overrides the data directory (as `--data-dir` does).
pub const DATA_DIR_ENV: &str = "OFFICE_BRIDGE_DATA_DIR";

/// File name of the agent's bearer token in the data directory.
pub const TOKEN_FILE: &str = "token";
/// File name of the desktop credential in the data directory.
pub const DESKTOP_TOKEN_FILE: &str = "desktop-token";

/// The data directory and the files in it.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// `explicit` (from `--data-dir` or the environment) wins; otherwise the OS user data
    /// directory (`~/.local/share/office-bridge`, `~/Library/Application Support/office-bridge`,
    /// `%APPDATA%\office-bridge`). On Windows `dirs` asks the OS for the RoamingAppData known
    /// folder (`SHGetKnownFolderPath`), not the `APPDATA` variable (tests/windows/e2e.sh
    /// checks that a changed `APPDATA` does not move it).
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Self> {
        let root = match explicit {
            Some(p) => p,
            None => dirs::data_dir()
                .context("cannot find the user data directory; pass --data-dir or set OFFICE_BRIDGE_DATA_DIR")?
                .join("office-bridge"),
        };
        Ok(DataDir { root })
    }

    pub fn at(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the directory (owner-only on Unix) if it does not exist yet.
    pub fn ensure(&self) -> Result<()> {
        fs::create_dir_all(&self.root)
            .with_context(|| format!("creating data directory {}", self.root.display()))?;
        restrict_dir(&self.root)
    }

    /// The agent's bearer token: `/mcp` and the desktop API's reads.
    pub fn token_file(&self) -> PathBuf {
        self.root.join(TOKEN_FILE)
    }

    /// The desktop credential: the desktop API, including answering approvals. Never
    /// given to an agent.
    pub fn desktop_token_file(&self) -> PathBuf {
        self.root.join(DESKTOP_TOKEN_FILE)
    }

    pub fn database(&self) -> PathBuf {
        self.root.join("office-bridge.sqlite3")
    }

    /// Written by a running `serve` (port, pid, version) so `office-bridge mcp` and other
    /// local tools find it; removed on a clean shutdown. Not a lock: a stale file is
    /// detected by probing the port.
    pub fn run_file(&self) -> PathBuf {
        self.root.join("bridge.json")
    }

    pub fn certs(&self) -> certs::CertPaths {
        certs::CertPaths::new(&self.root)
    }
}

#[cfg(unix)]
fn restrict_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {} to its owner", path.display()))
}

#[cfg(not(unix))]
fn restrict_dir(_path: &Path) -> Result<()> {
    // The per-user data directory on Windows already inherits an owner-only ACL.
    Ok(())
}

/// Writes a secret file atomically and owner-only: the temporary file is created with
/// mode 0600 before any byte is written, so the secret is never readable by others,
/// not even for a moment.
pub fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .context("secret file has no parent directory")?;
    let prefix = format!(
        ".{}.tmp-",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("secret")
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    let mut file = builder
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    file.write_all(contents)
        .and_then(|_| file.as_file().sync_all())
        .with_context(|| format!("writing {}", file.path().display()))?;
    // Dropped on failure, the temporary file is removed.
    file.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

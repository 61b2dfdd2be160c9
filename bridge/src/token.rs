//! The bridge's two bearer credentials: the agent's token (`<data dir>/token`, for `/mcp`
//! and the desktop API's reads) and the desktop credential (`<data dir>/desktop-token`, for
//! the desktop API including answering approvals, never given to an agent). Both are
//! random, stored owner-only in the data directory, compared in constant time and never
//! logged. Which routes take which is decided in `server::guard`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use subtle::ConstantTimeEq;

use crate::datadir::write_secret;

/// 32 random bytes, hex-encoded: 256 bits, safe to paste into any config file.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no OS randomness: {e}"))?;
        Ok(Token(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// Loads the token, creating it on first start.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match fs::read_to_string(path) {
            Ok(s) => {
                let t = s.trim();
                if t.len() < 32 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
                    bail!(
                        "the token file {} is damaged; run `{}` to make a new one",
                        path.display(),
                        rotate_command(path)
                    );
                }
                Ok(Token(t.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::rotate(path),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Replaces the token with a new random one; clients holding the old one get 401.
    pub fn rotate(path: &Path) -> Result<Self> {
        let token = Self::generate()?;
        write_secret(path, format!("{}\n", token.0).as_bytes())?;
        Ok(token)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares a presented token in constant time (for equal lengths), so response
    /// timing does not reveal how many leading characters were right.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// Checks an `Authorization: Bearer <token>` header value.
    pub fn matches_bearer(&self, header: Option<&str>) -> bool {
        match header.and_then(|h| h.strip_prefix("Bearer ")) {
            Some(t) => self.matches(t.trim()),
            None => false,
        }
    }
}

/// The command that replaces the token in `path`, for error messages.
fn rotate_command(path: &Path) -> &'static str {
    if path.file_name().and_then(|n| n.to_str()) == Some(crate::datadir::DESKTOP_TOKEN_FILE) {
        "office-bridge token rotate --desktop"
    } else {
        "office-bridge token rotate"
    }
}

/// The token as the running bridge sees it. `office-bridge token rotate` rewrites the
/// file from another process; the bridge notices the new modification time on the next
/// request and stops accepting the old token without a restart.
pub struct TokenFile {
    path: PathBuf,
    cached: Mutex<(Option<SystemTime>, Token)>,
}

impl TokenFile {
    pub fn open(path: &Path) -> Result<Self> {
        let token = Token::load_or_create(path)?;
        let mtime = fs::metadata(path).and_then(|m| m.modified()).ok();
        Ok(TokenFile {
            path: path.to_path_buf(),
            cached: Mutex::new((mtime, token)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn current(&self) -> Token {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        let mtime = fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        if mtime.is_some() && mtime != cached.0 {
            match Token::load_or_create(&self.path) {
                Ok(t) => *cached = (mtime, t),
                // A half-written or damaged file keeps the last good token rather than
                // locking everyone out or letting everyone in.
                Err(e) => {
                    tracing::warn!("token file unreadable, keeping the previous token: {e:#}")
                }
            }
        }
        cached.1.clone()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_reused_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        let a = Token::load_or_create(&path).unwrap();
        let b = Token::load_or_create(&path).unwrap();
        assert_eq!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
        let c = Token::rotate(&path).unwrap();
        assert_ne!(a.expose(), c.expose());
        assert_eq!(Token::load_or_create(&path).unwrap().expose(), c.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn bearer_matching_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let t = Token::load_or_create(&dir.path().join("token")).unwrap();
        assert!(t.matches_bearer(Some(&format!("Bearer {}", t.expose()))));
        assert!(!t.matches_bearer(Some(&format!("Bearer {}x", t.expose()))));
        assert!(!t.matches_bearer(Some(&format!("Basic {}", t.expose()))));
        assert!(!t.matches_bearer(Some("Bearer ")));
        assert!(!t.matches_bearer(None));
        assert!(!format!("{t:?}").contains(t.expose()));
    }

    #[test]
    fn damaged_token_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        fs::write(&path, "not a token").unwrap();
        let err = Token::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("`office-bridge token rotate`"), "{err}");
        let desktop = dir.path().join(crate::datadir::DESKTOP_TOKEN_FILE);
        fs::write(&desktop, "not a token either").unwrap();
        let err = Token::load_or_create(&desktop).unwrap_err().to_string();
        assert!(
            err.contains("`office-bridge token rotate --desktop`"),
            "{err}"
        );
    }
}

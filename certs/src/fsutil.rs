//! File helpers that keep private keys owner-only from the first byte written.

use std::io::Write;
use std::path::Path;

use crate::CertError;

pub(crate) fn read_string(path: &Path) -> Result<String, CertError> {
    std::fs::read_to_string(path).map_err(|e| CertError::io("read", path, e))
}

pub(crate) fn create_private_dir(dir: &Path) -> Result<(), CertError> {
    std::fs::create_dir_all(dir).map_err(|e| CertError::io("create directory", dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| CertError::io("restrict permissions of", dir, e))?;
    }
    Ok(())
}

pub(crate) fn restrict_to_owner(path: &Path) -> Result<(), CertError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| CertError::io("inspect", path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            tracing::warn!(file = %path.display(), "private key was readable by others; setting 0600");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| CertError::io("restrict permissions of", path, e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Unix permission bits of a file, for the status report.
pub(crate) fn mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Writes to a sibling temporary file and renames it over `path`, so readers never see half a
/// PEM and a crash never leaves a truncated key. Private files are created 0600 rather than
/// chmod-ed afterwards, so there is no moment when they are readable by others.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), CertError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let prefix = format!(".{name}.tmp-");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(if private {
            0o600
        } else {
            0o644
        }));
    }
    #[cfg(not(unix))]
    let _ = private;
    // A temporary file dropped before `persist` (on any failure) is removed.
    let result = (|| {
        let mut file = builder.tempfile_in(dir)?;
        file.write_all(bytes)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    })();
    result.map_err(|e| CertError::io("write", path, e))
}

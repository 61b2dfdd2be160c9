//! `office-bridge manifests --port N --out DIR`: the add-in manifests for another port.
//! The templates are the checked-in manifests with `{{PORT}}` in place of the port.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use include_dir::{Dir, include_dir};

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../manifests/templates");

/// Renders every template for `port` into `out`; returns the files written.
pub fn write(port: u16, out: &Path) -> Result<Vec<String>> {
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    for file in TEMPLATES.files() {
        let name = file
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .context("template without a name")?;
        let target = out.join(name);
        let bytes = match file.contents_utf8() {
            Some(text) if !name.ends_with(".png") => {
                text.replace("{{PORT}}", &port.to_string()).into_bytes()
            }
            _ => file.contents().to_vec(),
        };
        fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
        written.push(name.to_string());
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_port_renders_the_checked_in_manifests() {
        let dir = tempfile::tempdir().unwrap();
        let files = write(crate::server::DEFAULT_PORT, dir.path()).unwrap();
        assert!(files.contains(&"excel.xml".to_string()), "{files:?}");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests");
        for name in files {
            assert_eq!(
                fs::read(dir.path().join(&name)).unwrap(),
                fs::read(root.join(&name)).unwrap(),
                "{name} differs from the checked-in manifest"
            );
        }
    }

    #[test]
    fn another_port_is_substituted_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        write(40123, dir.path()).unwrap();
        let xml = fs::read_to_string(dir.path().join("excel.xml")).unwrap();
        assert!(xml.contains("https://localhost:40123/"));
        assert!(!xml.contains("29443") && !xml.contains("{{PORT}}"));
        let json = fs::read_to_string(dir.path().join("manifest.json")).unwrap();
        assert!(json.contains("localhost:40123") && !json.contains("{{PORT}}"));
    }
}

//! Whether one path lies inside another, by the rules of the system the bridge runs on.
//!
//! On unix, component by component (`Path::starts_with`, so `/data-evil` is not inside
//! `/data`). Windows paths differ in ways `Path::starts_with` does not see: names are
//! compared without regard to case (`C:\Users\Ann\Reports` is `c:\users\ann\REPORTS`),
//! `/` and `\` are both separators, and one folder has several spellings, a drive path
//! (`C:\data`), its long form (`\\?\C:\data`, what `fs::canonicalize` returns), a share
//! (`\\server\share\data`) and its long form (`\\?\UNC\server\share\data`). [`windows_inside`]
//! compares such paths as Windows would resolve them; it is pure and tested on every
//! system.

use std::path::Path;

/// Whether `path` is `root` or inside it (both canonical).
pub fn inside(path: &Path, root: &Path) -> bool {
    #[cfg(windows)]
    {
        // Both are names Windows gave back; a name that is not valid Unicode (an unpaired
        // surrogate) is compared exactly rather than folded lossily.
        if let (Some(p), Some(r)) = (path.to_str(), root.to_str()) {
            return windows_inside(p, r);
        }
    }
    path.starts_with(root)
}

/// `path` is `root` or inside it, as Windows paths: case-insensitive, either separator,
/// long (`\\?\`) and short spellings of drive and share paths alike. A path with a `..`
/// component is never inside (canonical paths have none, and resolving it here would
/// need the disk).
// Used only on Windows outside tests; tested everywhere.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn windows_inside(path: &str, root: &str) -> bool {
    let (Some(path), Some(root)) = (windows_components(path), windows_components(root)) else {
        return false;
    };
    path.len() >= root.len() && path.iter().zip(&root).all(|(a, b)| a == b)
}

/// The comparable parts of a Windows path: its root (a drive `C:`, or a share
/// `\\server\share` as `\\` then its two names), then each name folded to upper case.
/// `None` for a `..` component or an empty path.
fn windows_components(path: &str) -> Option<Vec<String>> {
    let unified = path.replace('/', "\\");
    // Long forms: `\\?\UNC\server\share\...` is `\\server\share\...`; `\\?\C:\...` is
    // `C:\...`. Other `\\?\` and `\\.\` forms (volume GUIDs, devices) keep their prefix
    // as a root of their own, so they are never inside a drive path.
    let long_unc = unified
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("\\\\?\\UNC\\"));
    let (rest, unc) = if long_unc {
        (&unified[8..], true)
    } else if let Some(drive) = unified.strip_prefix("\\\\?\\").filter(|r| has_drive(r)) {
        (drive, false)
    } else if let Some(share) = unified.strip_prefix("\\\\") {
        (share, true)
    } else {
        (unified.as_str(), false)
    };
    let mut parts = Vec::new();
    if unc {
        parts.push("\\\\".to_string());
    }
    for name in rest.split('\\') {
        match name {
            "" | "." => {}
            ".." => return None,
            _ => parts.push(fold_case(name)),
        }
    }
    (!parts.is_empty()).then_some(parts)
}

fn has_drive(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Windows compares names through a one-to-one upper-case table; a character whose upper
/// case is several characters (`ß` → `SS`) stays itself, so `straße` never equals `STRASSE`.
fn fold_case(name: &str) -> String {
    name.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_separators_do_not_matter_on_windows() {
        assert!(windows_inside(
            r"C:\Users\Ann\Reports\q3.xlsx",
            r"c:\users\ann\REPORTS"
        ));
        assert!(windows_inside(
            "C:/Users/Ann/Reports/q3.xlsx",
            r"C:\Users\Ann\Reports\"
        ));
        assert!(windows_inside(
            r"C:\Users\Ann\Reports",
            r"C:\Users\Ann\Reports"
        ));
        assert!(windows_inside(r"C:\Data\Ärger\x", r"c:\data\ärger"));
    }

    #[test]
    fn a_sibling_with_a_longer_name_or_another_drive_is_outside() {
        assert!(!windows_inside(r"C:\data-evil\x", r"C:\data"));
        assert!(!windows_inside(r"C:\data", r"C:\data\inner"));
        assert!(!windows_inside(r"D:\data\x", r"C:\data"));
        assert!(!windows_inside(r"C:\data\..\secret", r"C:\data"));
        assert!(!windows_inside("", r"C:\data"));
        // One-to-many upper cases are not folded: ß is not SS.
        assert!(!windows_inside(r"C:\STRASSE\x", r"C:\straße"));
    }

    #[test]
    fn long_and_short_spellings_of_drives_and_shares_are_one_folder() {
        assert!(windows_inside(r"\\?\C:\Data\x.csv", r"C:\data"));
        assert!(windows_inside(r"C:\Data\x.csv", r"\\?\c:\DATA"));
        assert!(windows_inside(
            r"\\?\UNC\srv\Team\a\b.xlsx",
            r"\\SRV\team\A"
        ));
        assert!(windows_inside(r"\\srv\team\a\b.xlsx", r"\\?\unc\srv\team"));
        // A share is not a drive folder of the same names, nor another share.
        assert!(!windows_inside(r"\\srv\team\a", r"C:\srv\team"));
        assert!(!windows_inside(r"\\srv\other\a", r"\\srv\team"));
        assert!(!windows_inside(r"\\srv2\team\a", r"\\srv\team"));
        // A volume or device path is its own root, never inside a drive path.
        assert!(!windows_inside(r"\\?\Volume{0a1b}\data\x", r"C:\data"));
        assert!(!windows_inside(r"\\.\C:\data\x", r"C:\data"));
        assert!(windows_inside(
            r"\\?\Volume{0A1B}\data\x",
            r"\\?\volume{0a1b}\DATA"
        ));
    }

    #[test]
    fn the_unix_rule_is_by_component() {
        assert!(inside(Path::new("/data/x"), Path::new("/data")));
        assert!(!inside(Path::new("/data-evil/x"), Path::new("/data")));
    }
}

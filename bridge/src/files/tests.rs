//! The file tools' ground: allowed folders, reading and writing, on real folders.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tempfile::TempDir;
use tracker::files::Limits;
use tracker::{App, CellAddr, CellValue};

use super::nofollow::Dir;
use super::writing::{TempFile, validate_with};
use super::*;

struct Fixture {
    _tmp: TempDir,
    root: PathBuf,
    outside: PathBuf,
    dirs: AllowedDirs,
}

/// `tmp/root` (allowed) and `tmp/outside` (not), both canonical.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(tmp.path()).unwrap();
    let root = base.join("root");
    let outside = base.join("outside");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(root.join("in.xlsx"), b"x").unwrap();
    fs::write(outside.join("secret.xlsx"), b"s").unwrap();
    let dirs = AllowedDirs::new(std::slice::from_ref(&root)).unwrap();
    Fixture {
        _tmp: tmp,
        root,
        outside,
        dirs,
    }
}

fn outside_msg(f: &Fixture, path: &str) -> String {
    format!(
        "refused: {path} is outside the folders you allowed ({}); start the bridge with --allow-dir <folder> to allow another",
        f.root.display()
    )
}

fn err_text<T: std::fmt::Debug>(r: Result<T, FileToolError>) -> String {
    r.unwrap_err().to_string()
}

fn sheet(name: &str, rows: Value) -> SheetInput {
    serde_json::from_value(json!({"name": name, "rows": rows})).unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn roots_must_exist_and_be_folders() {
    let f = fixture();
    let missing = f.root.join("nope");
    assert_eq!(
        err_text(AllowedDirs::new(&[f.root.clone(), missing])),
        format!("{} does not exist", f.root.join("nope").display())
    );
    let file = f.root.join("in.xlsx");
    assert_eq!(
        err_text(AllowedDirs::new(std::slice::from_ref(&file))),
        format!("refused: {}: not a folder", file.display())
    );
    let twice = AllowedDirs::new(&[f.root.clone(), f.root.join("sub/..")]).unwrap();
    assert_eq!(twice.roots(), std::slice::from_ref(&f.root));
}

#[cfg(unix)]
#[test]
fn a_root_given_through_a_symlink_is_canonicalized() {
    let f = fixture();
    let link = f.outside.join("root-link");
    std::os::unix::fs::symlink(&f.root, &link).unwrap();
    let dirs = AllowedDirs::new(&[link]).unwrap();
    assert_eq!(dirs.roots(), std::slice::from_ref(&f.root));
    assert_eq!(
        dirs.resolve_existing("in.xlsx").unwrap(),
        f.root.join("in.xlsx")
    );
}

#[test]
fn relative_paths_resolve_against_the_first_root() {
    let f = fixture();
    fs::write(f.root.join("sub/a.xlsx"), b"a").unwrap();
    assert_eq!(
        f.dirs.resolve_existing("sub/a.xlsx").unwrap(),
        f.root.join("sub/a.xlsx")
    );
    assert_eq!(
        f.dirs.resolve_existing("sub/../in.xlsx").unwrap(),
        f.root.join("in.xlsx")
    );
    assert_eq!(
        f.dirs.resolve_for_write("sub/new.xlsx").unwrap(),
        f.root.join("sub/new.xlsx")
    );
    let abs = f.root.join("in.xlsx");
    assert_eq!(f.dirs.resolve_existing(abs.to_str().unwrap()).unwrap(), abs);
}

#[test]
fn traversal_and_absolute_paths_outside_are_refused() {
    let f = fixture();
    for p in ["../outside/secret.xlsx", "sub/../../outside/secret.xlsx"] {
        assert_eq!(err_text(f.dirs.resolve_existing(p)), outside_msg(&f, p));
        assert_eq!(err_text(f.dirs.resolve_for_write(p)), outside_msg(&f, p));
    }
    let abs = f.outside.join("secret.xlsx");
    let abs = abs.to_str().unwrap();
    assert_eq!(err_text(f.dirs.resolve_existing(abs)), outside_msg(&f, abs));
    // A sibling whose name merely starts with the root's is outside too.
    let sibling = format!("{}-evil", f.root.display());
    fs::create_dir_all(&sibling).unwrap();
    // Joined, not formatted: in a Windows long path (`\\?\C:\...`) `/` is no separator.
    let p = Path::new(&sibling)
        .join("x.xlsx")
        .to_str()
        .unwrap()
        .to_string();
    fs::write(&p, b"x").unwrap();
    assert_eq!(err_text(f.dirs.resolve_existing(&p)), outside_msg(&f, &p));
    assert_eq!(err_text(f.dirs.resolve_for_write(&p)), outside_msg(&f, &p));
    // Missing files outside are "outside", not "does not exist".
    let p = "../outside/nothing-here.xlsx";
    assert_eq!(err_text(f.dirs.resolve_existing(p)), outside_msg(&f, p));
    assert_eq!(err_text(f.dirs.resolve_for_write(p)), outside_msg(&f, p));
    // The root's own parent is outside.
    let p = "../new.xlsx";
    assert_eq!(err_text(f.dirs.resolve_for_write(p)), outside_msg(&f, p));
}

#[cfg(unix)]
#[test]
fn symlinked_folders_and_files_pointing_outside_are_refused() {
    let f = fixture();
    std::os::unix::fs::symlink(&f.outside, f.root.join("dirlink")).unwrap();
    std::os::unix::fs::symlink(f.outside.join("secret.xlsx"), f.root.join("filelink.xlsx"))
        .unwrap();
    for p in ["dirlink/secret.xlsx", "filelink.xlsx"] {
        assert_eq!(err_text(f.dirs.resolve_existing(p)), outside_msg(&f, p));
    }
    assert_eq!(
        err_text(f.dirs.resolve_for_write("dirlink/new.xlsx")),
        outside_msg(&f, "dirlink/new.xlsx")
    );
    // A link that stays inside may be read; the canonical target is returned.
    std::os::unix::fs::symlink(f.root.join("in.xlsx"), f.root.join("inlink.xlsx")).unwrap();
    assert_eq!(
        f.dirs.resolve_existing("inlink.xlsx").unwrap(),
        f.root.join("in.xlsx")
    );
}

#[test]
fn the_excluded_folder_is_refused_inside_an_allowed_one() {
    let f = fixture();
    let data = f.root.join("data");
    fs::create_dir_all(data.join("tls")).unwrap();
    fs::write(data.join("desktop-token"), "ab".repeat(32)).unwrap();
    fs::write(data.join("tls").join("ca.key"), "key").unwrap();
    let dirs = f.dirs.clone().excluding(&data).unwrap();
    let refused = |p: &str| {
        format!(
            "refused: {p} is inside office-bridge's own data directory (its tokens, keys and records); the file tools never read or write there"
        )
    };
    let absolute = data.join("desktop-token").display().to_string();
    for p in [
        "data/desktop-token",
        "sub/../data/desktop-token",
        "data/tls/ca.key",
        "data/missing.csv",
        "data/nowhere/missing.csv",
        absolute.as_str(),
    ] {
        assert_eq!(err_text(dirs.resolve_existing(p)), refused(p), "{p}");
    }
    for p in ["data/new.xlsx", "data/tls/new.xlsx", "data/desktop-token"] {
        assert_eq!(err_text(dirs.resolve_for_write(p)), refused(p), "{p}");
    }
    // The rest of the root is untouched by the exclusion.
    assert_eq!(
        dirs.resolve_existing("in.xlsx").unwrap(),
        f.root.join("in.xlsx")
    );
    assert!(dirs.resolve_for_write("new.xlsx").is_ok());
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(data.join("desktop-token"), f.root.join("key.csv")).unwrap();
        std::os::unix::fs::symlink(&data, f.root.join("datalink")).unwrap();
        assert_eq!(
            err_text(dirs.resolve_existing("key.csv")),
            refused("key.csv")
        );
        assert_eq!(
            err_text(dirs.resolve_for_write("datalink/new.xlsx")),
            refused("datalink/new.xlsx")
        );
    }
    // A root inside the excluded folder could allow nothing: refused when set up.
    let inside = AllowedDirs::new(&[data.join("tls")]).unwrap();
    assert!(matches!(
        inside.excluding(&data),
        Err(FileToolError::BridgeData { .. })
    ));
    // So is excluding a root itself.
    assert!(matches!(
        f.dirs.clone().excluding(&f.root),
        Err(FileToolError::BridgeData { .. })
    ));
}

#[cfg(unix)]
#[test]
fn a_symlink_is_never_a_write_target() {
    let f = fixture();
    let why = "is a symbolic link; writing through links is not allowed";
    std::os::unix::fs::symlink(f.outside.join("secret.xlsx"), f.root.join("out.xlsx")).unwrap();
    std::os::unix::fs::symlink(f.root.join("in.xlsx"), f.root.join("inlink.xlsx")).unwrap();
    std::os::unix::fs::symlink(f.root.join("gone.xlsx"), f.root.join("dangling.xlsx")).unwrap();
    for p in ["out.xlsx", "inlink.xlsx", "dangling.xlsx"] {
        assert_eq!(
            err_text(f.dirs.resolve_for_write(p)),
            format!("refused: {p}: {why}")
        );
    }
    // write_workbook checks again, and the outside file is untouched.
    let sheets = [sheet("S", json!([[1]]))];
    assert_eq!(
        err_text(write_workbook(&f.root.join("out.xlsx"), &sheets, true)),
        format!("refused: {}: {why}", f.root.join("out.xlsx").display())
    );
    assert_eq!(fs::read(f.outside.join("secret.xlsx")).unwrap(), b"s");
}

#[cfg(unix)]
#[test]
fn hard_links_are_refused_for_reading_and_writing() {
    let f = fixture();
    // A second name inside the allowed folder for a file outside it.
    fs::hard_link(f.outside.join("secret.xlsx"), f.root.join("linked.xlsx")).unwrap();
    let why = "has 2 hard links (other names for the same file, which may be outside the folders you allowed); the file tools only use files with one";
    assert_eq!(
        err_text(f.dirs.resolve_existing("linked.xlsx")),
        format!("refused: linked.xlsx: {why}")
    );
    assert_eq!(
        err_text(f.dirs.resolve_for_write("linked.xlsx")),
        format!("refused: linked.xlsx: {why}")
    );
    // write_workbook checks again (a link made after the check).
    let target = f.root.join("linked.xlsx");
    assert_eq!(
        err_text(write_workbook(&target, &[sheet("S", json!([[1]]))], true)),
        format!("refused: {}: {why}", target.display())
    );
    assert_eq!(fs::read(f.outside.join("secret.xlsx")).unwrap(), b"s");
    assert_eq!(entries(&f.root), ["in.xlsx", "linked.xlsx", "sub"]);
    // The one-name control reads as before.
    assert_eq!(
        f.dirs.resolve_existing("in.xlsx").unwrap(),
        f.root.join("in.xlsx")
    );
}

/// Swaps `root/sub` for a link to the outside folder, as someone could while a write
/// waits for approval.
#[cfg(unix)]
fn swap_sub_for_a_link(f: &Fixture) {
    fs::rename(f.root.join("sub"), f.root.join("sub-moved")).unwrap();
    std::os::unix::fs::symlink(&f.outside, f.root.join("sub")).unwrap();
}

#[cfg(unix)]
#[test]
fn a_folder_swapped_for_a_link_after_the_check_gets_no_write() {
    let f = fixture();
    let sheets = [sheet("S", json!([["agent data"]]))];
    // Replacing an existing file: checked, then the folder is swapped, then written.
    let path = f.dirs.resolve_for_write("sub/secret.xlsx").unwrap();
    check_writable(&path, &sheets).unwrap();
    swap_sub_for_a_link(&f);
    let text = err_text(write_workbook(&path, &sheets, true));
    assert_eq!(
        text,
        format!(
            "refused: {}: {} on its path is now a symbolic link (changed since it was checked); nothing was written",
            path.display(),
            f.root.join("sub").display()
        )
    );
    assert_eq!(fs::read(f.outside.join("secret.xlsx")).unwrap(), b"s");
    assert_eq!(entries(&f.outside), ["secret.xlsx"]);
    // A new file: nothing appears outside either.
    let path = f.root.join("sub-moved").join("new.xlsx");
    check_writable(&path, &sheets).unwrap();
    fs::rename(f.root.join("sub-moved"), f.root.join("sub-2")).unwrap();
    std::os::unix::fs::symlink(&f.outside, f.root.join("sub-moved")).unwrap();
    assert!(err_text(write_workbook(&path, &sheets, false)).contains("nothing was written"));
    assert_eq!(entries(&f.outside), ["secret.xlsx"]);
    // A read resolved before a swap is refused when checked again.
    let f = fixture();
    fs::write(f.root.join("sub").join("q.csv"), "a,1\n").unwrap();
    fs::write(f.outside.join("q.csv"), "secret,2\n").unwrap();
    let checked = f.dirs.open_existing("sub/q.csv").unwrap();
    swap_sub_for_a_link(&f);
    assert_eq!(
        err_text(checked.recheck()),
        format!(
            "refused: sub/q.csv: {} on its path is now a symbolic link (changed since it was checked); what was read is not used",
            f.root.join("sub").display()
        )
    );
}

#[cfg(unix)]
#[test]
fn a_write_replaces_the_file_atomically_in_its_folder() {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let f = fixture();
    let path = f.dirs.resolve_for_write("sub/book.xlsx").unwrap();
    write_workbook(&path, &[sheet("A", json!([["first"]]))], false).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let before = fs::read(&path).unwrap();
    let old_ino = fs::metadata(&path).unwrap().ino();
    // A reader holding the old file keeps reading the old bytes: the new content is a
    // new file renamed over the name, never written into the old one.
    let mut held = fs::File::open(&path).unwrap();
    write_workbook(&path, &[sheet("B", json!([["second"]]))], true).unwrap();
    let mut old = Vec::new();
    held.read_to_end(&mut old).unwrap();
    assert_eq!(old, before);
    let meta = fs::metadata(&path).unwrap();
    assert_ne!(meta.ino(), old_ino);
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    let r = read_workbook_range(&path, None, None, 10, &limits()).unwrap();
    assert_eq!(r.values, vec![vec![json!("second")]]);
    assert_eq!(entries(&f.root.join("sub")), ["book.xlsx"]);
    let checked = f.dirs.open_existing("sub/book.xlsx").unwrap();
    assert_eq!(checked.path(), path);
    checked.recheck().unwrap();
}

#[test]
fn bad_path_shapes_are_refused() {
    let f = fixture();
    assert_eq!(
        err_text(f.dirs.resolve_existing("")),
        "refused: : the path is empty"
    );
    assert_eq!(
        err_text(f.dirs.resolve_existing("  ")),
        "refused:   : the path is empty"
    );
    assert_eq!(
        err_text(f.dirs.resolve_existing("a\0b.xlsx")),
        "refused: a\\0b.xlsx: the path contains a NUL byte"
    );
    let long = "a".repeat(4097);
    assert_eq!(
        err_text(f.dirs.resolve_for_write(&long)),
        format!(
            "refused: {}…: the path is 4097 bytes long, more than the 4096 allowed",
            "a".repeat(199)
        )
    );
    assert_eq!(
        err_text(f.dirs.resolve_existing("sub")),
        "refused: sub: not a regular file"
    );
    assert_eq!(
        err_text(f.dirs.resolve_for_write("sub")),
        "refused: sub: exists and is not a regular file"
    );
    assert_eq!(
        err_text(f.dirs.resolve_for_write("sub/")),
        "refused: sub/: names a folder, not a file"
    );
    assert_eq!(
        err_text(f.dirs.resolve_for_write("in.xlsx/x.xlsx")),
        "refused: in.xlsx/x.xlsx: its parent is not a folder"
    );
}

#[test]
fn missing_files_and_folders_inside_are_reported_missing() {
    let f = fixture();
    assert_eq!(
        err_text(f.dirs.resolve_existing("nope.xlsx")),
        "nope.xlsx does not exist"
    );
    assert_eq!(
        err_text(f.dirs.resolve_existing("no/such/dir.xlsx")),
        "no/such/dir.xlsx does not exist"
    );
    assert_eq!(
        err_text(f.dirs.resolve_for_write("no/such/dir.xlsx")),
        format!("{} does not exist", f.root.join("no/such").display())
    );
}

#[test]
fn home_paths_are_expanded_then_checked() {
    let f = fixture();
    let home = dirs::home_dir().expect("a home folder");
    let p = "~/office-bridge-no-such-file.xlsx";
    let want = if home.starts_with(&f.root) {
        format!("{p} does not exist")
    } else {
        outside_msg(&f, p)
    };
    assert_eq!(err_text(f.dirs.resolve_existing(p)), want);
    // Inside a root, `~` is the home folder again, not a folder named "~".
    let home_root = AllowedDirs::new(std::slice::from_ref(&home)).unwrap();
    assert_eq!(
        err_text(home_root.resolve_existing(p)),
        format!("{p} does not exist")
    );
    assert_eq!(
        home_root.resolve_for_write(p).unwrap(),
        fs::canonicalize(&home)
            .unwrap()
            .join("office-bridge-no-such-file.xlsx")
    );
}

#[test]
fn no_roots_allows_nothing() {
    let dirs = AllowedDirs::new(&[]).unwrap();
    assert_eq!(
        err_text(dirs.resolve_existing("a.xlsx")),
        "refused: a.xlsx is outside the folders you allowed (none); start the bridge with --allow-dir <folder> to allow another"
    );
}

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn a_written_workbook_reads_back_with_formulas_as_text() {
    let f = fixture();
    let path = f.root.join("out.xlsx");
    let sheets = [
        sheet(
            "Revenue",
            json!([
                ["Region", "Q1", "Q2", "Note"],
                ["EMEA", 1234.5, 3, "=SUM(A1)"],
                ["APAC", -0.25, null, true],
            ]),
        ),
        sheet("Q3 Notes", json!([["only"], [], [null, "b"]])),
    ];
    let written = write_workbook(&path, &sheets, false).unwrap();
    assert_eq!(
        written,
        vec![
            WrittenSheet {
                name: "Revenue".into(),
                address: "A1:D3".into()
            },
            WrittenSheet {
                name: "Q3 Notes".into(),
                address: "A1:B3".into()
            },
        ]
    );
    assert_eq!(entries(&f.root), ["in.xlsx", "out.xlsx", "sub"]);

    let r = read_workbook_range(&path, None, None, 100, &limits()).unwrap();
    assert_eq!(r.document, tracker::files::file_document(&path));
    assert_eq!(r.document.app, App::File);
    assert_eq!(r.sheet, "Revenue");
    assert_eq!(r.sheets, ["Revenue", "Q3 Notes"]);
    assert_eq!(r.address, "A1:D3");
    assert_eq!(
        r.values,
        vec![
            vec![json!("Region"), json!("Q1"), json!("Q2"), json!("Note")],
            vec![json!("EMEA"), json!(1234.5), json!(3), json!("=SUM(A1)")],
            vec![json!("APAC"), json!(-0.25), Value::Null, json!(true)],
        ]
    );
    assert_eq!(
        r.text,
        vec![
            vec!["Region", "Q1", "Q2", "Note"],
            vec!["EMEA", "1234.5", "3", "=SUM(A1)"],
            vec!["APAC", "-0.25", "", "TRUE"],
        ]
    );
    assert_eq!(r.cells.len(), 11);
    let note = r
        .cells
        .iter()
        .find(|c| c.addr == CellAddr::new(1, 3))
        .unwrap();
    assert_eq!(note.value, CellValue::Text("=SUM(A1)".into()));
    assert_eq!(r.purview, None);
    assert!(!r.truncated);

    let q3 = read_workbook_range(&path, Some("q3 notes"), None, 100, &limits()).unwrap();
    assert_eq!(q3.sheet, "Q3 Notes");
    assert_eq!(q3.address, "A1:B3");
    assert_eq!(
        q3.values,
        vec![
            vec![json!("only"), Value::Null],
            vec![Value::Null, Value::Null],
            vec![Value::Null, json!("b")],
        ]
    );
}

#[test]
fn displayed_text_comes_from_the_number_format() {
    let f = fixture();
    let path = f.root.join("money.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let money = rust_xlsxwriter::Format::new().set_num_format("$#,##0.00");
    let ws = wb.add_worksheet();
    ws.write_number_with_format(0, 0, 1234.5, &money).unwrap();
    ws.write_number(0, 1, 0.5).unwrap();
    wb.save(&path).unwrap();
    let r = read_workbook_range(&path, None, None, 10, &limits()).unwrap();
    assert_eq!(r.values, vec![vec![json!(1234.5), json!(0.5)]]);
    assert_eq!(r.text, vec![vec!["$1,234.50", "0.5"]]);
    assert_eq!(r.cells[0].number_format.as_deref(), Some("$#,##0.00"));
}

/// Sheet1: 10 rows × 3 columns, A1..C10 = row*10+col; Data: a 2×2 block at B2.
fn grid_workbook(f: &Fixture) -> PathBuf {
    let path = f.root.join("grid.xlsx");
    let rows: Vec<Value> = (1..=10)
        .map(|r| json!([r * 10 + 1, r * 10 + 2, r * 10 + 3]))
        .collect();
    write_workbook(
        &path,
        &[
            sheet("Sheet1", Value::Array(rows)),
            sheet("Data", json!([[], [null, "x", "y"], [null, 1, 2]])),
        ],
        false,
    )
    .unwrap();
    path
}

#[test]
fn ranges_and_sheets_are_selected() {
    let f = fixture();
    let path = grid_workbook(&f);
    let r = read_workbook_range(&path, None, Some("B2:C3"), 100, &limits()).unwrap();
    assert_eq!((r.sheet.as_str(), r.address.as_str()), ("Sheet1", "B2:C3"));
    assert_eq!(
        r.values,
        vec![vec![json!(22), json!(23)], vec![json!(32), json!(33)]]
    );
    assert_eq!(r.sheets, ["Sheet1", "Data"]);

    let r = read_workbook_range(&path, None, Some("Data!B2:C3"), 100, &limits()).unwrap();
    assert_eq!((r.sheet.as_str(), r.address.as_str()), ("Data", "B2:C3"));
    assert_eq!(
        r.values,
        vec![vec![json!("x"), json!("y")], vec![json!(1), json!(2)]]
    );

    // Used range of a sheet that does not start at A1.
    let r = read_workbook_range(&path, Some("DATA"), None, 100, &limits()).unwrap();
    assert_eq!((r.sheet.as_str(), r.address.as_str()), ("Data", "B2:C3"));

    // A small range comes back whole, empty cells as null.
    let r = read_workbook_range(&path, Some("Data"), Some("C3:D4"), 100, &limits()).unwrap();
    assert_eq!(r.address, "C3:D4");
    assert_eq!(
        r.values,
        vec![vec![json!(2), Value::Null], vec![Value::Null, Value::Null]]
    );
    assert_eq!(r.text, vec![vec!["2", ""], vec!["", ""]]);
    assert_eq!(r.cells.len(), 1);

    // Whole columns are trimmed to the data, keeping the top-left.
    let r = read_workbook_range(&path, None, Some("$B:C"), 100, &limits()).unwrap();
    assert_eq!(r.address, "B1:C10");
    assert_eq!(r.values[9], vec![json!(102), json!(103)]);
    let r = read_workbook_range(&path, None, Some("9:10"), 100, &limits()).unwrap();
    assert_eq!(r.address, "A9:C10");

    // A big range with no data is empty.
    let r = read_workbook_range(&path, Some("Data"), Some("E:F"), 100, &limits()).unwrap();
    assert_eq!(r.address, "");
    assert_eq!(r.values, Vec::<Vec<Value>>::new());
    assert!(r.cells.is_empty() && !r.truncated);

    assert_eq!(
        err_text(read_workbook_range(
            &path,
            Some("Sheet1"),
            Some("Data!A1"),
            10,
            &limits()
        )),
        "the range names sheet \"Data\" but the sheet argument is \"Sheet1\""
    );
}

#[test]
fn unknown_sheets_and_bad_ranges_are_clear_errors() {
    let f = fixture();
    let path = grid_workbook(&f);
    assert_eq!(
        err_text(read_workbook_range(
            &path,
            Some("Summary"),
            None,
            10,
            &limits()
        )),
        format!(
            "{}: no sheet named \"Summary\" (sheets: Sheet1, Data)",
            path.display()
        )
    );
    for bad in ["A0", "B2:", "XFE1", "hello", "1:A"] {
        assert_eq!(
            err_text(read_workbook_range(&path, None, Some(bad), 10, &limits())),
            format!(
                "not a cell range: {bad:?} (expected A1 notation such as B2, B2:D5, B:D or 2:5)"
            )
        );
    }
    assert_eq!(
        err_text(read_workbook_range(&path, None, None, 0, &limits())),
        "max_cells must be at least 1"
    );
}

#[test]
fn reads_are_cut_to_max_cells() {
    let f = fixture();
    let path = grid_workbook(&f);
    let r = read_workbook_range(&path, None, None, 7, &limits()).unwrap();
    assert_eq!(r.address, "A1:C2");
    assert_eq!(
        r.values,
        vec![
            vec![json!(11), json!(12), json!(13)],
            vec![json!(21), json!(22), json!(23)]
        ]
    );
    assert_eq!(r.cells.len(), 6);
    assert!(r.truncated);
    assert_eq!(r.covers.unwrap().to_string(), "A1:C10");
    // Pages are whole rows: one row at least, however narrow the limit.
    let r = read_workbook_range(&path, None, Some("A5:C10"), 2, &limits()).unwrap();
    assert_eq!(r.address, "A5:C5");
    assert_eq!(r.values, vec![vec![json!(51), json!(52), json!(53)]]);
    assert!(r.truncated);
    assert_eq!(r.covers.unwrap().to_string(), "A5:C10");
    // Whole columns read on from where a page ended: as far as the data goes.
    let r = read_workbook_range(&path, None, Some("B4:C1048576"), 4, &limits()).unwrap();
    assert_eq!((r.address.as_str(), r.truncated), ("B4:C5", true));
    assert_eq!(r.covers.unwrap().to_string(), "B4:C10");
    // Exactly enough is not truncated.
    let r = read_workbook_range(&path, None, None, 30, &limits()).unwrap();
    assert_eq!((r.address.as_str(), r.truncated), ("A1:C10", false));
}

/// Every page of a read, following `covers` on from each page's last row as the tool's
/// `next_range` does: (address, values, text, cells) of each.
type Page = (String, Vec<Vec<Value>>, Vec<Vec<String>>, usize);

fn all_pages(
    mut read: impl FnMut(Option<&str>, Option<&str>) -> WorkbookRange,
    range: Option<&str>,
) -> Vec<Page> {
    let mut pages = Vec::new();
    let (mut sheet, mut range) = (None, range.map(str::to_string));
    loop {
        let r = read(sheet.as_deref(), range.as_deref());
        pages.push((r.address.clone(), r.values, r.text, r.cells.len()));
        if !r.truncated {
            return pages;
        }
        let covers = r.covers.unwrap();
        let last = tracker::CellRange::parse(&r.address).unwrap().end.row;
        let rest = tracker::CellRange::new(CellAddr::new(last + 1, covers.start.col), covers.end);
        (sheet, range) = (Some(r.sheet), Some(rest.to_string()));
    }
}

#[test]
fn pages_cut_from_a_kept_parse_are_the_pages_read_from_the_file() {
    let f = fixture();
    let path = f.root.join("big.xlsx");
    // 120 rows x 7 columns, gaps and text among the numbers.
    let rows: Vec<Value> = (0..120)
        .map(|r| {
            json!([
                format!("row {r}"),
                r * 10,
                (r as f64) / 8.0,
                if r % 7 == 0 {
                    Value::Null
                } else {
                    json!(r * 3)
                },
                null,
                r % 2 == 0,
                r as f64 * 1000.5
            ])
        })
        .collect();
    write_workbook(&path, &[sheet("Figures", Value::Array(rows))], false).unwrap();
    for range in [
        None,
        Some("B:D"),
        Some("C10:G100"),
        Some("Figures!A5:G120"),
        Some("3:200"),
    ] {
        let cache = SheetCache::default();
        let file = f.dirs.open_existing("big.xlsx").unwrap();
        let cached = all_pages(
            |s, r| read_workbook_page(&cache, &file, s, r, 50, &limits()).unwrap(),
            range,
        );
        let fresh = all_pages(
            |s, r| read_workbook_range(&path, s, r, 50, &limits()).unwrap(),
            range,
        );
        assert!(cached.len() > 5, "{range:?}: {} pages", cached.len());
        assert_eq!(cached, fresh, "{range:?}");
        assert_eq!(cache.len(), 1, "{range:?}: the first page's parse is kept");
    }
    // A read that fits one page keeps nothing.
    let cache = SheetCache::default();
    let file = f.dirs.open_existing("big.xlsx").unwrap();
    read_workbook_page(&cache, &file, None, Some("A1:C3"), 50, &limits()).unwrap();
    assert!(cache.is_empty());
}

#[test]
fn a_kept_parse_is_not_used_once_the_file_changed_or_when_too_big() {
    let f = fixture();
    let path = f.root.join("v.xlsx");
    let version = |base: i64| -> Value {
        Value::Array((0..40).map(|r| json!([base + r, base + r * 2])).collect())
    };
    write_workbook(&path, &[sheet("S", version(0))], false).unwrap();
    let cache = SheetCache::default();
    let file = f.dirs.open_existing("v.xlsx").unwrap();
    let first = read_workbook_page(&cache, &file, None, None, 20, &limits()).unwrap();
    assert_eq!(first.values[0], vec![json!(0), json!(0)]);
    assert_eq!(cache.len(), 1);
    // The file is replaced between two pages: the next page is read from the new one.
    write_workbook(&path, &[sheet("S", version(1000))], true).unwrap();
    let file = f.dirs.open_existing("v.xlsx").unwrap();
    let next =
        read_workbook_page(&cache, &file, Some("S"), Some("A11:B40"), 20, &limits()).unwrap();
    assert_eq!(next.values[0], vec![json!(1010), json!(1020)]);
    // A sheet with more cells than a parse may keep is read page by page from the file.
    let small = SheetCache::holding(30);
    let file = f.dirs.open_existing("v.xlsx").unwrap();
    let page = read_workbook_page(&small, &file, None, None, 20, &limits()).unwrap();
    assert_eq!((page.address.as_str(), page.truncated), ("A1:B10", true));
    assert!(small.is_empty());
}

#[test]
fn csv_files_are_one_sheet_named_after_the_file() {
    let f = fixture();
    let path = f.root.join("sales.csv");
    fs::write(&path, "Region,Amount\nEMEA,\"1,234.50\"\n").unwrap();
    let r = read_workbook_range(&path, None, None, 100, &limits()).unwrap();
    assert_eq!(r.sheets, ["sales"]);
    assert_eq!(r.address, "A1:B2");
    assert_eq!(
        r.values,
        vec![
            vec![json!("Region"), json!("Amount")],
            vec![json!("EMEA"), json!(1234.5)]
        ]
    );
    assert_eq!(r.text[1], vec!["EMEA", "1,234.50"]);
    assert_eq!(r.purview, None);
}

#[test]
fn existing_files_are_replaced_only_with_overwrite() {
    let f = fixture();
    let path = f.root.join("book.xlsx");
    write_workbook(&path, &[sheet("A", json!([["first"]]))], false).unwrap();
    assert_eq!(
        err_text(write_workbook(
            &path,
            &[sheet("A", json!([["second"]]))],
            false
        )),
        format!(
            "refused: {}: the file already exists; pass overwrite: true to replace it",
            path.display()
        )
    );
    let r = read_workbook_range(&path, None, None, 10, &limits()).unwrap();
    assert_eq!(r.values, vec![vec![json!("first")]]);
    write_workbook(&path, &[sheet("B", json!([["second"]]))], true).unwrap();
    let r = read_workbook_range(&path, None, None, 10, &limits()).unwrap();
    assert_eq!(
        (r.sheet.as_str(), r.values.clone()),
        ("B", vec![vec![json!("second")]])
    );
    assert_eq!(entries(&f.root), ["book.xlsx", "in.xlsx", "sub"]);
}

#[test]
fn invalid_input_leaves_no_file_behind() {
    let f = fixture();
    let dir = f.root.join("sub");
    let path = dir.join("bad.xlsx");
    let cases: Vec<(Vec<SheetInput>, String)> = vec![
        (vec![], "at least one sheet is needed".into()),
        (
            (0..65)
                .map(|i| sheet(&format!("S{i}"), json!([])))
                .collect(),
            "65 sheets given; at most 64 can be written at once".into(),
        ),
        (
            vec![sheet("Revenue", json!([[1, 2], [3, {"a": 1}]]))],
            "sheet Revenue cell B2: objects cannot be written to a cell".into(),
        ),
        (
            vec![
                sheet("Ok", json!([[1]])),
                sheet("Revenue", json!([[null, null, [1]]])),
            ],
            "sheet Revenue cell C1: arrays cannot be written to a cell".into(),
        ),
        (
            vec![sheet("Long", json!([["x".repeat(32_768)]]))],
            "sheet Long cell A1: text of 32768 characters is longer than Excel's limit of 32,767"
                .into(),
        ),
        (
            vec![sheet(
                "Wide",
                Value::Array(vec![Value::Array(vec![Value::Null; 16_385])]),
            )],
            "sheet Wide row 1 has 16385 values; Excel allows at most 16,384 columns".into(),
        ),
        (
            vec![sheet("Rev", json!([])), sheet("rev", json!([]))],
            "sheet name \"rev\" is used twice (Excel compares sheet names ignoring case)".into(),
        ),
        (
            vec![sheet("", json!([]))],
            "sheet name \"\": a sheet name cannot be empty".into(),
        ),
        (
            vec![sheet(&"x".repeat(32), json!([]))],
            format!(
                "sheet name \"{}\": a sheet name can have at most 31 characters",
                "x".repeat(32)
            ),
        ),
        (
            vec![sheet("Q3/Q4", json!([]))],
            "sheet name \"Q3/Q4\": a sheet name cannot contain any of [ ] : * ? / \\".into(),
        ),
        (
            vec![sheet("'Quoted", json!([]))],
            "sheet name \"'Quoted\": a sheet name cannot start or end with an apostrophe".into(),
        ),
        (
            vec![sheet("history", json!([]))],
            "sheet name \"history\": History is a name Excel reserves".into(),
        ),
    ];
    for (sheets, want) in cases {
        assert_eq!(err_text(write_workbook(&path, &sheets, false)), want);
        assert_eq!(entries(&dir), Vec::<String>::new(), "after: {want}");
    }
    assert_eq!(
        err_text(write_workbook(
            &dir.join("bad.csv"),
            &[sheet("S", json!([[1]]))],
            false
        )),
        format!(
            "refused: {}: only .xlsx files can be written (got .csv)",
            dir.join("bad.csv").display()
        )
    );
    assert_eq!(
        err_text(write_workbook(
            &dir.join("noext"),
            &[sheet("S", json!([[1]]))],
            false
        )),
        format!(
            "refused: {}: only .xlsx files can be written (got no extension)",
            dir.join("noext").display()
        )
    );
    let missing = err_text(write_workbook(
        &dir.join("missing/x.xlsx"),
        &[sheet("S", json!([[1]]))],
        false,
    ));
    assert!(
        missing.starts_with(&format!(
            "cannot write {}: ",
            dir.join("missing/x.xlsx").display()
        )),
        "{missing}"
    );
    assert_eq!(entries(&dir), Vec::<String>::new());
}

#[test]
fn too_many_cells_are_refused_before_values_are_looked_at() {
    // The real limit (5,000,000) applies through `validate`; a small one shows the rule
    // without allocating millions of values. Nulls count, and the bad value is never
    // reached because the count is checked first.
    let sheets = [
        sheet("A", json!([[1, 2, 3], [null, null]])),
        sheet("B", json!([[1], [{"x": 1}]])),
    ];
    assert_eq!(
        err_text(validate_with(&sheets, 6)),
        "7 cells given; at most 6 can be written at once"
    );
    assert_eq!(
        err_text(validate_with(&sheets, 7)),
        "sheet B cell A2: objects cannot be written to a cell"
    );
}

#[test]
fn the_temp_file_is_removed_when_not_persisted() {
    let f = fixture();
    let dir = f.root.join("sub");
    let handle = Dir::open(&dir).unwrap();
    let t = TempFile::create(&handle, OsStr::new("x.xlsx")).unwrap();
    let name = t.name.to_string_lossy().into_owned();
    assert!(
        name.starts_with(".x.xlsx.") && name.ends_with(".tmp"),
        "{name}"
    );
    assert_eq!(entries(&dir), [name]);
    drop(t);
    assert_eq!(entries(&dir), Vec::<String>::new());
}

#[test]
fn sheet_input_deserializes_from_tool_arguments() {
    let s: SheetInput =
        serde_json::from_value(json!({"name": "S", "rows": [[1, "a", null, true]]})).unwrap();
    assert_eq!(
        s.rows[0],
        vec![json!(1), json!("a"), Value::Null, json!(true)]
    );
    let err = serde_json::from_value::<SheetInput>(json!({"name": "S"})).unwrap_err();
    assert_eq!(err.to_string(), "missing field `rows`");
}

#[test]
fn a_sheet_bigger_than_the_answer_is_read_only_as_far_as_needed() {
    let f = fixture();
    let path = f.root.join("big.xlsx");
    // 3 columns by 2,000 rows: 6,000 cells, of which 30 fit the answer.
    let rows: Vec<Value> = (0..2_000).map(|r| json!([r, r + 1, r + 2])).collect();
    write_workbook(&path, &[sheet("Big", Value::Array(rows))], false).unwrap();
    // Limits that would refuse the whole sheet: only what is returned is read.
    let tight = Limits {
        max_cells: 1_000,
        ..Limits::default()
    };
    let r = read_workbook_range(&path, None, None, 30, &tight).unwrap();
    assert!(r.truncated);
    assert_eq!(r.address, "A1:C10");
    assert_eq!(r.cells.len(), 30);
    assert_eq!(r.values[9], vec![json!(9), json!(10), json!(11)]);
}

#[test]
fn a_dropped_read_handle_stops_its_read() {
    let f = fixture();
    let path = f.root.join("small.xlsx");
    write_workbook(&path, &[sheet("S", json!([[1, 2]]))], false).unwrap();
    let switch = ReadSwitch::default();
    let handle = ReadHandle::new(&switch);
    let limits = Limits::default().with_control(handle.control());
    assert!(read_workbook_range(&path, None, None, 10, &limits).is_ok());
    drop(handle);
    let err = err_text(read_workbook_range(&path, None, None, 10, &limits));
    assert!(err.ends_with(": cancelled: the read was stopped before it finished (request cancelled or shutting down)"), "{err}");
}

#[test]
fn a_bridges_switch_stops_only_its_own_reads() {
    let f = fixture();
    let path = f.root.join("small.xlsx");
    write_workbook(&path, &[sheet("S", json!([[1, 2]]))], false).unwrap();
    let (stopping, other) = (ReadSwitch::default(), ReadSwitch::default());
    let (a, b) = (ReadHandle::new(&stopping), ReadHandle::new(&other));
    stopping.cancel_all();
    let read = |h: &ReadHandle| {
        read_workbook_range(
            &path,
            None,
            None,
            10,
            &Limits::default().with_control(h.control()),
        )
    };
    assert!(err_text(read(&a)).contains("cancelled"));
    assert!(read(&b).is_ok(), "another bridge's reads go on");
    let later = ReadHandle::new(&stopping);
    assert!(
        err_text(read(&later)).contains("cancelled"),
        "and later reads stop at once"
    );
}

//! What the fuzz targets share: a scratch folder, the readers behind a file tool, the
//! small fixed index and the instruction-like text check `detect_parse` runs, and the
//! allowed folder and the tool names `mcp_tool_args` uses. Every function here calls the
//! code the bridge and `office-bridge scan` really run, and takes the tool names from the
//! server; nothing is re-implemented or copied.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use office_bridge::files::AllowedDirs;
use tracker::detect::Detector;
use tracker::files::Limits;
use tracker::injection::InjectionCheck;
use tracker::{
    App, CellAddr, CellValue, DocumentRef, ProvenanceId, ReadCell, ReadEvent, SheetRead,
    WriteContent, WritePart,
};

/// A folder of this process's own, removed when the process exits normally (a crash
/// leaves it in the system temp folder, which is what temp folders are for).
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("office-bridge-fuzz-")
            .tempdir()
            .expect("a scratch folder")
    })
    .path()
}

/// Writes `data` to `input.<ext>` in the scratch folder and returns the path.
pub fn input_file(data: &[u8], ext: &str) -> PathBuf {
    let path = scratch().join(format!("input.{ext}"));
    std::fs::write(&path, data).expect("write the input file");
    path
}

/// Everything the bridge and `office-bridge scan` do with a file of this type: read it as
/// a target (`scan_file`, `office-bridge scan`), as a source workbook (`xlsx_read`, the
/// scan's sources), and its sensitivity label. Every outcome but a panic, an abort or a
/// hang is fine: a damaged file is an error naming the problem.
pub fn read_every_way(data: &[u8], ext: &str) {
    let path = input_file(data, ext);
    let limits = Limits::default();
    let _ = tracker::files::read_target(&path, &limits);
    if tracker::files::is_workbook_path(&path) {
        let _ = tracker::files::read_workbook(&path, &limits);
        // What `xlsx_read` runs: one range of the first sheet, bounded.
        let _ = office_bridge::files::read_workbook_range(&path, None, Some("A1:E20"), 50, &limits);
        let _ = office_bridge::files::read_workbook_range(&path, None, None, 1_000, &limits);
    }
    if matches!(ext, "xlsx" | "xlsm" | "pptx" | "docx") {
        let _ = tracker::files::purview_label(&path, &limits);
    }
}

/// A small fixed index: a revenue sheet (numbers with formats, dates, labels) and a
/// notes sheet of text, as if read through the Excel pane.
pub fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        let mut cells = Vec::new();
        let header = ["Region", "Q1", "Q2", "Q3", "Closed"];
        for (c, h) in header.iter().enumerate() {
            cells.push(cell(0, c as u32, CellValue::Text((*h).into()), None, None));
        }
        let rows: [(&str, [f64; 3], f64); 4] = [
            ("EMEA", [1234567.89, 1456789.12, 1611022.47], 45565.0),
            ("Americas", [2345678.91, 2567890.23, 2789012.35], 45596.0),
            ("APAC", [987654.32, 1098765.43, 1209876.54], 45626.0),
            ("Total", [4567901.12, 5123444.78, 5609911.36], 45657.0),
        ];
        for (r, (region, nums, date)) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            cells.push(cell(r, 0, CellValue::Text((*region).into()), None, None));
            for (c, n) in nums.iter().enumerate() {
                cells.push(cell(
                    r,
                    c as u32 + 1,
                    CellValue::Number(*n),
                    Some(format!("${:.0}", n)),
                    Some("$#,##0"),
                ));
            }
            cells.push(cell(
                r,
                4,
                CellValue::Number(*date),
                None,
                Some("yyyy-mm-dd"),
            ));
        }
        cells.push(cell(
            6,
            1,
            CellValue::Number(0.1234),
            Some("12.3%".into()),
            Some("0.0%"),
        ));
        let notes = vec![
            cell(
                0,
                0,
                CellValue::Text("Project Falcon acquisition shortlist for the board".into()),
                None,
                None,
            ),
            cell(
                1,
                0,
                CellValue::Text(
                    "Margin guidance withdrawn pending the audit committee review".into(),
                ),
                None,
                None,
            ),
        ];
        let mut d = Detector::new();
        d.add_read(&ReadEvent {
            id: ProvenanceId::new(),
            document: DocumentRef::new(App::Excel, "Q3.xlsx", "https://contoso.example/Q3.xlsx"),
            sheets: vec![
                SheetRead {
                    sheet: "Revenue".into(),
                    cells,
                },
                SheetRead {
                    sheet: "Notes".into(),
                    cells: notes,
                },
            ],
            at: 1,
            request: "fuzz".into(),
        });
        d
    })
}

fn cell(
    row: u32,
    col: u32,
    value: CellValue,
    text: Option<String>,
    number_format: Option<&str>,
) -> ReadCell {
    ReadCell {
        addr: CellAddr::new(row, col),
        value,
        text,
        number_format: number_format.map(str::to_string),
    }
}

/// `text` written into a deck, as a text box and as a table (lines are rows, tabs
/// separate cells), checked against [`detector`].
pub fn check_write(text: &str) -> usize {
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let write = WriteContent {
        target: DocumentRef::new(
            App::Powerpoint,
            "Board.pptx",
            "https://contoso.example/Board.pptx",
        ),
        parts: vec![
            WritePart::Text {
                location: "slide 1".into(),
                text: text.to_string(),
            },
            WritePart::Table {
                location: "slide 1 table 1".into(),
                rows,
            },
        ],
        explicit_sources: vec![],
    };
    detector().check(&write).len()
}

/// The one allowed folder `mcp_tool_args` resolves paths in: a workbook, a csv, a
/// subfolder, and (on Unix) symbolic links to a file and a folder outside it.
pub fn allowed_dirs() -> &'static AllowedDirs {
    static DIRS: OnceLock<AllowedDirs> = OnceLock::new();
    DIRS.get_or_init(|| {
        let root = scratch().join("allowed");
        let outside = scratch().join("outside");
        std::fs::create_dir_all(root.join("sub")).expect("allowed folder");
        std::fs::create_dir_all(&outside).expect("outside folder");
        std::fs::write(root.join("q3.csv"), "Region,Q1\nEMEA,1234567.89\n").expect("csv");
        std::fs::write(root.join("sub/book.xlsx"), b"not really a workbook").expect("xlsx");
        std::fs::write(outside.join("secret.csv"), "a,b\n1,2\n").expect("secret");
        #[cfg(unix)]
        {
            let _ = std::os::unix::fs::symlink(outside.join("secret.csv"), root.join("link.csv"));
            let _ = std::os::unix::fs::symlink(&outside, root.join("linkdir"));
        }
        AllowedDirs::new(&[root]).expect("allowed dirs")
    })
}

/// Every tool of the MCP server, sorted: the order `mcp_tool_args` picks them by. Taken
/// from the server's own tool router, so a new tool is fuzzed without a list to update.
pub fn tools() -> &'static [String] {
    static TOOLS: OnceLock<Vec<String>> = OnceLock::new();
    TOOLS.get_or_init(office_bridge::mcp::OfficeBridgeMcp::tool_names)
}

/// The instruction-like text check exactly as the bridge builds it (its tool names and
/// pane write methods), built once.
pub fn injection_check() -> &'static InjectionCheck {
    static CHECK: OnceLock<InjectionCheck> = OnceLock::new();
    CHECK.get_or_init(office_bridge::mcp::injection_check)
}

/// Splits a `mcp_tool_args` input: the first line names the tool (an unknown name picks
/// one by its bytes, so mutated names still reach a tool), the rest is the arguments.
pub fn tool_and_args(data: &[u8]) -> (&'static str, &[u8]) {
    let (head, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&data[..0], data),
    };
    let tools = tools();
    let tool = tools
        .iter()
        .find(|t| t.as_bytes() == head)
        .unwrap_or_else(|| {
            let pick = head
                .iter()
                .fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(*b as usize));
            &tools[pick % tools.len()]
        });
    (tool, rest)
}

//! The vocabulary every part of the tracker (and the bridge) speaks: documents, cells,
//! reads, writes, flows and decisions. Plain data, serde-friendly, no behaviour beyond
//! parsing and printing addresses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Milliseconds since the Unix epoch. Passed in by callers so the tracker stays
/// deterministic under test.
pub type UnixMillis = i64;

/// The wall clock now, for callers to pass in (the tracker itself never asks it). A clock
/// before 1970 reads as 0.
pub fn unix_millis_now() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as UnixMillis)
        .unwrap_or(0)
}

/// The application a document lives in. `File` is a document reached on disk
/// (`xlsx_read`, `scan`) rather than through a live pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum App {
    /// A workbook open in Excel, through its pane.
    Excel,
    /// A deck open in PowerPoint, through its pane.
    Powerpoint,
    /// A document read or scanned from disk.
    File,
}

impl App {
    /// The stored and wire form: `excel`, `powerpoint`, `file`.
    pub fn as_str(self) -> &'static str {
        match self {
            App::Excel => "excel",
            App::Powerpoint => "powerpoint",
            App::File => "file",
        }
    }

    /// The name a person reads: "Excel", "PowerPoint", "file".
    pub fn title(self) -> &'static str {
        match self {
            App::Excel => "Excel",
            App::Powerpoint => "PowerPoint",
            App::File => "file",
        }
    }
}

impl fmt::Display for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable identifier of a document: the same workbook read twice (or after a restart)
/// gets the same id. Derived from the app and the document's location (url or path),
/// falling back to its name for unsaved documents.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocumentId(pub String);

impl DocumentId {
    /// `doc_` followed by the first 16 bytes of SHA-256(app NUL location-or-name), hex.
    pub fn derive(app: App, location: &str, name: &str) -> Self {
        let key = if location.trim().is_empty() {
            name.trim()
        } else {
            location.trim()
        };
        let mut h = Sha256::new();
        h.update(app.as_str().as_bytes());
        h.update([0u8]);
        h.update(key.as_bytes());
        let digest = h.finalize();
        DocumentId(format!("doc_{}", hex::encode(&digest[..16])))
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A document as the person would recognise it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DocumentRef {
    /// The application it lives in.
    pub app: App,
    /// Its stable id, derived from the app and the location (or name).
    pub id: DocumentId,
    /// Display name, e.g. `Q3.xlsx`.
    pub name: String,
    /// URL (live documents) or absolute path (files); empty for an unsaved document.
    pub location: String,
}

impl DocumentRef {
    /// A document with its id derived from `app` and `location` (or `name` when unsaved).
    pub fn new(app: App, name: impl Into<String>, location: impl Into<String>) -> Self {
        let name = name.into();
        let location = location.into();
        DocumentRef {
            app,
            id: DocumentId::derive(app, &location, &name),
            name,
            location,
        }
    }
}

/// Zero-based cell coordinates. Printed and parsed in A1 notation (`B2` is row 1, col 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellAddr {
    /// Zero-based row (row 1 in Excel is 0).
    pub row: u32,
    /// Zero-based column (A is 0).
    pub col: u32,
}

/// Excel's limits: 1,048,576 rows, 16,384 columns (XFD).
pub const MAX_ROWS: u32 = 1_048_576;
/// Excel's column limit: XFD is column 16,384.
pub const MAX_COLS: u32 = 16_384;

impl CellAddr {
    /// The cell at zero-based `row` and `col`.
    pub const fn new(row: u32, col: u32) -> Self {
        CellAddr { row, col }
    }

    /// Column letters for a zero-based column index: 0 -> A, 25 -> Z, 26 -> AA.
    pub fn column_name(col: u32) -> String {
        let mut n = col + 1;
        let mut out = Vec::new();
        while n > 0 {
            let rem = (n - 1) % 26;
            out.push(b'A' + rem as u8);
            n = (n - 1) / 26;
        }
        out.reverse();
        String::from_utf8(out).expect("ASCII letters")
    }

    /// The address in A1 notation (`B2`).
    pub fn to_a1(self) -> String {
        format!("{}{}", Self::column_name(self.col), self.row + 1)
    }

    /// Parses `B2` or `$B$2` (absolute markers ignored). Case-insensitive.
    pub fn parse_a1(s: &str) -> Result<Self, AddressError> {
        let s = s.trim();
        let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'$').collect();
        let letters = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        if letters == 0 || letters > 3 || letters == bytes.len() {
            return Err(AddressError::new(s));
        }
        let mut col: u32 = 0;
        for b in &bytes[..letters] {
            col = col * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1);
        }
        let digits = &bytes[letters..];
        if !digits.iter().all(u8::is_ascii_digit) || digits.len() > 7 {
            return Err(AddressError::new(s));
        }
        let row: u32 = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| AddressError::new(s))?;
        if row == 0 || row > MAX_ROWS || col > MAX_COLS {
            return Err(AddressError::new(s));
        }
        Ok(CellAddr {
            row: row - 1,
            col: col - 1,
        })
    }
}

impl fmt::Display for CellAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_a1())
    }
}

impl FromStr for CellAddr {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_a1(s)
    }
}

/// A rectangular range, inclusive on both ends (`B2:D5`). A single cell is a range whose
/// start equals its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellRange {
    /// The top-left cell.
    pub start: CellAddr,
    /// The bottom-right cell.
    pub end: CellAddr,
}

impl CellRange {
    /// The range spanned by two corners, in any order.
    pub fn new(a: CellAddr, b: CellAddr) -> Self {
        CellRange {
            start: CellAddr::new(a.row.min(b.row), a.col.min(b.col)),
            end: CellAddr::new(a.row.max(b.row), a.col.max(b.col)),
        }
    }

    /// Parses `B2:D5`, `B2`, or a sheet-qualified `'Q3 Revenue'!B2:D5` (the sheet part is
    /// dropped; use [`split_sheet`] to keep it).
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let (_, addr) = split_sheet(s);
        match addr.split_once(':') {
            Some((a, b)) => Ok(CellRange::new(
                CellAddr::parse_a1(a)?,
                CellAddr::parse_a1(b)?,
            )),
            None => {
                let a = CellAddr::parse_a1(addr)?;
                Ok(CellRange::new(a, a))
            }
        }
    }

    /// Parses what [`CellRange::parse`] does and also whole columns (`A:C`, `$B:$B`) and
    /// whole rows (`2:5`, `$3:$3`), as Excel accepts them: a whole column is the range
    /// down to the sheet's last row (`A:C` is `A1:C1048576`), a whole row the range across
    /// to its last column (`2:5` is `A2:XFD5`). A sheet before `!` is dropped.
    pub fn parse_whole(s: &str) -> Result<Self, AddressError> {
        let (_, addr) = split_sheet(s);
        let Some((a, b)) = addr.split_once(':') else {
            return Self::parse(addr);
        };
        let bare = |p: &str| p.trim().replace('$', "");
        let (a, b) = (bare(a), bare(b));
        let all = |p: &str, f: fn(&u8) -> bool| !p.is_empty() && p.as_bytes().iter().all(f);
        if all(&a, u8::is_ascii_alphabetic) && all(&b, u8::is_ascii_alphabetic) {
            let col =
                |p: &str| CellAddr::parse_a1(&format!("{p}1")).map_err(|_| AddressError::new(addr));
            return Ok(CellRange::new(
                CellAddr::new(0, col(&a)?.col),
                CellAddr::new(MAX_ROWS - 1, col(&b)?.col),
            ));
        }
        if all(&a, u8::is_ascii_digit) && all(&b, u8::is_ascii_digit) {
            let row =
                |p: &str| CellAddr::parse_a1(&format!("A{p}")).map_err(|_| AddressError::new(addr));
            return Ok(CellRange::new(
                CellAddr::new(row(&a)?.row, 0),
                CellAddr::new(row(&b)?.row, MAX_COLS - 1),
            ));
        }
        Self::parse(addr)
    }

    /// Whether the range runs down to the sheet's last row (whole columns do).
    pub fn reaches_last_row(&self) -> bool {
        self.end.row == MAX_ROWS - 1
    }

    /// Whether the range runs across to the sheet's last column (whole rows do).
    pub fn reaches_last_col(&self) -> bool {
        self.end.col == MAX_COLS - 1
    }

    /// The smallest range holding every cell; None for no cells.
    pub fn bounding(cells: &[CellAddr]) -> Option<Self> {
        let (first, rest) = cells.split_first()?;
        Some(rest.iter().fold(CellRange::new(*first, *first), |r, c| {
            CellRange::new(
                CellAddr::new(r.start.row.min(c.row), r.start.col.min(c.col)),
                CellAddr::new(r.end.row.max(c.row), r.end.col.max(c.col)),
            )
        }))
    }

    /// Whether `c` lies inside the range.
    pub fn contains(&self, c: CellAddr) -> bool {
        (self.start.row..=self.end.row).contains(&c.row)
            && (self.start.col..=self.end.col).contains(&c.col)
    }

    /// How many rows the range spans.
    pub fn rows(&self) -> u32 {
        self.end.row - self.start.row + 1
    }

    /// How many columns the range spans.
    pub fn cols(&self) -> u32 {
        self.end.col - self.start.col + 1
    }

    /// How many cells the range holds.
    pub fn cell_count(&self) -> u64 {
        u64::from(self.rows()) * u64::from(self.cols())
    }
}

impl fmt::Display for CellRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}:{}", self.start, self.end)
        }
    }
}

/// Splits `'My Sheet'!A1:B2` or `Sheet1!A1` into (Some(sheet), address). Quotes are
/// removed and doubled quotes inside a quoted name unescaped.
pub fn split_sheet(s: &str) -> (Option<String>, &str) {
    let s = s.trim();
    match s.rfind('!') {
        Some(i) => {
            let sheet = &s[..i];
            let sheet = if sheet.len() >= 2 && sheet.starts_with('\'') && sheet.ends_with('\'') {
                sheet[1..sheet.len() - 1].replace("''", "'")
            } else {
                sheet.to_string()
            };
            (Some(sheet), &s[i + 1..])
        }
        None => (None, s),
    }
}

/// A text that is not a cell address or range; holds the text (at most 64 characters).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a cell address: {0:?} (expected A1 notation such as B2 or B2:D5)")]
pub struct AddressError(pub String);

impl AddressError {
    fn new(s: &str) -> Self {
        AddressError(s.chars().take(64).collect())
    }
}

/// A cell's underlying value, as Excel (or calamine) reports it. Dates arrive as
/// numbers (Excel serials) with a date number format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum CellValue {
    /// A blank cell.
    Empty,
    /// A number (dates and times too, as Excel serials).
    Number(f64),
    /// Text.
    Text(String),
    /// TRUE or FALSE.
    Bool(bool),
    /// `#DIV/0!` and friends.
    Error(String),
}

/// One cell as read: its value, the text Excel displayed, and its number format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadCell {
    /// Where the cell is on its sheet.
    pub addr: CellAddr,
    /// Its underlying value.
    pub value: CellValue,
    /// What the person saw (`$1,234.57`), when the source knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Excel number format (`"$"#,##0.00`, `0.0%`, `yyyy-mm-dd`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_format: Option<String>,
}

/// Cells read from one sheet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SheetRead {
    /// The sheet's name.
    pub sheet: String,
    /// The cells read, each with its address.
    pub cells: Vec<ReadCell>,
}

/// Identifies one read; returned to the agent with the values so a later copy by
/// reference can cite it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProvenanceId(pub Uuid);

impl ProvenanceId {
    /// A fresh random id.
    pub fn new() -> Self {
        ProvenanceId(Uuid::new_v4())
    }
}

impl Default for ProvenanceId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ProvenanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prov_{}", self.0.simple())
    }
}

/// How sensitive a source is. Two levels, matching the policy's `flows.default` and
/// `flows.confidential`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    /// Ordinary data: the policy's `flows.default` applies.
    #[default]
    Normal,
    /// Confidential data: the policy's `flows.confidential` applies.
    Confidential,
}

/// Who said a source is sensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum SensitivityOrigin {
    /// Nobody marked it: the default.
    Default,
    /// The person marked a range or sheet in the Excel pane.
    Person,
    /// An administrator rule matched the document or sheet name.
    AdminRule {
        /// The rule's name pattern that matched.
        pattern: String,
    },
    /// The workbook carries a Microsoft Purview sensitivity label.
    Purview {
        /// The label's name.
        label: String,
    },
    /// The document's sensitivity label could not be learned, so its data is treated as
    /// confidential (`why` says what was tried).
    LabelUnknown {
        /// What was tried, and why it did not tell.
        why: String,
    },
}

/// What is known of a document's Microsoft Purview sensitivity label: state kept by the
/// tracker (and its store) per document, learned from its pane or from the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum DocumentLabel {
    /// The document carries this label.
    Labelled {
        /// The label's display name.
        name: String,
        /// The label's id (a GUID), when the host gives it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// The document carries no label.
    Unlabelled,
    /// The label could not be learned: the host cannot say (`why`).
    Unknown {
        /// Why not, in words.
        why: String,
    },
}

/// How sensitive a source is, and who said so.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SensitivityMark {
    /// The sensitivity level.
    pub level: Sensitivity,
    /// Who (or what rule) set it.
    pub origin: SensitivityOrigin,
}

impl Default for SensitivityMark {
    fn default() -> Self {
        SensitivityMark {
            level: Sensitivity::Normal,
            origin: SensitivityOrigin::Default,
        }
    }
}

/// Everything the tracker needs to label one read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadEvent {
    /// The read's id, returned to the agent with the values.
    pub id: ProvenanceId,
    /// The document read.
    pub document: DocumentRef,
    /// The cells read, per sheet.
    pub sheets: Vec<SheetRead>,
    /// When it was read.
    pub at: UnixMillis,
    /// The request that caused the read (MCP tool call id, scan run), for the audit log.
    pub request: String,
}

/// One piece of content about to be written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum WritePart {
    /// Free text: a text box, a paragraph, a title.
    Text {
        /// Where it goes (`slide 3`, `paragraph 12`).
        location: String,
        /// The text itself.
        text: String,
    },
    /// A table of cells as they will be shown.
    Table {
        /// Where it goes (`slide 3`, `Sheet1!A1`).
        location: String,
        /// The cells' text, row by row.
        rows: Vec<Vec<String>>,
    },
}

impl WritePart {
    /// Where in the target this part goes (`slide 3`, `Sheet1!A1`).
    pub fn location(&self) -> &str {
        match self {
            WritePart::Text { location, .. } | WritePart::Table { location, .. } => location,
        }
    }
}

/// A copy by reference: the writer says exactly which cells it carries, so provenance
/// needs no guessing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExplicitSource {
    /// The source document.
    pub document: DocumentRef,
    /// The source sheet.
    pub sheet: String,
    /// The cells copied.
    pub range: CellRange,
    /// Where in the target the copy lands.
    pub location: String,
}

/// Content about to be written into a target document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WriteContent {
    /// The document written to.
    pub target: DocumentRef,
    /// The content, piece by piece.
    pub parts: Vec<WritePart>,
    /// Sources the writer declared (copies by reference), checked without guessing.
    #[serde(default)]
    pub explicit_sources: Vec<ExplicitSource>,
}

/// How sure the tracker is that a flow is a real transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowStrength {
    /// Shown, never blocks.
    Possible,
    /// Corroborated evidence (or an explicit copy): policy applies in full.
    Confirmed,
}

/// Data of one source sheet found in content about to be written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// The document the data came from.
    pub source: DocumentRef,
    /// The sheet it came from.
    pub sheet: String,
    /// The source cells matched, in row-major order.
    pub cells: Vec<CellAddr>,
    /// The document written to.
    pub target: DocumentRef,
    /// Where in the target (`slide 3`, `Sheet1!A1`, `paragraph 12`).
    pub location: String,
    /// How many written values matched source cells.
    pub matched: usize,
    /// 0.0 ..= 1.0.
    pub confidence: f64,
    /// How sure the tracker is that this is a real transfer.
    pub strength: FlowStrength,
    /// How sensitive the source is, and who said so.
    pub sensitivity: SensitivityMark,
    /// True when the writer declared the source (copy by reference).
    pub explicit: bool,
    /// The earlier writes into the same target that were joined with this one to find
    /// the flow (evidence accumulated over a trickle of writes); empty when this write
    /// alone carried it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joined_writes: Vec<String>,
}

/// What happens to a write.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Written; the flow is recorded.
    #[default]
    Allow,
    /// Written; the flow is recorded and shown to the person.
    Notify,
    /// Held until the person approves; no answer means deny.
    Ask,
    /// Not written.
    Block,
}

impl Action {
    /// The stored and wire form: `allow`, `notify`, `ask`, `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Notify => "notify",
            Action::Ask => "ask",
            Action::Block => "block",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision: the action, why as data ([`DecisionWhy`]), and the reason in words the
/// person (and the agent) can read, rendered from that data by the tracker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What happens to the write.
    pub action: Action,
    /// Why, as data. Absent only on decisions stored before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<DecisionWhy>,
    /// Why, in words the person and the agent can read (rendered from `why`).
    pub reason: String,
}

/// Which rule decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionRule {
    /// Data moving within one document: always allowed.
    SameDocument,
    /// The administrator switched cross-app transfers off.
    TransfersOff,
    /// The administrator's action for data of this sensitivity (`flows.default` or
    /// `flows.confidential`), adjusted by the person's standing choice when one applies.
    AdminPolicy,
    /// The administrator's rule for deletions.
    DeletionPolicy,
    /// The administrator's rule for writes after a read returned text that looks like
    /// instructions aimed at an AI agent (`flows.after_flagged_instructions`).
    AfterFlaggedInstructions,
}

/// A standing choice the person made for a source and target pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairChoice {
    /// "Always allow" for this source and target: a hold becomes a notice.
    AlwaysAllow,
    /// "Always block" for this source and target.
    AlwaysBlock,
}

/// Why a decision came out as it did, as data the panes, the monitor, `notify` and tool
/// errors render; nothing parses the reason's words back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DecisionWhy {
    /// Which rule decided.
    pub rule: DecisionRule,
    /// What the administrator's policy says for this kind of data (flows) or for
    /// deletions, before the person's choice and before a weak match caps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Action>,
    /// The sensitivity that counted and who said so (flows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<SensitivityMark>,
    /// How many of the values carry that sensitivity (flows of confidential data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitive_values: Option<usize>,
    /// The person's standing choice for this pair, when it changed or confirmed the
    /// outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<PairChoice>,
    /// The match was too weak to hold or block: shown at most.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
}

impl DecisionWhy {
    /// Why, in the words after the transfer is named ("your administrator blocks
    /// confidential data; you chose …"): what a notification or a card shows when it
    /// already says what moved where.
    pub fn because(&self) -> String {
        let confidential = self
            .sensitivity
            .as_ref()
            .is_some_and(|m| m.level == Sensitivity::Confidential);
        let kind = if confidential {
            "confidential data"
        } else {
            "data moving between documents"
        };
        match self.rule {
            DecisionRule::SameDocument => "it stays within the same document".to_string(),
            DecisionRule::TransfersOff if self.uncertain => "cross-app transfers are switched off by your administrator, but the match is too weak to block; it is shown instead".to_string(),
            DecisionRule::TransfersOff => {
                "cross-app transfers are switched off by your administrator".to_string()
            }
            DecisionRule::AdminPolicy if self.uncertain => {
                if self.choice == Some(PairChoice::AlwaysBlock) {
                    return "you chose to always block this pair, but the match is too weak to block; it is shown instead".to_string();
                }
                match self.policy.unwrap_or(Action::Allow) {
                    Action::Allow => "this is allowed by your administrator's policy".to_string(),
                    Action::Notify => {
                        "your administrator asks that such transfers be shown".to_string()
                    }
                    Action::Ask => {
                        "the match is uncertain, so it is shown rather than held for approval"
                            .to_string()
                    }
                    Action::Block => {
                        "the match is uncertain, so it is shown rather than blocked".to_string()
                    }
                }
            }
            DecisionRule::AdminPolicy => {
                let policy = self.policy.unwrap_or(Action::Allow);
                let mut words = match policy {
                    Action::Allow => format!("your administrator allows {kind}"),
                    Action::Notify => {
                        format!("your administrator allows {kind} and asks that you be told")
                    }
                    Action::Ask => format!("your administrator requires approval for {kind}"),
                    Action::Block => format!("your administrator blocks {kind}"),
                };
                match (self.choice, policy) {
                    (Some(PairChoice::AlwaysBlock), p) if p != Action::Block => {
                        words.push_str("; you chose to always block this pair");
                    }
                    (Some(PairChoice::AlwaysAllow), Action::Ask) => words.push_str(
                        "; you chose to always allow this pair, so it is shown instead of held",
                    ),
                    (Some(PairChoice::AlwaysAllow), Action::Block) => words.push_str(
                        "; your choice to always allow this pair cannot override your administrator",
                    ),
                    _ => {}
                }
                words
            }
            DecisionRule::DeletionPolicy => match self.policy.unwrap_or(Action::Ask) {
                Action::Allow | Action::Notify => "your administrator allows deletions",
                Action::Ask => "your administrator requires approval for deletions",
                Action::Block => "your administrator blocks deletions",
            }
            .to_string(),
            DecisionRule::AfterFlaggedInstructions => match self.policy.unwrap_or(Action::Ask) {
                Action::Allow => "your administrator allows writes after such a read",
                Action::Notify => {
                    "your administrator allows writes after such a read and asks that you be told"
                }
                Action::Ask => "your administrator requires approval for writes after such a read",
                Action::Block => "your administrator blocks writes after such a read",
            }
            .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_round_trips() {
        for (s, r, c) in [
            ("A1", 0, 0),
            ("B2", 1, 1),
            ("Z10", 9, 25),
            ("AA1", 0, 26),
            ("XFD1048576", 1_048_575, 16_383),
        ] {
            let a = CellAddr::parse_a1(s).unwrap();
            assert_eq!((a.row, a.col), (r, c), "{s}");
            assert_eq!(a.to_a1(), s);
        }
        assert_eq!(CellAddr::parse_a1("$c$3").unwrap(), CellAddr::new(2, 2));
    }

    #[test]
    fn a1_rejects_garbage() {
        for s in [
            "", "A", "1", "A0", "XFE1", "A1048577", "A-1", "ABCD1", "A1B",
        ] {
            assert!(CellAddr::parse_a1(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn ranges_parse_with_sheets() {
        let r = CellRange::parse("'Q3 ''Rev'''!D5:B2").unwrap();
        assert_eq!(r.to_string(), "B2:D5");
        assert_eq!(r.cell_count(), 12);
        assert_eq!(
            split_sheet("'Q3 ''Rev'''!D5:B2"),
            (Some("Q3 'Rev'".to_string()), "D5:B2")
        );
        assert_eq!(CellRange::parse("C3").unwrap().to_string(), "C3");
        let cells = ["C3", "D5", "B2"].map(|a| CellAddr::parse_a1(a).unwrap());
        assert_eq!(CellRange::bounding(&cells).unwrap().to_string(), "B2:D5");
        assert_eq!(CellRange::bounding(&cells[..1]).unwrap().to_string(), "C3");
        assert_eq!(CellRange::bounding(&[]), None);
    }

    #[test]
    fn whole_columns_and_rows_parse_as_the_ranges_they_stand_for() {
        let p = |s: &str| CellRange::parse_whole(s).map(|r| r.to_string());
        assert_eq!(p("A:C").unwrap(), "A1:C1048576");
        assert_eq!(p("$a:$c").unwrap(), "A1:C1048576");
        assert_eq!(p("Sheet1!B:B").unwrap(), "B1:B1048576");
        assert_eq!(p("C:A").unwrap(), "A1:C1048576");
        assert_eq!(p("2:5").unwrap(), "A2:XFD5");
        assert_eq!(p("'Q3 data'!$3:$3").unwrap(), "A3:XFD3");
        assert_eq!(p("Sheet 1!B:B").unwrap(), "B1:B1048576");
        assert_eq!(p("B2:D5").unwrap(), "B2:D5");
        assert_eq!(p("C3").unwrap(), "C3");
        for bad in [
            "A:",
            ":C",
            "A:1",
            "1:A",
            "0:3",
            "1:1048577",
            "A:XFE",
            "A:B:C",
            "A",
            "3",
        ] {
            assert!(
                CellRange::parse_whole(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        // The plain parse still refuses them.
        assert!(CellRange::parse("A:C").is_err());
        let whole = CellRange::parse_whole("B:C").unwrap();
        assert!(whole.reaches_last_row() && !whole.reaches_last_col());
        let rows = CellRange::parse_whole("4:4").unwrap();
        assert!(rows.reaches_last_col() && !rows.reaches_last_row());
        assert!(!CellRange::parse("B2:D5").unwrap().reaches_last_row());
    }

    #[test]
    fn document_ids_are_stable_and_distinct() {
        let a = DocumentRef::new(App::Excel, "Q3.xlsx", "https://x/Q3.xlsx");
        let b = DocumentRef::new(App::Excel, "Q3 renamed.xlsx", "https://x/Q3.xlsx");
        let c = DocumentRef::new(App::Powerpoint, "Q3.xlsx", "https://x/Q3.xlsx");
        assert_eq!(a.id, b.id);
        assert_ne!(a.id, c.id);
        let unsaved = DocumentRef::new(App::Excel, "Book1", "");
        assert_eq!(unsaved.id, DocumentId::derive(App::Excel, "  ", "Book1"));
    }
}

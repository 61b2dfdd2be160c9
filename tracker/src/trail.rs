//! Evidence that accumulates across writes: the recent writes into each target document,
//! joined with the next write before it is matched.
//!
//! Detection judges what one write carries. An agent that sends a table one row per call,
//! or one value per call, gives each call too little evidence to be more than a *possible*
//! flow (or none), though the writes together are plainly a copy. So the tracker keeps the
//! trail of what was written into each target in the last [`WINDOW_MS`] (at most
//! [`MAX_WRITES`] writes and [`MAX_STRINGS`] strings) and checks a write twice: alone, and
//! joined with its trail. A source sheet that the joined content confirms, and that this
//! write added evidence to, gives this write a confirmed flow naming the earlier writes it
//! spans ([`crate::model::Flow::joined_writes`]); policy then decides it like any other.
//!
//! Joining: every table row of the trail and of the write becomes a row of one table, in
//! the order written, and every text one line of one text, so the detector sees the rows
//! and lines together as one copy. A value split across two writes ("187432" then ".55")
//! is joined too: the last token of each write is glued to the first token of the next on
//! an extra line.
//!
//! Only what can add evidence is joined, so a deck built from many tables does not make
//! every write re-check them all: a write that alone confirms every source it touches
//! joins nothing; otherwise it joins the earlier writes that touched (possibly or surely)
//! a source sheet it touches only possibly, or that the seam with the write before it
//! does. Each write remembers the source sheets it touched when it was checked.
//!
//! The trail is per target document, not per agent session, so reconnecting does not shed
//! it; it is kept in the store (written with the write's final record) so a restart does
//! not either. Only writes that were written (or whose outcome is unknown) join the trail:
//! a blocked write put nothing into the target.

use std::collections::{HashMap, VecDeque};

use crate::approvals::WriteId;
use crate::model::{DocumentId, DocumentRef, UnixMillis, WriteContent, WritePart};

/// How long a write stays in its target's trail (one hour).
pub const WINDOW_MS: UnixMillis = 60 * 60 * 1000;
/// Most writes kept per target.
pub const MAX_WRITES: usize = 32;
/// Most strings (table cells and texts) kept per target, so a joined check stays bounded.
pub const MAX_STRINGS: usize = 4_000;
/// Writes checked but not yet finished whose parts are kept for the trail; beyond this
/// the oldest are dropped (a write that never finishes never joins).
const MAX_PENDING: usize = 1_024;

/// One write in a trail.
#[derive(Clone, Debug, PartialEq)]
pub struct TrailWrite {
    /// The write's id, as recorded.
    pub write_id: WriteId,
    /// The target written to.
    pub target: DocumentId,
    /// When it was checked.
    pub at: UnixMillis,
    /// What it wrote.
    pub parts: Vec<WritePart>,
    /// The source sheets its flows came from when it was checked; `None` for a write
    /// loaded from the store, worked out again when first needed.
    pub sheets: Option<Vec<SheetKey>>,
}

/// A source sheet: its document and name.
pub type SheetKey = (DocumentId, String);

impl TrailWrite {
    fn strings(&self) -> usize {
        self.parts.iter().map(part_strings).sum()
    }
}

fn part_strings(p: &WritePart) -> usize {
    match p {
        WritePart::Text { .. } => 1,
        WritePart::Table { rows, .. } => rows.iter().map(Vec::len).sum(),
    }
}

/// The trails of every target, and the parts of writes checked but not yet finished.
#[derive(Debug, Default)]
pub(crate) struct Trails {
    by_target: HashMap<DocumentId, VecDeque<TrailWrite>>,
    pending: HashMap<WriteId, TrailWrite>,
    pending_order: VecDeque<WriteId>,
}

impl Trails {
    /// Trails rebuilt from the store's recent writes, oldest first.
    pub(crate) fn from_recent(writes: Vec<TrailWrite>) -> Self {
        let mut t = Trails::default();
        for w in writes {
            t.push(w);
        }
        t
    }

    /// The write joined with the earlier writes of its target's trail (as of `now`) that
    /// touched a sheet in `wanted` (`sheets_of` works out the sheets of a write loaded
    /// from the store), and with the last one whatever it touched when `with_last` (its
    /// seam with this write matters), the same without the write, and the ids of the
    /// earlier writes joined; `None` when none is relevant.
    pub(crate) fn joined(
        &mut self,
        write: &WriteContent,
        now: UnixMillis,
        wanted: &[SheetKey],
        with_last: bool,
        mut sheets_of: impl FnMut(&WriteContent) -> Vec<SheetKey>,
    ) -> Option<(WriteContent, WriteContent, Vec<WriteId>)> {
        if wanted.is_empty() {
            return None;
        }
        let trail = self.live(&write.target.id, now)?;
        let mut picked: Vec<&TrailWrite> = Vec::new();
        for w in trail.iter_mut() {
            if w.sheets.is_none() {
                let alone = WriteContent {
                    target: write.target.clone(),
                    parts: w.parts.clone(),
                    explicit_sources: Vec::new(),
                };
                w.sheets = Some(sheets_of(&alone));
            }
        }
        let last = trail.len().saturating_sub(1);
        for (i, w) in trail.iter().enumerate() {
            if (with_last && i == last) || w.sheets.iter().flatten().any(|k| wanted.contains(k)) {
                picked.push(w);
            }
        }
        if picked.is_empty() {
            return None;
        }
        let earlier: Vec<&[WritePart]> = picked.iter().map(|w| w.parts.as_slice()).collect();
        let before = join(&write.target, &earlier);
        let mut all = earlier.clone();
        all.push(&write.parts);
        let with = join(&write.target, &all);
        let ids = picked.iter().map(|w| w.write_id.clone()).collect();
        Some((before, with, ids))
    }

    /// The seam between the last write into the target (as of `now`, dropping writes
    /// past the window) and this one: the last token of one glued to the first of the
    /// other, as a text of its own; `None` without an earlier write.
    pub(crate) fn seam(&mut self, write: &WriteContent, now: UnixMillis) -> Option<WriteContent> {
        let last = self.live(&write.target.id, now)?.back()?;
        let seam = format!("{}{}", last_token(&last.parts)?, first_token(&write.parts)?);
        Some(WriteContent {
            target: write.target.clone(),
            parts: vec![WritePart::Text {
                location: "seam".into(),
                text: seam,
            }],
            explicit_sources: Vec::new(),
        })
    }

    /// The target's trail as of `now`, writes past the window dropped.
    fn live(&mut self, target: &DocumentId, now: UnixMillis) -> Option<&mut VecDeque<TrailWrite>> {
        let trail = self.by_target.get_mut(target)?;
        while trail
            .front()
            .is_some_and(|w| w.at.saturating_add(WINDOW_MS) < now)
        {
            trail.pop_front();
        }
        Some(trail)
    }

    /// Keeps a checked write's parts (and the source sheets its flows came from) until it
    /// finishes.
    pub(crate) fn checked(
        &mut self,
        write: &WriteContent,
        write_id: &WriteId,
        at: UnixMillis,
        sheets: Vec<SheetKey>,
    ) {
        if self.pending_order.len() >= MAX_PENDING
            && let Some(old) = self.pending_order.pop_front()
        {
            self.pending.remove(&old);
        }
        self.pending_order.push_back(write_id.clone());
        self.pending.insert(
            write_id.clone(),
            TrailWrite {
                write_id: write_id.clone(),
                target: write.target.id.clone(),
                at,
                parts: write.parts.clone(),
                sheets: Some(sheets),
            },
        );
    }

    /// The finished write's entry, when it joins the trail (it was written, or its outcome
    /// is unknown); the caller stores it and then calls [`Trails::push`].
    pub(crate) fn finished(
        &mut self,
        write_id: &WriteId,
        written: Option<bool>,
    ) -> Option<TrailWrite> {
        let w = self.pending.remove(write_id)?;
        self.pending_order.retain(|id| id != write_id);
        (written != Some(false)).then_some(w)
    }

    /// Appends a write to its target's trail, dropping the oldest past the bounds.
    pub(crate) fn push(&mut self, w: TrailWrite) {
        let trail = self.by_target.entry(w.target.clone()).or_default();
        trail.push_back(w);
        let mut strings: usize = trail.iter().map(TrailWrite::strings).sum();
        while trail.len() > MAX_WRITES || (strings > MAX_STRINGS && trail.len() > 1) {
            if let Some(old) = trail.pop_front() {
                strings -= old.strings();
            }
        }
    }
}

fn part_texts(parts: &[WritePart]) -> impl DoubleEndedIterator<Item = &str> {
    parts.iter().flat_map(|p| match p {
        WritePart::Text { text, .. } => vec![text.as_str()],
        WritePart::Table { rows, .. } => rows.iter().flatten().map(String::as_str).collect(),
    })
}

fn first_token(parts: &[WritePart]) -> Option<&str> {
    part_texts(parts).find_map(|s| s.split_whitespace().next())
}

fn last_token(parts: &[WritePart]) -> Option<&str> {
    part_texts(parts)
        .rev()
        .find_map(|s| s.split_whitespace().next_back())
}

/// Writes' parts as one table (every row, in order, padded to one width) and one text
/// (every text a line, then the seams between consecutive writes).
fn join(target: &DocumentRef, writes: &[&[WritePart]]) -> WriteContent {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut seams: Vec<String> = Vec::new();
    let mut last_token: Option<String> = None;
    for parts in writes {
        let mut first_token: Option<String> = None;
        let mut this_last: Option<String> = None;
        for p in *parts {
            let strings: Vec<&str> = match p {
                WritePart::Text { text, .. } => {
                    lines.push(text.clone());
                    vec![text.as_str()]
                }
                WritePart::Table { rows: r, .. } => {
                    rows.extend(r.iter().cloned());
                    r.iter().flatten().map(String::as_str).collect()
                }
            };
            for s in strings {
                let mut tokens = s.split_whitespace();
                if first_token.is_none() {
                    first_token = tokens.next().map(str::to_string);
                }
                if let Some(t) = s.split_whitespace().next_back() {
                    this_last = Some(t.to_string());
                }
            }
        }
        if let (Some(a), Some(b)) = (&last_token, &first_token) {
            seams.push(format!("{a}{b}"));
        }
        if this_last.is_some() {
            last_token = this_last;
        }
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    for r in &mut rows {
        r.resize(width, String::new());
    }
    let mut parts = Vec::new();
    let location = writes
        .last()
        .and_then(|p| p.first())
        .map(|p| p.location().to_string())
        .unwrap_or_default();
    if !rows.is_empty() {
        parts.push(WritePart::Table {
            location: location.clone(),
            rows,
        });
    }
    lines.extend(seams);
    if !lines.is_empty() {
        parts.push(WritePart::Text {
            location,
            text: lines.join("\n"),
        });
    }
    WriteContent {
        target: target.clone(),
        parts,
        explicit_sources: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::App;

    fn deck() -> DocumentRef {
        DocumentRef::new(App::Powerpoint, "Deck.pptx", "https://x/Deck.pptx")
    }

    fn text_write(t: &str) -> WriteContent {
        WriteContent {
            target: deck(),
            parts: vec![WritePart::Text {
                location: "slide 1".into(),
                text: t.into(),
            }],
            explicit_sources: vec![],
        }
    }

    /// The one source sheet these tests' writes touch.
    fn sheet() -> SheetKey {
        (DocumentId("book".into()), "Revenue".into())
    }

    fn written(trails: &mut Trails, w: &WriteContent, at: UnixMillis) -> WriteId {
        let id = WriteId::new();
        trails.checked(w, &id, at, vec![sheet()]);
        let entry = trails.finished(&id, Some(true)).expect("joins");
        trails.push(entry);
        id
    }

    #[test]
    fn a_value_split_across_two_writes_is_joined_on_a_seam_line() {
        let mut trails = Trails::default();
        let first = written(&mut trails, &text_write("Revenue was 187432"), 0);
        let next = text_write(".55 in Q3");
        let seam = trails.seam(&next, 1).expect("seam");
        assert!(
            matches!(&seam.parts[..], [WritePart::Text { text, .. }] if text == "187432.55"),
            "{seam:?}"
        );
        let (before, with, ids) = trails
            .joined(&next, 1, &[sheet()], true, |_| Vec::new())
            .expect("trail");
        assert_eq!(ids, vec![first]);
        let text = |c: &WriteContent| match c.parts.last() {
            Some(WritePart::Text { text, .. }) => text.clone(),
            _ => String::new(),
        };
        assert_eq!(text(&before), "Revenue was 187432");
        assert_eq!(text(&with), "Revenue was 187432\n.55 in Q3\n187432.55");
    }

    #[test]
    fn rows_of_separate_writes_become_one_table() {
        let mut trails = Trails::default();
        let row = |cells: &[&str]| WriteContent {
            target: deck(),
            parts: vec![WritePart::Table {
                location: "slide 2".into(),
                rows: vec![cells.iter().map(|s| s.to_string()).collect()],
            }],
            explicit_sources: vec![],
        };
        written(&mut trails, &row(&["EMEA", "1.2"]), 0);
        written(&mut trails, &row(&["APAC", "3.4", "x"]), 1);
        let (_, with, ids) = trails
            .joined(&row(&["LATAM", "5.6"]), 2, &[sheet()], false, |_| {
                Vec::new()
            })
            .expect("trail");
        assert_eq!(ids.len(), 2);
        let Some(WritePart::Table { rows, .. }) = with.parts.first() else {
            panic!("no table: {with:?}");
        };
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.len() == 3));
        assert_eq!(rows[2][0], "LATAM");
    }

    #[test]
    fn old_blocked_and_other_targets_writes_do_not_join() {
        let mut trails = Trails::default();
        written(&mut trails, &text_write("old"), 0);
        let blocked = WriteId::new();
        trails.checked(&text_write("blocked"), &blocked, WINDOW_MS, vec![sheet()]);
        assert!(trails.finished(&blocked, Some(false)).is_none());
        let mut other = text_write("elsewhere");
        other.target = DocumentRef::new(App::Powerpoint, "Other.pptx", "https://x/Other.pptx");
        written(&mut trails, &other, WINDOW_MS);
        // An hour and a bit later the old write has left the window.
        assert!(
            trails
                .joined(
                    &text_write("now"),
                    WINDOW_MS + 10,
                    &[sheet()],
                    false,
                    |_| Vec::new()
                )
                .is_none()
        );
    }

    #[test]
    fn a_trail_keeps_at_most_its_bounds() {
        let mut trails = Trails::default();
        for i in 0..(MAX_WRITES as i64 + 5) {
            written(&mut trails, &text_write(&format!("line {i}")), i);
        }
        let (_, _, ids) = trails
            .joined(&text_write("next"), 100, &[sheet()], false, |_| Vec::new())
            .expect("trail");
        assert_eq!(ids.len(), MAX_WRITES);
        let big = WriteContent {
            target: deck(),
            parts: vec![WritePart::Table {
                location: "slide 3".into(),
                rows: vec![vec!["1".to_string(); 100]; MAX_STRINGS / 100 + 1],
            }],
            explicit_sources: vec![],
        };
        written(&mut trails, &big, 200);
        let (_, _, ids) = trails
            .joined(&text_write("next"), 300, &[sheet()], false, |_| Vec::new())
            .expect("trail");
        // Only the big write itself is left: it alone is over the string budget.
        assert_eq!(ids.len(), 1);
    }

    #[test]
    fn only_writes_touching_a_wanted_sheet_are_joined() {
        let mut trails = Trails::default();
        let other: SheetKey = (DocumentId("other".into()), "Costs".into());
        let id = WriteId::new();
        trails.checked(&text_write("from elsewhere"), &id, 0, vec![other.clone()]);
        let entry = trails.finished(&id, Some(true)).expect("joins");
        trails.push(entry);
        let mine = written(&mut trails, &text_write("from the sheet"), 1);
        let (_, _, ids) = trails
            .joined(&text_write("next"), 2, &[sheet()], false, |_| Vec::new())
            .expect("trail");
        assert_eq!(ids, vec![mine]);
        // Nothing wanted (the write confirms alone, or touches nothing): nothing joined.
        assert!(
            trails
                .joined(&text_write("next"), 2, &[], false, |_| Vec::new())
                .is_none()
        );
        // A write loaded from the store has its sheets worked out when first needed.
        trails.push(TrailWrite {
            write_id: WriteId::new(),
            target: deck().id,
            at: 3,
            parts: vec![WritePart::Text {
                location: "slide 9".into(),
                text: "restored".into(),
            }],
            sheets: None,
        });
        let mut asked = 0;
        let (_, _, ids) = trails
            .joined(&text_write("next"), 4, &[other], false, |_| {
                asked += 1;
                vec![(DocumentId("other".into()), "Costs".into())]
            })
            .expect("trail");
        assert_eq!(asked, 1);
        assert_eq!(ids.len(), 2);
    }
}

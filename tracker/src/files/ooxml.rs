//! What every OOXML package shares: relationships, the text collector for drawing and
//! document parts, chart caches, comments-like lists of text, alt text, and Purview
//! labels. The packages themselves are read in `pptx`, `docx` and `xlsx`.

use std::collections::HashMap;

use crate::model::WritePart;

use super::guard::Archive;
use super::xml::{Ev, TextBudget, attr, prefixed_attr, walk};
use super::{Kind, Limits, Problem, PurviewLabel};

const REL_OFFICE_DOCUMENT: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";

/// Reads a part that must exist.
pub(crate) fn required(archive: &mut Archive, kind: Kind, name: &str) -> Result<Vec<u8>, Problem> {
    archive
        .read(name)?
        .ok_or_else(|| Problem::invalid(kind, format!("it has no {name}")))
}

/// The rels part that belongs to `part`: `ppt/presentation.xml` ->
/// `ppt/_rels/presentation.xml.rels`.
fn rels_path(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

/// Resolves a relationship target against the folder of the part that refers to it.
fn resolve_target(part: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_string();
    }
    let mut segs: Vec<&str> = match part.rsplit_once('/') {
        Some((dir, _)) => dir.split('/').collect(),
        None => Vec::new(),
    };
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segs.pop();
            }
            s => segs.push(s),
        }
    }
    segs.join("/")
}

/// Relationship id -> (type, resolved target) for `part`.
pub(crate) fn relationships(
    archive: &mut Archive,
    kind: Kind,
    limits: &Limits,
    budget: &mut TextBudget,
    part: &str,
) -> Result<HashMap<String, (String, String)>, Problem> {
    let path = rels_path(part);
    let mut rels = HashMap::new();
    let Some(bytes) = archive.read(&path)? else {
        return Ok(rels);
    };
    walk(&bytes[..], &path, kind, limits, budget, |ev| {
        if let Ev::Open(e) = ev
            && e.local_name().as_ref() == "Relationship"
        {
            // External targets (hyperlinks) are not parts of this package.
            if attr(e, "TargetMode").as_deref() == Some("External") {
                return;
            }
            if let (Some(id), Some(target)) = (attr(e, "Id"), attr(e, "Target")) {
                let ty = attr(e, "Type").unwrap_or_default();
                rels.insert(id, (ty, resolve_target(part, &target)));
            }
        }
    })?;
    Ok(rels)
}

/// The main part named by the package relationships, or the conventional one.
pub(crate) fn main_part(
    archive: &mut Archive,
    kind: Kind,
    limits: &Limits,
    budget: &mut TextBudget,
    fallback: &str,
) -> Result<String, Problem> {
    let rels = relationships(archive, kind, limits, budget, "")?;
    let named = rels
        .values()
        .find(|(ty, _)| ty == REL_OFFICE_DOCUMENT)
        .map(|(_, t)| t.clone());
    Ok(match named {
        Some(t) if archive.has(&t) => t,
        _ => fallback.to_string(),
    })
}

/// Collects text of a drawing or document part: paragraphs joined by newlines, tables
/// separately. `para`, `text`, `table`, `row`, `cell`, `tab` and `br` are the local names
/// of the vocabulary (`p`/`t`/`tbl`/`tr`/`tc` in both DrawingML and WordprocessingML).
#[derive(Default)]
pub(crate) struct Collector {
    /// Paragraphs outside tables, in order: (index counting every paragraph, text).
    pub(crate) paragraphs: Vec<(usize, String)>,
    paragraph_count: usize,
    pub(crate) tables: Vec<Vec<Vec<String>>>,
    /// Nesting of tables; text of a nested table goes into the enclosing top-level cell.
    table_depth: usize,
    in_text: bool,
    /// Skipped subtrees (deleted text, field instructions): depth inside them.
    skip_depth: usize,
    current: String,
    /// Relationship ids of charts (`c:chart r:id`), in document order.
    pub(crate) charts: Vec<String>,
    /// Relationship ids of SmartArt data (`dgm:relIds r:dm`), in document order.
    pub(crate) diagrams: Vec<String>,
    /// Alt text of shapes and pictures: (shape name, title and description).
    pub(crate) alt: Vec<(String, String)>,
    /// Paragraphs can nest (a text box inside a run of a paragraph): only the outermost
    /// one makes a part; inner ones become lines of it.
    para_depth: usize,
}

impl Collector {
    /// Walks one part into a new collector, leaving out the subtrees named in `skip`.
    pub(crate) fn of(
        bytes: &[u8],
        part: &str,
        kind: Kind,
        limits: &Limits,
        budget: &mut TextBudget,
        skip: &[&str],
    ) -> Result<Self, Problem> {
        let mut c = Collector::default();
        walk(bytes, part, kind, limits, budget, |ev| c.feed(ev, skip))?;
        Ok(c)
    }

    /// Its paragraphs outside tables, joined by newlines.
    pub(crate) fn text(&self) -> String {
        join_paragraphs(self.paragraphs.iter().map(|(_, t)| t.as_str()))
    }

    fn open(&mut self, local: &str, skip: &[&str]) {
        if self.skip_depth > 0 {
            self.skip_depth += 1;
            return;
        }
        if skip.contains(&local) {
            self.skip_depth = 1;
            return;
        }
        match local {
            "tbl" => {
                self.table_depth += 1;
                if self.table_depth == 1 {
                    self.tables.push(Vec::new());
                }
            }
            "tr" if self.table_depth == 1 => {
                if let Some(t) = self.tables.last_mut() {
                    t.push(Vec::new());
                }
            }
            "tc" if self.table_depth == 1 => {
                if let Some(row) = self.tables.last_mut().and_then(|t| t.last_mut()) {
                    row.push(String::new());
                }
            }
            "p" => {
                if self.table_depth == 0 {
                    self.para_depth += 1;
                    if self.para_depth == 1 {
                        self.paragraph_count += 1;
                        self.current.clear();
                    } else if !self.current.is_empty() {
                        self.current.push('\n');
                    }
                } else if let Some(cell) = self.cell()
                    && !cell.is_empty()
                {
                    cell.push('\n');
                }
            }
            "t" => self.in_text = true,
            "tab" => self.push("\t"),
            "br" | "cr" => self.push("\n"),
            _ => {}
        }
    }

    fn close(&mut self, local: &str) {
        if self.skip_depth > 0 {
            self.skip_depth -= 1;
            return;
        }
        match local {
            "tbl" => self.table_depth = self.table_depth.saturating_sub(1),
            "t" => self.in_text = false,
            "p" if self.table_depth == 0 && self.para_depth > 0 => {
                self.para_depth -= 1;
                if self.para_depth == 0 {
                    let text = std::mem::take(&mut self.current);
                    self.paragraphs.push((self.paragraph_count, text));
                }
            }
            _ => {}
        }
    }

    /// What an element refers to or carries besides text: charts, SmartArt, alt text.
    fn references(&mut self, local: &str, e: &quick_xml::events::BytesStart<'_>) {
        match local {
            "chart" => {
                if let Some(id) = prefixed_attr(e, "id") {
                    self.charts.push(id);
                }
            }
            "relIds" => {
                if let Some(id) = prefixed_attr(e, "dm") {
                    self.diagrams.push(id);
                }
            }
            // `cNvPr` in DrawingML (slides, sheet drawings, pictures), `docPr` on a
            // Word drawing, `alt` on a VML shape.
            "cNvPr" | "docPr" | "shape" => {
                let mut said: Vec<String> = Vec::new();
                for key in ["title", "descr", "alt"] {
                    if let Some(v) = attr(e, key)
                        && !v.trim().is_empty()
                        && !said.contains(&v)
                    {
                        said.push(v);
                    }
                }
                if said.is_empty() {
                    return;
                }
                let text = said.join("\n");
                // Word repeats a picture's alt text on the picture inside its drawing.
                if self.alt.last().is_some_and(|(_, t)| *t == text) {
                    return;
                }
                self.alt.push((attr(e, "name").unwrap_or_default(), text));
            }
            _ => {}
        }
    }

    fn take_text(&mut self, s: &str) {
        if self.in_text && self.skip_depth == 0 {
            self.push(s);
        }
    }

    fn cell(&mut self) -> Option<&mut String> {
        self.tables
            .last_mut()
            .and_then(|t| t.last_mut())
            .and_then(|r| r.last_mut())
    }

    fn push(&mut self, s: &str) {
        if self.skip_depth > 0 {
            return;
        }
        if self.table_depth > 0 {
            if let Some(cell) = self.cell() {
                cell.push_str(s);
            }
        } else if self.para_depth > 0 {
            self.current.push_str(s);
        }
    }

    pub(crate) fn feed(&mut self, ev: Ev<'_, '_>, skip: &[&str]) {
        match ev {
            Ev::Open(e) => {
                let local = e.local_name();
                let local: &str = local.as_ref();
                if self.skip_depth == 0 && !skip.contains(&local) {
                    self.references(local, e);
                }
                self.open(local, skip)
            }
            Ev::Close(l) => self.close(l),
            Ev::Text(t) => self.take_text(t),
        }
    }
}

/// The data cached in the charts a part refers to (by relationship id, in order), each as
/// rows: categories first (`""`, then one per point), then one row per series (its
/// name, then its values). Charts pasted from Excel carry the numbers themselves.
pub(crate) fn charts(
    archive: &mut Archive,
    kind: Kind,
    limits: &Limits,
    budget: &mut TextBudget,
    rels: &HashMap<String, (String, String)>,
    ids: &[String],
) -> Result<Vec<Vec<Vec<String>>>, Problem> {
    let mut out = Vec::new();
    for id in ids {
        let Some((_, target)) = rels.get(id) else {
            continue;
        };
        let Some(bytes) = archive.read(target)? else {
            continue;
        };
        let rows = chart_rows(&bytes, target, kind, limits, budget)?;
        if !rows.is_empty() {
            out.push(rows);
        }
    }
    Ok(out)
}

#[derive(Clone, Copy, PartialEq)]
enum ChartSection {
    Name,
    Categories,
    Values,
}

fn chart_rows(
    bytes: &[u8],
    part: &str,
    kind: Kind,
    limits: &Limits,
    budget: &mut TextBudget,
) -> Result<Vec<Vec<String>>, Problem> {
    use std::collections::{BTreeMap, BTreeSet};
    // Points are keyed by their declared index but stored sparsely: an index of 4 billion
    // costs one map entry, not a 4-billion-slot row.
    let mut categories: BTreeMap<u32, String> = BTreeMap::new();
    let mut series: Vec<(String, BTreeMap<u32, String>)> = Vec::new();
    let mut section: Option<ChartSection> = None;
    let mut idx: u32 = 0;
    let mut value: Option<String> = None;
    // Axis and chart titles also have `c:tx`: only a series' own elements count.
    let mut in_series = false;
    walk(bytes, part, kind, limits, budget, |ev| match ev {
        Ev::Open(e) => match e.local_name().as_ref() {
            "ser" => {
                in_series = true;
                series.push((String::new(), BTreeMap::new()));
            }
            "tx" if in_series && section.is_none() => {
                section = Some(ChartSection::Name);
                idx = 0;
            }
            "cat" | "xVal" if in_series => section = Some(ChartSection::Categories),
            "val" | "yVal" if in_series => section = Some(ChartSection::Values),
            "pt" if section.is_some() => {
                idx = attr(e, "idx").and_then(|v| v.parse().ok()).unwrap_or(0);
            }
            "v" if section.is_some() => value = Some(String::new()),
            _ => {}
        },
        Ev::Text(t) => {
            if let Some(v) = value.as_mut() {
                v.push_str(t);
            }
        }
        Ev::Close(local) => match local {
            "v" => {
                let (Some(v), Some(sec)) = (value.take(), section) else {
                    return;
                };
                let first = series.len() == 1;
                if let Some((name, points)) = series.last_mut() {
                    match sec {
                        ChartSection::Name => *name = v,
                        // Series share their categories; the first series' are kept.
                        ChartSection::Categories if first => {
                            categories.insert(idx, v);
                        }
                        ChartSection::Categories => {}
                        ChartSection::Values => {
                            points.insert(idx, v);
                        }
                    }
                }
            }
            "tx" | "cat" | "xVal" | "val" | "yVal" => section = None,
            "ser" => in_series = false,
            _ => {}
        },
    })?;
    let columns: BTreeSet<u32> = categories
        .keys()
        .chain(series.iter().flat_map(|(_, p)| p.keys()))
        .copied()
        .collect();
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let cells = (columns.len() as u64 + 1).saturating_mul(series.len() as u64 + 1);
    if cells > limits.max_cells {
        return Err(Problem::Refused(format!(
            "{part} has a chart of {cells} cells, more than the {} cell limit",
            limits.max_cells
        )));
    }
    let mut rows = Vec::new();
    if !categories.is_empty() {
        let mut row = vec![String::new()];
        row.extend(
            columns
                .iter()
                .map(|i| categories.get(i).cloned().unwrap_or_default()),
        );
        rows.push(row);
    }
    for (name, points) in &series {
        let mut row = vec![name.clone()];
        row.extend(
            columns
                .iter()
                .map(|i| points.get(i).cloned().unwrap_or_default()),
        );
        rows.push(row);
    }
    Ok(rows)
}

/// Paragraphs joined by newlines, dropping empty paragraphs at either end.
pub(crate) fn join_paragraphs<'a>(paras: impl Iterator<Item = &'a str>) -> String {
    let joined: Vec<&str> = paras.collect();
    joined.join("\n").trim_matches('\n').to_string()
}

/// Paragraph and run properties hold tab stops (`a:tab`, `w:tabs/w:tab`), not text;
/// `mc:Fallback` repeats its `mc:Choice` for older readers.
pub(crate) const SKIP_DRAWING: &[&str] = &["pPr", "rPr", "endParaRPr", "Fallback"];

/// As [`SKIP_DRAWING`], and Word's deleted text (tracked changes) and field codes.
pub(crate) const SKIP_WORD: &[&str] = &["delText", "instrText", "del", "pPr", "rPr", "Fallback"];

/// The text of each `item` element of a part (a comment, a reply, a footnote), in the
/// order they open, with the value of its attribute `key` when asked for. Text is taken
/// inside `t` and `text` elements (DrawingML, WordprocessingML and SpreadsheetML runs;
/// a legacy slide comment's and a threaded comment's own text); paragraphs become lines.
/// Empty items are left out.
pub(crate) fn items(
    bytes: &[u8],
    part: &str,
    kind: Kind,
    limits: &Limits,
    budget: &mut TextBudget,
    item: &[&str],
    key: Option<&str>,
) -> Result<Vec<(Option<String>, String)>, Problem> {
    // Phonetic guides (`rPh`) repeat a cell comment's text in another script.
    const SKIP: &[&str] = &[
        "delText",
        "instrText",
        "del",
        "pPr",
        "rPr",
        "endParaRPr",
        "Fallback",
        "rPh",
    ];
    let mut out: Vec<(Option<String>, String)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut in_text: usize = 0;
    let mut skip_depth: usize = 0;
    walk(bytes, part, kind, limits, budget, |ev| {
        let top = open.last().copied();
        match ev {
            Ev::Open(e) => {
                let local = e.local_name();
                let local: &str = local.as_ref();
                if skip_depth > 0 || SKIP.contains(&local) {
                    skip_depth += 1;
                    return;
                }
                let current = top.and_then(|i| out.get_mut(i)).map(|(_, t)| t);
                match local {
                    l if item.contains(&l) => {
                        out.push((key.and_then(|k| attr(e, k)), String::new()));
                        open.push(out.len() - 1);
                    }
                    "t" | "text" => in_text += 1,
                    "p" => {
                        if let Some(t) = current
                            && !t.is_empty()
                            && !t.ends_with('\n')
                        {
                            t.push('\n');
                        }
                    }
                    "tab" if in_text == 0 => {
                        if let Some(t) = current {
                            t.push('\t');
                        }
                    }
                    "br" | "cr" => {
                        if let Some(t) = current {
                            t.push('\n');
                        }
                    }
                    _ => {}
                }
            }
            Ev::Close(local) => {
                if skip_depth > 0 {
                    skip_depth -= 1;
                    return;
                }
                match local {
                    l if item.contains(&l) => {
                        open.pop();
                    }
                    "t" | "text" => in_text = in_text.saturating_sub(1),
                    _ => {}
                }
            }
            Ev::Text(s) => {
                if in_text > 0
                    && skip_depth == 0
                    && let Some((_, t)) = top.and_then(|i| out.get_mut(i))
                {
                    t.push_str(s);
                }
            }
        }
    })?;
    Ok(out
        .into_iter()
        .map(|(k, t)| (k, t.trim().to_string()))
        .filter(|(_, t)| !t.is_empty())
        .collect())
}

/// One part for the alt text found in a part: `alt text of shape 'Picture 3' on slide
/// 2`, or `alt text of 4 shapes on slide 2` (one line each). `place` follows the words
/// (` on slide 2`, or nothing).
pub(crate) fn alt_part(alt: &[(String, String)], place: &str) -> Option<WritePart> {
    let location = match alt {
        [] => return None,
        [(name, _)] if name.trim().is_empty() => format!("alt text of a shape{place}"),
        [(name, _)] => format!("alt text of shape '{}'{place}", name.trim()),
        many => format!("alt text of {} shapes{place}", many.len()),
    };
    let text = alt
        .iter()
        .map(|(_, t)| t.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    Some(WritePart::Text { location, text })
}

/// One part for a list of texts of one kind (comments, footnotes): `comment on slide
/// 1` for one, `comments on slide 1` for several, one line each.
pub(crate) fn list_part(one: &str, many: &str, texts: &[String]) -> Option<WritePart> {
    let location = match texts.len() {
        0 => return None,
        1 => one.to_string(),
        _ => many.to_string(),
    };
    Some(WritePart::Text {
        location,
        text: texts.join("\n"),
    })
}

/// The text of SmartArt data parts (`dgm:pt` text), by relationship id in the order
/// the drawing refers to them, one text per diagram. The drawing's cached rendering
/// (`dsp:`, in `diagrams/drawing*.xml`) repeats it and is not read.
pub(crate) fn smartart(
    archive: &mut Archive,
    kind: Kind,
    limits: &Limits,
    budget: &mut TextBudget,
    rels: &HashMap<String, (String, String)>,
    ids: &[String],
) -> Result<Vec<String>, Problem> {
    let mut out = Vec::new();
    for id in ids {
        let Some((_, target)) = rels.get(id) else {
            continue;
        };
        let Some(bytes) = archive.read(target)? else {
            continue;
        };
        let c = Collector::of(&bytes, target, kind, limits, budget, SKIP_DRAWING)?;
        let lines: Vec<&str> = c
            .paragraphs
            .iter()
            .map(|(_, t)| t.as_str())
            .filter(|t| !t.trim().is_empty())
            .collect();
        if !lines.is_empty() {
            out.push(lines.join("\n"));
        }
    }
    Ok(out)
}

/// The targets of `rels` whose type ends with `/suffix`, sorted so parts come out in the
/// same order every time.
pub(crate) fn targets_of(rels: &HashMap<String, (String, String)>, suffix: &str) -> Vec<String> {
    let mut out: Vec<String> = rels
        .values()
        .filter(|(ty, _)| {
            ty.rsplit_once('/')
                .is_some_and(|(_, last)| last.eq_ignore_ascii_case(suffix))
        })
        .map(|(_, t)| t.clone())
        .collect();
    out.sort_by_key(|a| natural(a));
    out.dedup();
    out
}

/// A sort key that puts `header2.xml` before `header10.xml`.
pub(crate) fn natural(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                out.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u64::MAX),
                ));
                digits.clear();
            }
            text.push(c.to_ascii_lowercase());
        }
    }
    out.push((text, digits.parse().unwrap_or(0)));
    out
}

/// The Purview label of an open OOXML archive.
pub(crate) fn purview(
    archive: &mut Archive,
    limits: &Limits,
) -> Result<Option<PurviewLabel>, Problem> {
    let kind = archive.kind();
    let mut budget = TextBudget::new(limits);
    // label guid -> (name, enabled)
    let mut labels: Vec<(String, Option<String>, Option<bool>)> = Vec::new();
    if let Some(bytes) = archive.read("docProps/custom.xml")? {
        let mut current: Option<String> = None;
        let mut value = String::new();
        walk(
            &bytes[..],
            "docProps/custom.xml",
            kind,
            limits,
            &mut budget,
            |ev| match ev {
                Ev::Open(e) if e.local_name().as_ref() == "property" => {
                    current = attr(e, "name");
                    value.clear();
                }
                Ev::Text(t) if current.is_some() => value.push_str(t),
                Ev::Close("property") => {
                    if let Some(name) = current.take() {
                        record_msip(&mut labels, &name, value.trim());
                    }
                }
                _ => {}
            },
        )?;
    }
    if labels.is_empty() {
        // Newer Office keeps the label in docMetadata/LabelInfo.xml, without its name.
        if let Some(bytes) = archive.read("docMetadata/LabelInfo.xml")? {
            walk(
                &bytes[..],
                "docMetadata/LabelInfo.xml",
                kind,
                limits,
                &mut budget,
                |ev| {
                    if let Ev::Open(e) = ev
                        && e.local_name().as_ref() == "label"
                        && let Some(id) = attr(e, "id")
                    {
                        let enabled = attr(e, "enabled").is_some_and(|v| truthy(&v))
                            && !attr(e, "removed").is_some_and(|v| truthy(&v));
                        labels.push((clean_guid(&id), None, Some(enabled)));
                    }
                },
            )?;
        }
    }
    Ok(pick_label(&labels))
}

/// The first enabled label, else the first one found.
fn pick_label(labels: &[(String, Option<String>, Option<bool>)]) -> Option<PurviewLabel> {
    let pick = labels
        .iter()
        .find(|(_, _, en)| *en == Some(true))
        .or_else(|| labels.first());
    pick.map(|(id, name, enabled)| PurviewLabel {
        id: id.clone(),
        name: name.clone().unwrap_or_else(|| id.clone()),
        enabled: enabled.unwrap_or(false),
    })
}

/// The Purview label among custom document properties as Office.js reports them
/// (`MSIP_Label_<guid>_Name`, `_Enabled`, ...): the same rules as for a file.
pub fn purview_from_properties<'a>(
    properties: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<PurviewLabel> {
    let mut labels = Vec::new();
    for (name, value) in properties {
        record_msip(&mut labels, name, value);
    }
    pick_label(&labels)
}

/// Records one `MSIP_Label_<guid>_<Field>` property.
fn record_msip(labels: &mut Vec<(String, Option<String>, Option<bool>)>, name: &str, value: &str) {
    let Some(rest) = name.strip_prefix("MSIP_Label_") else {
        return;
    };
    let Some((guid, field)) = rest.rsplit_once('_') else {
        return;
    };
    let guid = clean_guid(guid);
    let idx = match labels.iter().position(|(g, _, _)| *g == guid) {
        Some(i) => i,
        None => {
            labels.push((guid, None, None));
            labels.len() - 1
        }
    };
    let entry = &mut labels[idx];
    match field {
        "Name" => entry.1 = Some(value.to_string()),
        "Enabled" => entry.2 = Some(truthy(value)),
        _ => {}
    }
}

fn truthy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1")
}

fn clean_guid(s: &str) -> String {
    s.trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_against_the_part_folder() {
        assert_eq!(
            resolve_target("ppt/presentation.xml", "slides/slide1.xml"),
            "ppt/slides/slide1.xml"
        );
        assert_eq!(
            resolve_target("ppt/slides/slide1.xml", "../media/a.png"),
            "ppt/media/a.png"
        );
        assert_eq!(resolve_target("", "word/document.xml"), "word/document.xml");
        assert_eq!(
            resolve_target("ppt/presentation.xml", "/ppt/slides/slide2.xml"),
            "ppt/slides/slide2.xml"
        );
        assert_eq!(
            rels_path("ppt/presentation.xml"),
            "ppt/_rels/presentation.xml.rels"
        );
        assert_eq!(rels_path(""), "_rels/.rels");
    }
}

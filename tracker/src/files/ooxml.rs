//! PowerPoint and Word documents as write parts, and Purview labels of any OOXML file.

use std::collections::HashMap;
use std::path::Path;

use crate::model::WritePart;

use super::guard::Archive;
use super::xml::{Ev, TextBudget, attr, prefixed_attr, walk};
use super::{Kind, Limits, Problem, PurviewLabel};

const REL_OFFICE_DOCUMENT: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";

/// Reads a part that must exist.
fn required(archive: &mut Archive, kind: Kind, name: &str) -> Result<Vec<u8>, Problem> {
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
fn relationships(
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
struct Collector {
    /// Paragraphs outside tables, in order: (index counting every paragraph, text).
    paragraphs: Vec<(usize, String)>,
    paragraph_count: usize,
    tables: Vec<Vec<Vec<String>>>,
    /// Nesting of tables; text of a nested table goes into the enclosing top-level cell.
    table_depth: usize,
    in_text: bool,
    /// Skipped subtrees (deleted text, field instructions): depth inside them.
    skip_depth: usize,
    current: String,
    /// Relationship ids of charts (`c:chart r:id`), in document order.
    charts: Vec<String>,
    /// Paragraphs can nest (a text box inside a run of a paragraph): only the outermost
    /// one makes a part; inner ones become lines of it.
    para_depth: usize,
}

impl Collector {
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

    fn text(&mut self, s: &str) {
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

    fn feed(&mut self, ev: Ev<'_, '_>, skip: &[&str]) {
        match ev {
            Ev::Open(e) => {
                let local = e.local_name();
                if local.as_ref() == "chart"
                    && let Some(id) = prefixed_attr(e, "id")
                {
                    self.charts.push(id);
                }
                self.open(local.as_ref(), skip)
            }
            Ev::Close(l) => self.close(l),
            Ev::Text(t) => self.text(t),
        }
    }
}

/// Slides in presentation order; per slide one `Text` part (`slide N`) with every
/// paragraph outside tables, and one `Table` part per table (`slide N table K`).
pub(crate) fn pptx_parts(path: &Path, limits: &Limits) -> Result<Vec<WritePart>, Problem> {
    let kind = Kind::Pptx;
    let mut archive = Archive::open(path, kind, limits)?;
    let mut budget = TextBudget::new(limits);
    let presentation = main_part(
        &mut archive,
        kind,
        limits,
        &mut budget,
        "ppt/presentation.xml",
    )?;
    let pres = required(&mut archive, kind, &presentation)?;
    let rels = relationships(&mut archive, kind, limits, &mut budget, &presentation)?;
    let mut order = Vec::new();
    walk(&pres[..], &presentation, kind, limits, &mut budget, |ev| {
        if let Ev::Open(e) = ev
            && e.local_name().as_ref() == "sldId"
            && let Some(id) = prefixed_attr(e, "id")
        {
            order.push(id);
        }
    })?;
    let mut slides: Vec<String> = order
        .iter()
        .filter_map(|id| rels.get(id).map(|(_, target)| target.clone()))
        .collect();
    if slides.is_empty() {
        // No slide list (a stripped-down producer): fall back to slideN.xml by number.
        let mut found: Vec<(u32, String)> = archive
            .names()
            .into_iter()
            .filter_map(|n| {
                let num = n
                    .strip_prefix("ppt/slides/slide")?
                    .strip_suffix(".xml")?
                    .parse()
                    .ok()?;
                Some((num, n))
            })
            .collect();
        found.sort();
        slides = found.into_iter().map(|(_, n)| n).collect();
    }

    let mut parts = Vec::new();
    for (i, slide) in slides.iter().enumerate() {
        let n = i + 1;
        let Some(bytes) = archive.read(slide)? else {
            return Err(Problem::invalid(
                kind,
                format!("slide {n} refers to a missing part {slide}"),
            ));
        };
        let mut c = Collector::default();
        // Paragraph and run properties hold tab stops (`a:tab`), not text; `mc:Fallback`
        // repeats its `mc:Choice` for older readers.
        let skip = ["pPr", "rPr", "endParaRPr", "Fallback"];
        walk(&bytes[..], slide, kind, limits, &mut budget, |ev| {
            c.feed(ev, &skip)
        })?;
        let text = join_paragraphs(c.paragraphs.iter().map(|(_, t)| t.as_str()));
        if !text.is_empty() {
            parts.push(WritePart::Text {
                location: format!("slide {n}"),
                text,
            });
        }
        for (k, rows) in c.tables.into_iter().enumerate() {
            parts.push(WritePart::Table {
                location: format!("slide {n} table {}", k + 1),
                rows,
            });
        }
        let rels = relationships(&mut archive, kind, limits, &mut budget, slide)?;
        let charts = charts(&mut archive, kind, limits, &mut budget, &rels, &c.charts)?;
        for (k, rows) in charts.into_iter().enumerate() {
            parts.push(WritePart::Table {
                location: format!("slide {n} chart {}", k + 1),
                rows,
            });
        }
        // Speaker notes: text an agent may well have written too.
        let notes = rels
            .values()
            .find(|(ty, _)| ty.ends_with("/notesSlide"))
            .map(|(_, t)| t.clone());
        if let Some(notes) = notes
            && let Some(bytes) = archive.read(&notes)?
        {
            let mut c = Collector::default();
            // `a:fld` is the slide-number placeholder, not notes text.
            let skip = ["pPr", "rPr", "endParaRPr", "fld", "Fallback"];
            walk(&bytes[..], &notes, kind, limits, &mut budget, |ev| {
                c.feed(ev, &skip)
            })?;
            let text = join_paragraphs(c.paragraphs.iter().map(|(_, t)| t.as_str()));
            if !text.trim().is_empty() {
                parts.push(WritePart::Text {
                    location: format!("slide {n} notes"),
                    text,
                });
            }
        }
    }
    Ok(parts)
}

/// The data cached in the charts a part refers to (by relationship id, in order), each as
/// rows: categories first (`""`, then one per point), then one row per series (its
/// name, then its values). Charts pasted from Excel carry the numbers themselves.
fn charts(
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
fn join_paragraphs<'a>(paras: impl Iterator<Item = &'a str>) -> String {
    let joined: Vec<&str> = paras.collect();
    joined.join("\n").trim_matches('\n').to_string()
}

/// Body paragraphs of a Word document, one `Text` part per non-empty paragraph at
/// `paragraph N` (N counts every body paragraph outside tables, empty ones included, so a
/// location stays put when text around it changes), and one `Table` per top-level table
/// at `table K`. Deleted text (tracked changes) and field instructions are left out.
pub(crate) fn docx_parts(path: &Path, limits: &Limits) -> Result<Vec<WritePart>, Problem> {
    let kind = Kind::Docx;
    let mut archive = Archive::open(path, kind, limits)?;
    let mut budget = TextBudget::new(limits);
    let document = main_part(&mut archive, kind, limits, &mut budget, "word/document.xml")?;
    let bytes = required(&mut archive, kind, &document)?;
    let mut c = Collector::default();
    // `delText` is deleted text of tracked changes; `instrText` are field codes.
    // Paragraph and run properties hold tab stops (`w:tabs/w:tab`), not text;
    // `mc:Fallback` repeats its `mc:Choice` (text boxes as VML) for older readers.
    let skip = ["delText", "instrText", "del", "pPr", "rPr", "Fallback"];
    walk(&bytes[..], &document, kind, limits, &mut budget, |ev| {
        c.feed(ev, &skip)
    })?;
    let mut parts = Vec::new();
    for (n, text) in c.paragraphs {
        if !text.trim().is_empty() {
            parts.push(WritePart::Text {
                location: format!("paragraph {n}"),
                text,
            });
        }
    }
    for (k, rows) in c.tables.into_iter().enumerate() {
        parts.push(WritePart::Table {
            location: format!("table {}", k + 1),
            rows,
        });
    }
    let rels = if c.charts.is_empty() {
        HashMap::new()
    } else {
        relationships(&mut archive, kind, limits, &mut budget, &document)?
    };
    let charts = charts(&mut archive, kind, limits, &mut budget, &rels, &c.charts)?;
    for (k, rows) in charts.into_iter().enumerate() {
        parts.push(WritePart::Table {
            location: format!("chart {}", k + 1),
            rows,
        });
    }
    Ok(parts)
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

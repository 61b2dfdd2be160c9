//! The exact-string baseline and the report: the detector and the baseline run over a
//! corpus, per transformation class, with the real policy deciding every negative's flows.

use std::collections::{HashMap, HashSet};

use tracker::detect::Detector;
use tracker::model::{
    Action, CellAddr, CellValue, DocumentId, Flow, FlowStrength, ReadEvent, WriteContent, WritePart,
};
use tracker::policy::{AdminPolicy, UserChoices, decide_flow};

use crate::corpus::{Corpus, Truth};

/// Naive exact-string baseline: a written string (table cell, or word of text) equal to
/// some cell's displayed text or raw value string.
pub struct Baseline {
    map: HashMap<String, Vec<(DocumentId, String, CellAddr)>>,
}

impl Baseline {
    pub fn new(reads: &[ReadEvent]) -> Self {
        let mut map: HashMap<String, Vec<(DocumentId, String, CellAddr)>> = HashMap::new();
        for r in reads {
            for s in &r.sheets {
                for c in &s.cells {
                    let mut keys = Vec::new();
                    if let Some(t) = &c.text {
                        keys.push(t.trim().to_string());
                    }
                    match &c.value {
                        CellValue::Number(v) => keys.push(format!("{v}")),
                        CellValue::Text(t) => keys.push(t.trim().to_string()),
                        _ => {}
                    }
                    keys.sort();
                    keys.dedup();
                    for k in keys.into_iter().filter(|k| !k.is_empty()) {
                        map.entry(k).or_default().push((
                            r.document.id.clone(),
                            s.sheet.clone(),
                            c.addr,
                        ));
                    }
                }
            }
        }
        Baseline { map }
    }

    /// (doc, sheet) -> matched cells.
    pub fn check(&self, w: &WriteContent) -> HashMap<(DocumentId, String), HashSet<CellAddr>> {
        let mut out: HashMap<(DocumentId, String), HashSet<CellAddr>> = HashMap::new();
        let mut probe = |s: &str| {
            if let Some(v) = self.map.get(s) {
                for (d, sh, a) in v {
                    if *d != w.target.id {
                        out.entry((d.clone(), sh.clone())).or_default().insert(*a);
                    }
                }
            }
        };
        for p in &w.parts {
            match p {
                WritePart::Text { text, .. } => {
                    probe(text.trim());
                    for word in text.split_whitespace() {
                        probe(word.trim_matches(|c: char| ",.;:\"".contains(c)));
                    }
                }
                WritePart::Table { rows, .. } => {
                    for c in rows.iter().flatten() {
                        probe(c.trim());
                    }
                }
            }
        }
        out
    }
}

/// Per-class figures.
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub n: usize,
    pub hit_confirmed: usize,
    pub hit_any: usize,
    pub cell_acc_sum: f64,
    pub base_hit: usize,
    pub base_cell_acc_sum: f64,
}

impl Row {
    /// Confirmed recall: the share of targets whose every source was confirmed.
    pub fn recall(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.hit_confirmed as f64 / self.n as f64
        }
    }

    /// Mean cell attribution (Jaccard of the cells named and the cells copied) over the
    /// confirmed targets; 0 when none was confirmed.
    pub fn cell_accuracy(&self) -> f64 {
        if self.hit_confirmed == 0 {
            0.0
        } else {
            self.cell_acc_sum / self.hit_confirmed as f64
        }
    }
}

pub struct Report {
    pub classes: Vec<&'static str>,
    pub rows: Vec<Row>,
    pub negatives: usize,
    pub neg_confirmed: usize,
    pub neg_possible: usize,
    pub base_neg: usize,
    /// Negatives with a flow the policy would block: under the default policy, and under
    /// one that blocks every confirmed transfer (`flows.default` and `confidential` block).
    pub neg_blocked_default: usize,
    pub neg_blocked_strict: usize,
    pub indexed_cells: usize,
    pub check_micros: Vec<u128>,
}

fn jaccard(a: &HashSet<CellAddr>, b: &HashSet<CellAddr>) -> f64 {
    let inter = a.intersection(b).count() as f64;
    let uni = a.union(b).count() as f64;
    if uni == 0.0 { 0.0 } else { inter / uni }
}

pub fn evaluate(c: &Corpus) -> Report {
    let mut det = Detector::new();
    for r in &c.reads {
        det.add_read(r);
    }
    let base = Baseline::new(&c.reads);
    let mut rows = vec![Row::default(); c.classes.len()];
    let (mut negatives, mut neg_confirmed, mut neg_possible, mut base_neg) = (0, 0, 0, 0);
    let (default_policy, choices) = (AdminPolicy::default(), UserChoices::default());
    let strict_policy =
        AdminPolicy::parse(r#"{"flows": {"default": "block", "confidential": "block"}}"#)
            .unwrap_or_default();
    let blocks = |flows: &[Flow], policy: &AdminPolicy| {
        flows
            .iter()
            .any(|f| decide_flow(f, policy, &choices).action == Action::Block)
    };
    let (mut neg_blocked_default, mut neg_blocked_strict) = (0, 0);
    let mut times = Vec::new();
    for case in &c.cases {
        let t0 = std::time::Instant::now();
        let flows = det.check(&case.write);
        times.push(t0.elapsed().as_micros());
        let b = base.check(&case.write);
        match case.class {
            Some(class) if !case.truths.is_empty() => {
                let Some(row) = rows.get_mut(class) else {
                    continue;
                };
                row.n += 1;
                let truth: HashSet<CellAddr> = case
                    .truths
                    .iter()
                    .flat_map(|t| t.cells.iter().copied())
                    .collect();
                let from = |t: &Truth, f: &Flow| f.source.id == t.doc && f.sheet == t.sheet;
                let mine: Vec<&Flow> = flows
                    .iter()
                    .filter(|f| case.truths.iter().any(|t| from(t, f)))
                    .collect();
                // Found only when every source the write holds is confirmed.
                let confirmed = case.truths.iter().all(|t| {
                    flows
                        .iter()
                        .any(|f| from(t, f) && f.strength == FlowStrength::Confirmed)
                });
                if confirmed {
                    row.hit_confirmed += 1;
                    let got: HashSet<CellAddr> =
                        mine.iter().flat_map(|f| f.cells.iter().copied()).collect();
                    row.cell_acc_sum += jaccard(&got, &truth);
                }
                if !mine.is_empty() {
                    row.hit_any += 1;
                }
                // The baseline "finds" a sheet only if it matched a transferred cell (header
                // words like "EMEA" match every sheet of the domain and prove nothing).
                let mut base_cells: HashSet<CellAddr> = HashSet::new();
                let base_found = case.truths.iter().all(|t| {
                    match b
                        .get(&(t.doc.clone(), t.sheet.clone()))
                        .filter(|c| c.iter().any(|a| truth.contains(a)))
                    {
                        Some(cells) => {
                            base_cells.extend(cells.iter().copied());
                            true
                        }
                        None => false,
                    }
                });
                if base_found {
                    row.base_hit += 1;
                    row.base_cell_acc_sum += jaccard(&base_cells, &truth);
                }
            }
            _ => {
                negatives += 1;
                if flows.iter().any(|f| f.strength == FlowStrength::Confirmed) {
                    neg_confirmed += 1;
                } else if !flows.is_empty() {
                    neg_possible += 1;
                }
                if !b.is_empty() {
                    base_neg += 1;
                }
                neg_blocked_default += usize::from(blocks(&flows, &default_policy));
                neg_blocked_strict += usize::from(blocks(&flows, &strict_policy));
            }
        }
    }
    Report {
        classes: c.classes.clone(),
        rows,
        negatives,
        neg_confirmed,
        neg_possible,
        base_neg,
        neg_blocked_default,
        neg_blocked_strict,
        indexed_cells: det.len(),
        check_micros: times,
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |a: usize, n: usize| if n == 0 { 0.0 } else { a as f64 / n as f64 };
        writeln!(f, "indexed cells: {}", self.indexed_cells)?;
        writeln!(
            f,
            "{:<36} {:>4} | {:>9} {:>8} {:>8} | {:>9} {:>8}",
            "transformation", "n", "recall", "+possib.", "cells", "base rec.", "b.cells"
        )?;
        writeln!(f, "{}", "-".repeat(92))?;
        for (name, r) in self.classes.iter().zip(&self.rows) {
            let acc = if r.hit_confirmed == 0 {
                0.0
            } else {
                r.cell_acc_sum / r.hit_confirmed as f64
            };
            let bacc = if r.base_hit == 0 {
                0.0
            } else {
                r.base_cell_acc_sum / r.base_hit as f64
            };
            writeln!(
                f,
                "{:<36} {:>4} | {:>9.3} {:>8.3} {:>8.3} | {:>9.3} {:>8.3}",
                name,
                r.n,
                pct(r.hit_confirmed, r.n),
                pct(r.hit_any, r.n),
                acc,
                pct(r.base_hit, r.n),
                bacc
            )?;
        }
        writeln!(f, "{}", "-".repeat(92))?;
        writeln!(
            f,
            "negatives (unrelated decks, same domain): {}  confirmed FP rate {:.4} ({})  possible-only {:.4}  | baseline FP rate {:.4}",
            self.negatives,
            pct(self.neg_confirmed, self.negatives),
            self.neg_confirmed,
            pct(self.neg_possible, self.negatives),
            pct(self.base_neg, self.negatives)
        )?;
        writeln!(
            f,
            "negatives blocked: {} under the default policy; {} ({:.4}) under a policy blocking every confirmed transfer (possible flows never block)",
            self.neg_blocked_default,
            self.neg_blocked_strict,
            pct(self.neg_blocked_strict, self.negatives)
        )?;
        let mut t = self.check_micros.clone();
        t.sort_unstable();
        let q = |p: f64| {
            t.get(((t.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or(0)
        };
        writeln!(
            f,
            "check latency on this corpus: p50 {} us, p99 {} us, max {} us",
            q(0.5),
            q(0.99),
            q(1.0)
        )
    }
}

/// Confirmed recall per class against its goal: one line per class, "MISS" where below.
pub fn goals_table(report: &Report, goals: &[f64]) -> String {
    let mut out = format!(
        "{:<40} {:>4} {:>9} {:>6}\n",
        "class (confirmed recall vs goal)", "n", "recall", "goal"
    );
    for ((name, row), goal) in report.classes.iter().zip(&report.rows).zip(goals) {
        let recall = if row.n == 0 {
            0.0
        } else {
            row.hit_confirmed as f64 / row.n as f64
        };
        let verdict = if recall + 1e-9 >= *goal {
            "met"
        } else {
            "MISS"
        };
        out.push_str(&format!(
            "{name:<40} {:>4} {recall:>9.3} {goal:>6.2}  {verdict}\n",
            row.n
        ));
    }
    out
}

fn write_text(w: &WriteContent) -> String {
    let mut out = String::new();
    for p in &w.parts {
        match p {
            WritePart::Text { location, text } => {
                for line in text.lines() {
                    out.push_str(&format!("    [{location}] {line}\n"));
                }
            }
            WritePart::Table { location, rows } => {
                for r in rows {
                    out.push_str(&format!("    [{location}] | {} |\n", r.join(" | ")));
                }
            }
        }
    }
    out
}

fn cells_text(cells: &[CellAddr]) -> String {
    let mut v: Vec<String> = cells.iter().map(|c| c.to_a1()).collect();
    if v.len() > 24 {
        let more = v.len() - 24;
        v.truncate(24);
        v.push(format!("… +{more}"));
    }
    v.join(",")
}

/// The cases of `classes` the detector did not confirm, or confirmed naming cells that
/// overlap the truth less than `low_cells` (Jaccard; 0 shows misses only), at most `max`
/// per class; and the negatives it confirmed a flow on: each write's text, its truths and
/// the detector's flows, for reading why.
pub fn explain_misses(c: &Corpus, classes: &[usize], max: usize, low_cells: f64) -> String {
    let mut det = Detector::new();
    let mut names: HashMap<DocumentId, String> = HashMap::new();
    for r in &c.reads {
        det.add_read(r);
        names.insert(r.document.id.clone(), r.document.name.clone());
    }
    let name = |d: &DocumentId| names.get(d).cloned().unwrap_or_else(|| d.to_string());
    let mut out = String::new();
    let mut shown = vec![0usize; c.classes.len()];
    for (k, case) in c.cases.iter().enumerate() {
        let flows = det.check(&case.write);
        let label = match case.class {
            Some(class) => {
                if !classes.contains(&class) || shown[class] >= max {
                    continue;
                }
                let found = case.truths.iter().all(|t| {
                    flows.iter().any(|f| {
                        f.source.id == t.doc
                            && f.sheet == t.sheet
                            && f.strength == FlowStrength::Confirmed
                    })
                });
                let truth: HashSet<CellAddr> = case
                    .truths
                    .iter()
                    .flat_map(|t| t.cells.iter().copied())
                    .collect();
                let got: HashSet<CellAddr> = flows
                    .iter()
                    .filter(|f| {
                        case.truths
                            .iter()
                            .any(|t| f.source.id == t.doc && f.sheet == t.sheet)
                    })
                    .flat_map(|f| f.cells.iter().copied())
                    .collect();
                let acc = jaccard(&got, &truth);
                if found && acc >= low_cells {
                    continue;
                }
                shown[class] += 1;
                if found {
                    format!("{} (confirmed, cells {acc:.2})", c.classes[class])
                } else {
                    format!("{} (not confirmed)", c.classes[class])
                }
            }
            None => {
                if !flows.iter().any(|f| f.strength == FlowStrength::Confirmed) {
                    continue;
                }
                "negative (confirmed flow)".to_string()
            }
        };
        out.push_str(&format!(
            "--- case {k}: {label}, target {}\n",
            case.write.target.name
        ));
        out.push_str(&write_text(&case.write));
        for t in &case.truths {
            out.push_str(&format!(
                "  truth: {}!{} {}\n",
                name(&t.doc),
                t.sheet,
                cells_text(&t.cells)
            ));
        }
        if flows.is_empty() {
            out.push_str("  flows: none\n");
        }
        for f in &flows {
            out.push_str(&format!(
                "  flow: {:?} {}!{} confidence {:.3} matched {} cells {}\n",
                f.strength,
                f.source.name,
                f.sheet,
                f.confidence,
                f.matched,
                cells_text(&f.cells)
            ));
            if case.class.is_none() {
                // For a flow that should not be: what the matched cells hold, beside their
                // row's label and their column's header.
                for addr in &f.cells {
                    out.push_str(&format!(
                        "    {addr}: {}\n",
                        source_cell_text(c, &f.source.id, &f.sheet, *addr)
                    ));
                }
            }
        }
    }
    out
}

/// `value (row label / column header)` of a source cell, from the corpus's reads.
fn source_cell_text(c: &Corpus, doc: &DocumentId, sheet: &str, addr: CellAddr) -> String {
    let cells: Vec<&tracker::ReadCell> = c
        .reads
        .iter()
        .filter(|r| &r.document.id == doc)
        .flat_map(|r| r.sheets.iter().filter(|s| s.sheet == sheet))
        .flat_map(|s| s.cells.iter())
        .collect();
    let shown = |a: CellAddr| -> Option<String> {
        cells
            .iter()
            .find(|c| c.addr == a)
            .map(|c| c.text.clone().unwrap_or_else(|| format!("{:?}", c.value)))
    };
    let is_text = |a: CellAddr| {
        cells
            .iter()
            .any(|c| c.addr == a && matches!(c.value, tracker::CellValue::Text(_)))
    };
    let row_label = (0..addr.col)
        .rev()
        .map(|col| CellAddr::new(addr.row, col))
        .find(|a| is_text(*a))
        .and_then(shown);
    let header = (0..addr.row)
        .rev()
        .map(|row| CellAddr::new(row, addr.col))
        .find(|a| is_text(*a))
        .and_then(shown);
    format!(
        "{} ({} / {})",
        shown(addr).unwrap_or_else(|| "?".into()),
        row_label.unwrap_or_default(),
        header.unwrap_or_default()
    )
}

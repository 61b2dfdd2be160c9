//! Documents and workbooks embedded in a target: packages under `*/embeddings/` (a
//! workbook in a deck: `Microsoft_Excel_Worksheet.xlsx`; a deck or document) and OLE
//! objects (`oleObject1.bin`) holding an Office package (`Package` stream) or an xls
//! workbook. Each is read like a file of its own, its parts labelled with the object
//! and where inside it they are (`embedded Book1.xlsx on slide 2 > Sheet1!A1:B3`), down
//! to `Limits::max_embedding_depth`, all of it within the budgets of the file holding
//! it (the archives nest, see `guard`; text, XML elements and cells are counted by the
//! one `Reading`).
//!
//! An embedding that is damaged or of a kind not read is skipped and said so in
//! `Reading::skipped`: real documents carry equations, drawings and other objects that
//! are no reason to give up on the rest. An embedding over a budget is not skipped: the
//! budget is the file's, so the file is refused, as it would be over it on its own.

use std::collections::HashMap;

use crate::model::WritePart;

use super::cfb::{self, Compound};
use super::guard::{Archive, Held};
use super::reading::Reading;
use super::{Kind, Problem, docx, human_bytes, ooxml, pptx, workbook, xlsx};

/// What came of one embedded object.
enum Outcome {
    Read(Vec<WritePart>),
    /// Not a kind read here (an equation, a drawing, a legacy .doc), and what it is.
    NotRead(&'static str),
}

/// The parts of every object embedded in the package, in name order. `depth` is how
/// deep the package itself is (0 for the file); `placed` says where an embedding sits
/// (its part name in lower case -> `slide 2`), for its label.
pub(crate) fn parts(
    archive: &mut Archive,
    r: &mut Reading<'_>,
    depth: usize,
    placed: &HashMap<String, String>,
) -> Result<Vec<WritePart>, Problem> {
    let mut names: Vec<String> = archive
        .names()
        .into_iter()
        .filter(|n| !n.ends_with('/'))
        .filter(|n| {
            let lower = n.to_ascii_lowercase();
            lower.split('/').any(|seg| seg == "embeddings") || placed.contains_key(&lower)
        })
        .collect();
    names.sort_by_key(|n| ooxml::natural(n));
    let mut out = Vec::new();
    for name in names {
        let file = name.rsplit('/').next().unwrap_or(&name);
        let mut label = format!("embedded {file}");
        if let Some(on) = placed.get(&name.to_ascii_lowercase()) {
            label.push_str(" on ");
            label.push_str(on);
        }
        let max = r.limits.max_embedding_depth;
        if depth >= max {
            r.skipped.push(format!(
                "{label}: not read: embedded more than {max} levels deep"
            ));
            continue;
        }
        let Some(bytes) = archive.read(&name)? else {
            continue;
        };
        if bytes.len() as u64 > r.limits.max_file_bytes {
            return Err(within(
                &label,
                Problem::Refused(format!(
                    "it is {}, larger than the {} file limit",
                    human_bytes(bytes.len() as u64),
                    human_bytes(r.limits.max_file_bytes)
                )),
            ));
        }
        let before = r.skipped.len();
        let len = bytes.len();
        r.hold(len).map_err(|p| within(&label, p))?;
        let outcome = one(archive, bytes, file, r, depth + 1);
        r.release(len);
        for note in r.skipped.iter_mut().skip(before) {
            *note = format!("{label} > {note}");
        }
        match outcome {
            Ok(Outcome::Read(parts)) => out.extend(parts.into_iter().map(|p| inside(p, &label))),
            Ok(Outcome::NotRead(what)) => r.skipped.push(format!("{label}: not read: {what}")),
            Err(p @ (Problem::Invalid { .. } | Problem::Unsupported { .. })) => {
                r.skipped.push(format!("{label}: {p}"));
            }
            Err(Problem::NoSuchSheet { .. }) => {
                r.skipped
                    .push(format!("{label}: not read: it has no sheets"));
            }
            Err(p) => return Err(within(&label, p)),
        }
    }
    Ok(out)
}

/// A problem inside an embedded object, saying which: a refusal names the object
/// (`embedded a.docx > embedded b.xlsx: ...`); a stopped read is just that.
fn within(label: &str, p: Problem) -> Problem {
    match p {
        Problem::Refused(why) if why.starts_with("embedded ") => {
            Problem::Refused(format!("{label} > {why}"))
        }
        Problem::Refused(why) => Problem::Refused(format!("{label}: {why}")),
        other => other,
    }
}

/// A part of an embedded object, labelled with where the object is.
fn inside(part: WritePart, label: &str) -> WritePart {
    match part {
        WritePart::Text { location, text } => WritePart::Text {
            location: format!("{label} > {location}"),
            text,
        },
        WritePart::Table { location, rows } => WritePart::Table {
            location: format!("{label} > {location}"),
            rows,
        },
    }
}

/// The kind a file name promises, when it names an Office package.
fn kind_by_name(file: &str) -> Option<Kind> {
    let ext = file.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "xlsx" => Some(Kind::Xlsx),
        "xlsm" => Some(Kind::Xlsm),
        "docx" | "docm" => Some(Kind::Docx),
        "pptx" | "pptm" => Some(Kind::Pptx),
        _ => None,
    }
}

fn one(
    archive: &Archive,
    bytes: Vec<u8>,
    file: &str,
    r: &mut Reading<'_>,
    depth: usize,
) -> Result<Outcome, Problem> {
    if bytes.starts_with(b"PK") {
        return package(archive, Held::new(bytes), kind_by_name(file), r, depth);
    }
    if !cfb::is_compound(&bytes) {
        return Ok(Outcome::NotRead(
            "neither an Office package nor an OLE compound file",
        ));
    }
    let compound = Compound::open(&bytes, "OLE object")?;
    if let Some(inner) = compound.stream(&["Package"])? {
        drop(compound);
        drop(bytes);
        // Held on top of the object it came from, which the caller still counts: an
        // overestimate, on the safe side.
        let len = inner.len();
        r.hold(len)?;
        let outcome = package(archive, Held::new(inner), None, r, depth);
        r.release(len);
        return outcome;
    }
    if compound.has_stream(cfb::WORKBOOK_STREAMS) {
        let found = workbook::read_embedded_xls(bytes, &r.workbook_limits())?;
        return Ok(Outcome::Read(r.tables(&found.sheets)?));
    }
    Ok(Outcome::NotRead(
        if compound.has_stream(&["WordDocument"]) {
            "a Word 97-2003 document"
        } else if compound.has_stream(&["PowerPoint Document"]) {
            "a PowerPoint 97-2003 presentation"
        } else {
            "an OLE object holding no workbook or Office package"
        },
    ))
}

/// An Office package held in memory: a workbook, a document or a presentation, by its
/// main part. `named` is what its file name promised, when it did.
fn package(
    archive: &Archive,
    bytes: Held,
    named: Option<Kind>,
    r: &mut Reading<'_>,
    depth: usize,
) -> Result<Outcome, Problem> {
    let as_named = named.unwrap_or(Kind::Docx);
    // Without a name saying what it is, a damaged package is just that.
    let say = |p: Problem| match (p, named) {
        (Problem::Invalid { detail, .. }, None) => Problem::Invalid {
            kind: "Office package",
            detail,
        },
        (p, _) => p,
    };
    let mut child = archive.nested(bytes.clone(), as_named).map_err(say)?;
    let main = ooxml::main_part(&mut child, as_named, r.limits, &mut r.budget, "")
        .map_err(say)?
        .to_ascii_lowercase();
    let is = |conventional: &str, suffix: &str| {
        if main.is_empty() {
            child.has(conventional)
        } else {
            main.ends_with(suffix)
        }
    };
    let kind = if is("xl/workbook.xml", "workbook.xml") {
        match named {
            Some(Kind::Xlsm) => Kind::Xlsm,
            _ => Kind::Xlsx,
        }
    } else if is("ppt/presentation.xml", "presentation.xml") {
        Kind::Pptx
    } else if is("word/document.xml", "document.xml") && !main.starts_with("visio/") {
        Kind::Docx
    } else if main.ends_with("workbook.bin") {
        return Ok(Outcome::NotRead("a binary workbook (xlsb)"));
    } else {
        return Ok(Outcome::NotRead(
            "a package that is not a workbook, document or presentation",
        ));
    };
    let mut child = child.with_kind(kind);
    let parts = match kind {
        Kind::Pptx => pptx::read(&mut child, r, depth)?,
        Kind::Docx => docx::read(&mut child, r, depth)?,
        _ => {
            let found = workbook::read_embedded_xlsx(&mut child, bytes, &r.workbook_limits())?;
            let mut parts = r.tables(&found.sheets)?;
            parts.extend(xlsx::extras(&mut child, r, depth)?);
            parts
        }
    };
    Ok(Outcome::Read(parts))
}

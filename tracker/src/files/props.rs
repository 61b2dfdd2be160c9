//! Document properties as a part: what someone typed into File > Info (title, subject,
//! keywords, comments, company) and every custom property's value. An agent can put
//! data there as easily as on a slide, and nothing on screen shows it.

use std::collections::HashMap;

use crate::model::WritePart;

use super::Problem;
use super::guard::Archive;
use super::ooxml;
use super::reading::Reading;
use super::xml::{Ev, attr, walk};

/// Core properties that are free text. Dates, the revision number and the like are
/// left out: they are the file's bookkeeping, and numbers there would only match by
/// chance.
const CORE: &[&str] = &[
    "title",
    "subject",
    "creator",
    "keywords",
    "description",
    "lastModifiedBy",
    "category",
    "contentStatus",
];

/// Extended (app.xml) properties that are free text; the rest are statistics (pages,
/// words), the application's name and version, and lists of slide titles and sheet
/// names already read where they are.
const APP: &[&str] = &["Manager", "Company", "HyperlinkBase"];

/// `document properties`: one line per property with text, `name: value`, core then
/// extended then custom properties, each in the order the file has them. Purview's
/// `MSIP_Label_*` custom properties are the file's label, read as such, not content.
pub(crate) fn part(
    archive: &mut Archive,
    r: &mut Reading<'_>,
) -> Result<Option<WritePart>, Problem> {
    let kind = archive.kind();
    let rels = ooxml::relationships(archive, kind, r.limits, &mut r.budget, "")?;
    let find = |rels: &HashMap<String, (String, String)>, suffix: &str, conventional: &str| {
        ooxml::targets_of(rels, suffix)
            .into_iter()
            .next()
            .unwrap_or_else(|| conventional.to_string())
    };
    let core = find(&rels, "core-properties", "docProps/core.xml");
    let app = find(&rels, "extended-properties", "docProps/app.xml");
    let custom = find(&rels, "custom-properties", "docProps/custom.xml");
    let mut lines = Vec::new();
    for (part, wanted) in [(core, CORE), (app, APP)] {
        let Some(bytes) = archive.read(&part)? else {
            continue;
        };
        // Properties are children of the root: depth 2.
        let mut depth = 0usize;
        let mut current: Option<(String, String)> = None;
        walk(
            &bytes[..],
            &part,
            kind,
            r.limits,
            &mut r.budget,
            |ev| match ev {
                Ev::Open(e) => {
                    depth += 1;
                    let local = e.local_name();
                    let local: &str = local.as_ref();
                    if depth == 2 && wanted.contains(&local) {
                        current = Some((local.to_string(), String::new()));
                    }
                }
                Ev::Text(t) => {
                    if let Some((_, v)) = current.as_mut() {
                        v.push_str(t);
                    }
                }
                Ev::Close(_) => {
                    if depth == 2
                        && let Some((name, value)) = current.take()
                        && !value.trim().is_empty()
                    {
                        lines.push(format!("{name}: {}", value.trim()));
                    }
                    depth = depth.saturating_sub(1);
                }
            },
        )?;
    }
    if let Some(bytes) = archive.read(&custom)? {
        let mut current: Option<(String, String)> = None;
        walk(
            &bytes[..],
            &custom,
            kind,
            r.limits,
            &mut r.budget,
            |ev| match ev {
                Ev::Open(e) if e.local_name().as_ref() == "property" => {
                    current = attr(e, "name").map(|n| (n, String::new()));
                }
                Ev::Text(t) => {
                    if let Some((_, v)) = current.as_mut() {
                        v.push_str(t);
                    }
                }
                Ev::Close("property") => {
                    if let Some((name, value)) = current.take()
                        && !name.starts_with("MSIP_Label_")
                        && !value.trim().is_empty()
                    {
                        lines.push(format!("{name}: {}", value.trim()));
                    }
                }
                _ => {}
            },
        )?;
    }
    Ok((!lines.is_empty()).then(|| WritePart::Text {
        location: "document properties".to_string(),
        text: lines.join("\n"),
    }))
}

//! A small, bounded XML walker over quick-xml: element starts and ends with local names,
//! and text with the predefined and numeric entities resolved. It never recurses (deep
//! nesting cannot overflow the stack) and it refuses documents nested deeper than
//! `max_xml_depth` or carrying more text than the shared [`TextBudget`]. DTD entities are
//! never expanded (quick-xml does not), so "billion laughs" documents are inert.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use super::{Kind, Limits, Problem};

/// Characters of text still allowed from one file.
pub(crate) struct TextBudget {
    left: usize,
    limit: usize,
}

impl TextBudget {
    pub(crate) fn new(limits: &Limits) -> Self {
        TextBudget {
            left: limits.max_text_chars,
            limit: limits.max_text_chars,
        }
    }

    /// Counts `n` characters against the budget.
    pub(crate) fn spend(&mut self, n: usize) -> Result<(), Problem> {
        match self.left.checked_sub(n) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(Problem::Refused(format!(
                "the file holds more than {} characters of text",
                self.limit
            ))),
        }
    }
}

pub(crate) enum Ev<'a, 'b> {
    /// An element opened (an empty element gives `Open` then `Close`).
    Open(&'b BytesStart<'a>),
    Close(&'b str),
    Text(&'b str),
}

/// Walks `bytes` (one part of an archive, named `part` in errors), calling `f` for each
/// element and text event.
pub(crate) fn walk(
    bytes: &[u8],
    part: &str,
    kind: Kind,
    limits: &Limits,
    budget: &mut TextBudget,
    mut f: impl FnMut(Ev<'_, '_>),
) -> Result<(), Problem> {
    let mut reader = Reader::from_reader(bytes);
    // Mismatched end tags are an error rather than silently accepted.
    reader.config_mut().check_end_names = true;
    let mut depth: usize = 0;
    loop {
        let event = reader.read_event().map_err(|e| {
            Problem::invalid(
                kind,
                format!("{part}: XML error at byte {}: {e}", reader.error_position()),
            )
        })?;
        match event {
            Event::Start(e) => {
                depth += 1;
                if depth > limits.max_xml_depth {
                    return Err(Problem::Refused(format!(
                        "{part} nests XML elements deeper than {}",
                        limits.max_xml_depth
                    )));
                }
                f(Ev::Open(&e));
            }
            Event::Empty(e) => {
                if depth + 1 > limits.max_xml_depth {
                    return Err(Problem::Refused(format!(
                        "{part} nests XML elements deeper than {}",
                        limits.max_xml_depth
                    )));
                }
                f(Ev::Open(&e));
                let local = e.local_name();
                f(Ev::Close(local.as_ref()));
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                let local = e.local_name();
                f(Ev::Close(local.as_ref()));
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                budget.spend(s.chars().count())?;
                f(Ev::Text(&s));
            }
            Event::CData(t) => {
                let s: &str = t.as_ref();
                budget.spend(s.chars().count())?;
                f(Ev::Text(s));
            }
            Event::GeneralRef(r) => {
                if let Some(s) = resolve_ref(&r) {
                    budget.spend(1)?;
                    f(Ev::Text(&s));
                }
            }
            Event::Eof => {
                if depth > 0 {
                    return Err(Problem::invalid(
                        kind,
                        format!("{part}: XML ends before its elements are closed (truncated?)"),
                    ));
                }
                return Ok(());
            }
            _ => {}
        }
    }
}

/// `&amp;` and friends, `&#233;` and `&#xE9;`; other (DTD-defined) entities are dropped.
fn resolve_ref(r: &BytesRef<'_>) -> Option<Cow<'static, str>> {
    if r.is_char_ref() {
        return r
            .resolve_char_ref()
            .ok()
            .flatten()
            .map(|c| Cow::Owned(c.to_string()));
    }
    let name = r.clone().into_inner();
    quick_xml::escape::resolve_predefined_entity(&name).map(Cow::Borrowed)
}

/// The value of attribute `key` (the qualified name as written, e.g. `r:id` or `name`),
/// with entities resolved.
pub(crate) fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        if a.key.as_ref() == key {
            Some(
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .unwrap_or_else(|_| a.value.clone().into_owned()),
            )
        } else {
            None
        }
    })
}

/// The value of the first attribute whose local name is `local` and which has a namespace
/// prefix (`r:id`, `x:id`): relationship ids, whatever prefix the producer chose.
pub(crate) fn prefixed_attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        let key = a.key.as_ref();
        match key.split_once(':') {
            Some((_, l)) if l == local => Some(a.value.clone().into_owned()),
            _ => None,
        }
    })
}

//! A small, bounded XML walker over quick-xml: element starts and ends with local names,
//! and text with the predefined and numeric entities resolved. It never recurses (deep
//! nesting cannot overflow the stack) and it refuses documents nested deeper than
//! `max_xml_depth` or carrying more text or elements than the shared [`TextBudget`]. DTD
//! entities are never expanded (quick-xml does not), so "billion laughs" documents are
//! inert. It reads from any `BufRead` (a part in memory, or streamed out of the zip), and
//! checks the read's [`ReadControl`](super::ReadControl) every few thousand events.

use std::borrow::Cow;

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use super::{Kind, Limits, Problem};

/// Characters of text and XML elements still allowed from one file.
pub(crate) struct TextBudget {
    left: usize,
    limit: usize,
    nodes_left: u64,
    node_limit: u64,
}

impl TextBudget {
    pub(crate) fn new(limits: &Limits) -> Self {
        TextBudget {
            left: limits.max_text_chars,
            limit: limits.max_text_chars,
            nodes_left: limits.max_xml_nodes,
            node_limit: limits.max_xml_nodes,
        }
    }

    /// A budget for a pass that only counts (it keeps nothing per element, so elements
    /// cost no memory): text is still bounded, elements are not.
    pub(crate) fn counting(limits: &Limits) -> Self {
        TextBudget {
            nodes_left: u64::MAX,
            node_limit: u64::MAX,
            ..TextBudget::new(limits)
        }
    }

    /// No budget: for passes that keep nothing of the document (counting sheets, cells
    /// or strings), whose cost is the walk itself, linear in the part.
    pub(crate) fn unbounded() -> Self {
        TextBudget {
            left: usize::MAX,
            limit: usize::MAX,
            nodes_left: u64::MAX,
            node_limit: u64::MAX,
        }
    }

    /// Characters of text still allowed.
    pub(crate) fn left(&self) -> usize {
        self.left
    }

    /// Counts one element against the budget.
    fn node(&mut self) -> Result<(), Problem> {
        match self.nodes_left.checked_sub(1) {
            Some(left) => {
                self.nodes_left = left;
                Ok(())
            }
            None => Err(Problem::Refused(format!(
                "the file has more than {} XML elements",
                self.node_limit
            ))),
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

/// Events between checks of the read's control: a check costs a clock read, a few
/// thousand events take well under a millisecond.
const CHECK_EVERY: u32 = 4096;

/// Walks `bytes` (one part of an archive, named `part` in errors), calling `f` for each
/// element and text event.
pub(crate) fn walk(
    bytes: impl BufRead,
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
    let mut buf = Vec::new();
    let mut tick: u32 = 0;
    loop {
        tick = tick.wrapping_add(1);
        if tick.is_multiple_of(CHECK_EVERY) {
            limits.control.check()?;
        }
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(e) => return Err(read_error(&e, reader.error_position(), kind, part, limits)),
        };
        match event {
            Event::Start(e) => {
                budget.node()?;
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
                budget.node()?;
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

/// Counts the elements of `part` whose local name is one of `names`, stopping as soon as
/// the count passes `stop_after`: a pass that keeps nothing, so it needs no depth or text
/// bound, only the read's control. Returns the count (at most `stop_after + 1`).
pub(crate) fn count(
    bytes: impl BufRead,
    part: &str,
    kind: Kind,
    limits: &Limits,
    names: &[&str],
    stop_after: u64,
) -> Result<u64, Problem> {
    let mut reader = Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut found: u64 = 0;
    let mut tick: u32 = 0;
    loop {
        tick = tick.wrapping_add(1);
        if tick.is_multiple_of(CHECK_EVERY) {
            limits.control.check()?;
        }
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let local = e.local_name();
                if names.contains(&local.as_ref()) {
                    found += 1;
                    if found > stop_after {
                        return Ok(found);
                    }
                }
            }
            Ok(Event::Eof) => return Ok(found),
            Ok(_) => {}
            Err(e) => return Err(read_error(&e, reader.error_position(), kind, part, limits)),
        }
    }
}

/// `&amp;` and friends, `&#233;` and `&#xE9;`; other (DTD-defined) entities are dropped.
/// Why reading `part` failed at `position`. A stopped or over-budget stream surfaces as
/// an I/O error: say why it stopped, not that the XML is broken.
fn read_error(
    e: &quick_xml::Error,
    position: u64,
    kind: Kind,
    part: &str,
    limits: &Limits,
) -> Problem {
    if let Err(stopped) = limits.control.check() {
        return stopped;
    }
    if let quick_xml::Error::Io(io) = e
        && let Some(p) = super::guard::stop_reason(io)
    {
        return p;
    }
    Problem::invalid(kind, format!("{part}: XML error at byte {position}: {e}"))
}

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

//! What a finding shows of the text: a short excerpt around the evidence, so the agent and
//! the person see why it was flagged without a whole cell or slide being repeated. It is
//! cut on character boundaries, with whitespace and control characters folded so that it
//! reads as one line in a tool result or an event.

/// Longest excerpt, in characters.
const EXCERPT_CHARS: usize = 120;
/// Characters of context kept before the finding in an excerpt.
const EXCERPT_LEAD: usize = 30;

/// Up to 120 characters of `text` from a little before byte `at`, whitespace (and control
/// characters) folded to single spaces, `…` where it was cut.
pub(super) fn excerpt(text: &str, at: usize) -> String {
    let at = at.min(text.len());
    // Back up EXCERPT_LEAD characters, then forward to a word start when one is close.
    let mut start = text[..at]
        .char_indices()
        .rev()
        .nth(EXCERPT_LEAD - 1)
        .map(|(i, _)| i)
        .unwrap_or(0);
    if start > 0
        && let Some(sp) = text[start..at].find(char::is_whitespace)
    {
        start += sp;
    }
    let mut out: Vec<char> = Vec::with_capacity(EXCERPT_CHARS + 1);
    if start > 0 {
        out.push('…');
    }
    let mut pending_space = false;
    for c in text[start..].chars() {
        if out.len() > EXCERPT_CHARS {
            break;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty() && out.last() != Some(&'…');
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    if out.len() > EXCERPT_CHARS {
        out.truncate(EXCERPT_CHARS - 1);
        while out.last() == Some(&' ') {
            out.pop();
        }
        out.push('…');
    }
    out.into_iter().collect()
}

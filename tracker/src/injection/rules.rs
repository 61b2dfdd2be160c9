//! The rules: which signals a normalised text shows, and whether they are enough to flag.
//!
//! A strong signal (overriding instructions, chat-template tokens, hiding things from the
//! user, naming the tools, exfiltration, addressing the agent) flags on its own; the first
//! found, in a fixed order, gives the reason. Weak signals are phrasings that ordinary
//! business text uses too ("act as", "System:", "send ... to accounts@..."), so each only
//! counts towards a threshold with others. The module documentation of `injection` lists
//! both with examples; the phrases themselves are in `phrases`.

use super::normalise::{ADDR, Norm};
use super::phrases::*;
use super::*;

/// Weak signals flag when their distinct weights add up to this.
const THRESHOLD: u8 = 4;

/// A signal: the `lower` offset where it was found.
type Check<'a> = &'a dyn Fn() -> Option<usize>;

/// The first strong signal: (reason, `lower` offset). `tools` are the caller's tool names,
/// normalised like the text (see [`InjectionCheck::new`]).
pub(super) fn strong(
    n: &Norm,
    tools: &[memchr::memmem::Finder<'static>],
) -> Option<(&'static str, usize)> {
    let checks: [(&'static str, Check<'_>); 7] = [
        (REASON_OVERRIDE, &|| {
            n.seq(OVERRIDE)
                .or_else(|| n.seq(OVERRIDE_AFTER))
                .or_else(|| n.seq(OVERRIDE_FOLLOW))
        }),
        (REASON_CHAT_TOKENS, &|| chat_tokens(n)),
        (REASON_SYSTEM_PROMPT, &|| n.any_phrase(SYSTEM_PROMPT)),
        (REASON_COVERT, &|| {
            n.seq(COVERT_TELL)
                .or_else(|| n.seq(COVERT_LET))
                .or_else(|| n.any_phrase(COVERT_PHRASES))
        }),
        (REASON_TOOLS, &|| {
            tools
                .iter()
                .filter_map(|t| t.find(n.lower.as_bytes()))
                .min()
        }),
        (REASON_EXFIL, &|| {
            n.phrase("exfiltrate")
                .or_else(|| n.phrase("exfiltrating"))
                .or_else(|| send_to_address(n, true))
        }),
        (REASON_ADDRESS, &|| {
            n.any_phrase(ADDRESS_PHRASES)
                .or_else(|| n.seq(READING_THIS))
                .or_else(|| vocative(n))
        }),
    ];
    checks
        .iter()
        .find_map(|(reason, check)| check().map(|at| (*reason, at)))
}

/// Chat-template tokens, looked for with whitespace removed (`[ INST ]`, `### Instruction:`).
fn chat_tokens(n: &Norm) -> Option<usize> {
    if !n.lower.contains(['<', '[', '#']) {
        return None;
    }
    let compact: String = n.lower.chars().filter(|c| !c.is_whitespace()).collect();
    let at = CHAT_TOKENS.iter().filter_map(|t| compact.find(t)).min()?;
    // Back to an offset in `lower`: the first non-whitespace byte past `at` of them.
    let mut seen = 0;
    for (i, c) in n.lower.char_indices() {
        if c.is_whitespace() {
            continue;
        }
        if seen >= at {
            return Some(i);
        }
        seen += c.len_utf8();
    }
    Some(n.lower.len())
}

/// A send verb, then (when `secrets`) credentials or whole-document contents within ten
/// words, then `to`/`at`/`via` and a URL or e-mail address.
fn send_to_address(n: &Norm, secrets: bool) -> Option<usize> {
    if !SEND_VERBS.iter().any(|v| n.may_hold(v)) {
        return None;
    }
    for i in 0..n.words.len() {
        if !SEND_VERBS.contains(&n.word(i)) {
            continue;
        }
        let mut after = i + 1;
        if secrets {
            let found = (i + 1..=(i + 10).min(n.words.len())).find_map(|j| {
                SECRETS
                    .iter()
                    .find(|s| n.words_at(j, s))
                    .map(|s| j + s.len())
            });
            match found {
                Some(end) => after = end,
                None => continue,
            }
        }
        let limit = (i + 24).min(n.words.len());
        let mut saw_to = false;
        for k in after..limit {
            let w = n.word(k);
            if w == ADDR && saw_to {
                return Some(n.words[i].lower_start);
            }
            saw_to |= TO_WORDS.contains(&w);
        }
    }
    None
}

/// A line opening with an AI's name, then `,` or `:`, then an order word.
fn vocative(n: &Norm) -> Option<usize> {
    for (at, line) in n.lines() {
        let trimmed = line.trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, '*' | '>' | '-' | '_' | '•' | '@')
        });
        let lead = line.len() - trimmed.len();
        let Some(p) = trimmed.find([',', ':']).filter(|&p| p <= 24) else {
            continue;
        };
        let name: String = trimmed[..p]
            .trim_end_matches(['*', ' '])
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !VOCATIVE_NAMES.contains(&name.as_str()) {
            continue;
        }
        let next: &str = trimmed[p + 1..]
            .trim_start_matches(|c: char| !c.is_alphanumeric())
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or("");
        if VOCATIVE_NEXT.contains(&next) {
            return Some(at + lead);
        }
    }
    None
}

/// Weak signals together: (reason, `lower` offset) when their weights reach the threshold.
pub(super) fn weak(n: &Norm) -> Option<(&'static str, usize)> {
    let checks: [(&'static str, u8, Check<'_>); 10] = [
        (REASON_EXFIL, 2, &|| send_to_address(n, false)),
        (REASON_COVERT, 2, &|| n.any_phrase(QUIET)),
        (REASON_TOOLS, 2, &|| n.any_phrase(CALL_TOOL)),
        (REASON_ROLE, 2, &|| n.any_phrase(ROLE_CHANGE)),
        (REASON_JAILBREAK, 2, &|| n.any_phrase(JAILBREAK)),
        (REASON_NEW_INSTRUCTIONS, 2, &|| new_instructions(n)),
        (REASON_ROLE_MARKERS, 2, &|| role_marker(n)),
        (REASON_ADDRESS, 2, &|| n.any_phrase(AI_NAMES)),
        (REASON_SECRETS, 1, &|| {
            let maybe: Vec<&[&str]> = SECRETS
                .iter()
                .filter(|s| s.first().is_some_and(|w| n.may_hold(w)))
                .copied()
                .collect();
            if maybe.is_empty() {
                return None;
            }
            (0..n.words.len())
                .find(|&i| maybe.iter().any(|s| n.words_at(i, s)))
                .map(|i| n.words[i].lower_start)
        }),
        (REASON_ORDERS, 1, &|| n.any_phrase(ORDERS)),
    ];
    let mut total = 0;
    let mut first: Option<(&'static str, usize)> = None;
    for (reason, weight, check) in checks {
        if let Some(at) = check() {
            total += weight;
            first.get_or_insert((reason, at));
        }
    }
    first.filter(|_| total >= THRESHOLD)
}

/// `new instructions:` (the colon is what makes it a header rather than a topic).
fn new_instructions(n: &Norm) -> Option<usize> {
    NEW_INSTRUCTIONS
        .iter()
        .filter_map(|p| {
            let i = n.phrase_word(p)?;
            let last = n.words[i + p.split(' ').count() - 1];
            n.lower[last.lower_end..]
                .trim_start()
                .starts_with(':')
                .then_some(n.words[i].lower_start)
        })
        .min()
}

/// A line that opens with a chat role and a colon: `System:`, `**Assistant:**`.
fn role_marker(n: &Norm) -> Option<usize> {
    n.lines().find_map(|(at, line)| {
        let trimmed = line.trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, '*' | '>' | '-' | '_' | '•' | '#' | '[' | '<')
        });
        let p = trimmed.find(':').filter(|&p| p <= 16)?;
        let head = trimmed[..p].trim_end_matches(['*', ' ', ']', '>']);
        ROLE_MARKERS
            .contains(&head)
            .then_some(at + line.len() - trimmed.len())
    })
}

//! Normalising a text once before any rule looks at it, and finding phrases in the result.
//!
//! Attacks are copy-pasted with odd spacing, capitals, zero-width characters and
//! full-width letters; business text is full of punctuation. Folding all of that away once
//! (lowercase, invisible characters dropped, full-width ASCII and look-alike letters mapped, URLs and e-mail
//! addresses replaced by one placeholder word, every other non-alphanumeric character a
//! word break) lets the rules be plain word sequences and keeps the work linear in the
//! text. Offsets are kept so that a finding can point back into the original text.

/// The word that stands for a URL or e-mail address after normalisation.
pub(super) const ADDR: &str = "@addr";

/// One text, normalised: `lower` is the text lowercased with invisible characters removed
/// and full-width ASCII mapped; `folded` is its words separated by single spaces (with a
/// space at both ends, so a phrase match can check word boundaries).
pub(super) struct Norm {
    pub(super) lower: String,
    folded: String,
    pub(super) words: Vec<Word>,
    /// A Bloom filter of the words (one bit per word): a phrase or sequence whose first
    /// word is not in it is not searched for. Most text read is ordinary business text
    /// holding none of the rules' words, and searching it for each of some 300 phrases
    /// was about 5 us a cell label, 13 us a document name, 12 ms a 1,000-cell sheet of
    /// labels, in every read.
    seen: WordBloom,
}

/// A set of words, by one bit of a 256-bit filter each, and the lengths of the words
/// (checked first: cheaper than hashing): no false "absent".
#[derive(Clone, Copy, Default)]
struct WordBloom([u64; 4], u64);

impl WordBloom {
    fn length_bit(word: &str) -> u64 {
        1 << word.len().min(63)
    }

    fn bit(word: &str) -> (usize, u64) {
        // FNV-1a: the words are short, so a simple byte loop beats a general hasher.
        let mut h: u32 = 0x811C_9DC5;
        for b in word.bytes() {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        let h = h ^ (h >> 16);
        (((h >> 6) & 3) as usize, 1 << (h & 63))
    }

    fn insert(&mut self, word: &str) {
        self.1 |= Self::length_bit(word);
        let (i, bit) = Self::bit(word);
        if let Some(w) = self.0.get_mut(i) {
            *w |= bit;
        }
    }

    fn may_hold(&self, word: &str) -> bool {
        if self.1 & Self::length_bit(word) == 0 {
            return false;
        }
        let (i, bit) = Self::bit(word);
        self.0.get(i).is_some_and(|w| w & bit != 0)
    }
}

#[derive(Clone, Copy)]
pub(super) struct Word {
    /// Byte range in `folded`.
    start: usize,
    end: usize,
    /// Byte offsets in `lower`.
    pub(super) lower_start: usize,
    pub(super) lower_end: usize,
}

/// Characters that render as nothing: every format character (Unicode category Cf, as of
/// Unicode 15: soft hyphen, zero-width spaces and joiners, bidirectional controls, the
/// invisible operators U+2061..U+2064, tag characters U+E0020..U+E007F ...), plus the
/// invisible characters of other categories that attacks use the same way (variation
/// selectors, the combining grapheme joiner, Hangul fillers). Any of them inside a word
/// splits it for a matcher and not for a reader, so all are dropped before matching.
pub(super) fn invisible(c: char) -> bool {
    matches!(
        c as u32,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
            // Not Cf, but invisible all the same.
            | 0x34F
            | 0x115F..=0x1160
            | 0x3164
            | 0xFFA0
            | 0xFE00..=0xFE0F
            | 0xE0100..=0xE01EF
    )
}

/// Full-width ASCII (U+FF01..U+FF5E) as ASCII; other characters unchanged.
fn narrow(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Letters that look like Latin ones, as those: Cyrillic and Greek look-alikes
/// (`іgnоrе` in Cyrillic і, о and е reads as `ignore`), mathematical alphanumeric
/// symbols (`𝐢𝐠𝐧𝐨𝐫𝐞`), circled letters. A whole Russian or Greek word folded this way
/// becomes a string no English phrase is made of, so folding everything costs nothing
/// in false flags and saves deciding when a word is "mixed".
fn look_alike(c: char) -> char {
    let latin = |i: u32, base: u8| char::from(base + (i % 26) as u8);
    let u = c as u32;
    match u {
        // Mathematical Alphanumeric Symbols: 13 alphabets of A..Z a..z (the holes in it
        // are unassigned code points, harmless to map).
        0x1D400..=0x1D6A3 => {
            let i = (u - 0x1D400) % 52;
            if i < 26 {
                latin(i, b'A')
            } else {
                latin(i - 26, b'a')
            }
        }
        0x1D7CE..=0x1D7FF => char::from(b'0' + ((u - 0x1D7CE) % 10) as u8),
        0x24B6..=0x24CF => latin(u - 0x24B6, b'A'),
        0x24D0..=0x24E9 => latin(u - 0x24D0, b'a'),
        _ => match c {
            // Cyrillic
            'а' | 'А' => 'a',
            'В' | 'в' => 'b',
            'е' | 'Е' | 'ё' | 'Ё' => 'e',
            'һ' | 'Һ' | 'Н' | 'н' => 'h',
            'і' | 'І' | 'ї' | 'Ї' => 'i',
            'ј' | 'Ј' => 'j',
            'К' | 'к' => 'k',
            'ӏ' | 'Ӏ' => 'l',
            'М' | 'м' => 'm',
            'о' | 'О' => 'o',
            'р' | 'Р' => 'p',
            'ԛ' | 'Ԛ' => 'q',
            'с' | 'С' => 'c',
            'ѕ' | 'Ѕ' => 's',
            'Т' | 'т' => 't',
            'у' | 'У' => 'y',
            'х' | 'Х' => 'x',
            'ԁ' => 'd',
            'ԝ' | 'Ԝ' => 'w',
            // Greek
            'α' | 'Α' => 'a',
            'Β' | 'β' => 'b',
            'Ε' | 'ε' => 'e',
            'Ζ' => 'z',
            'Η' => 'h',
            'Ι' | 'ι' => 'i',
            'Κ' | 'κ' => 'k',
            'Μ' => 'm',
            'Ν' => 'n',
            'ν' => 'v',
            'Ο' | 'ο' => 'o',
            'Ρ' | 'ρ' => 'p',
            'Τ' | 'τ' => 't',
            'Υ' | 'υ' => 'u',
            'Χ' | 'χ' => 'x',
            // Latin letters that pass for others
            'ı' => 'i',
            'ɡ' => 'g',
            'ℓ' => 'l',
            _ => c,
        },
    }
}

/// Pushes the normalised form of `c` onto `out`.
fn push_lower(out: &mut String, c: char) {
    if invisible(c) {
        return;
    }
    let c = look_alike(narrow(c));
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else {
        out.extend(c.to_lowercase());
    }
}

/// `text` normalised as a whole, without the word folding: what tool names are compared
/// against, and what [`Norm::new`] starts from.
pub(super) fn lower(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_lower(&mut out, c);
    }
    out
}

/// The byte offset in `text` of the character that became byte `lower_at` of the
/// normalised text (found again by replaying the normalisation: only done per finding).
pub(super) fn raw_offset(text: &str, lower_at: usize) -> usize {
    let mut len = 0;
    let mut buf = String::new();
    for (i, c) in text.char_indices() {
        if len >= lower_at {
            return i;
        }
        buf.clear();
        push_lower(&mut buf, c);
        len += buf.len();
    }
    text.len()
}

impl Norm {
    pub(super) fn new(text: &str) -> Self {
        let lower = lower(text);
        let mut folded = String::with_capacity(lower.len() + 2);
        folded.push(' ');
        let mut words = Vec::new();
        let mut seen = WordBloom::default();
        let mut push = |folded: &mut String, w: &str, lower_start: usize, lower_end: usize| {
            let start = folded.len();
            seen.insert(w);
            folded.push_str(w);
            words.push(Word {
                start,
                end: folded.len(),
                lower_start,
                lower_end,
            });
            folded.push(' ');
        };
        for (tok_at, tok) in tokens(&lower) {
            if is_address(tok) {
                push(&mut folded, ADDR, tok_at, tok_at + tok.len());
                continue;
            }
            let mut run: Option<usize> = None;
            for (i, c) in tok.char_indices() {
                match (c.is_alphanumeric(), run) {
                    (true, None) => run = Some(i),
                    (false, Some(s)) => {
                        push(&mut folded, &tok[s..i], tok_at + s, tok_at + i);
                        run = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = run {
                push(&mut folded, &tok[s..], tok_at + s, tok_at + tok.len());
            }
        }
        if folded.len() == 1 {
            folded.push(' ');
        }
        Norm {
            lower,
            folded,
            words,
            seen,
        }
    }

    /// The same text with the word filter disabled (every word "may" be there): what the
    /// rules find without the filter, the reference the filter is tested against.
    #[cfg(test)]
    pub(super) fn unfiltered(mut self) -> Self {
        self.seen = WordBloom([u64::MAX; 4], u64::MAX);
        self
    }

    /// Whether `word` may be one of the text's words (false: it is not).
    pub(super) fn may_hold(&self, word: &str) -> bool {
        self.seen.may_hold(word)
    }

    pub(super) fn word(&self, i: usize) -> &str {
        self.words
            .get(i)
            .map(|w| &self.folded[w.start..w.end])
            .unwrap_or("")
    }

    /// The `lower` offset of the first whole-word occurrence of `phrase` (single spaces
    /// between its words).
    pub(super) fn phrase(&self, phrase: &str) -> Option<usize> {
        self.phrase_word(phrase).map(|i| self.words[i].lower_start)
    }

    /// The index of the first word of the first whole-word occurrence of `phrase`.
    pub(super) fn phrase_word(&self, phrase: &str) -> Option<usize> {
        let first = match phrase.bytes().position(|b| b == b' ') {
            Some(end) => phrase.get(..end).unwrap_or(phrase),
            None => phrase,
        };
        if !self.may_hold(first) {
            return None;
        }
        let bytes = self.folded.as_bytes();
        for (at, _) in self.folded.match_indices(phrase) {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + phrase.len()).copied();
            if before == Some(b' ') && after == Some(b' ') {
                return Some(self.words.partition_point(|w| w.start < at));
            }
        }
        None
    }

    pub(super) fn any_phrase(&self, phrases: &[&str]) -> Option<usize> {
        phrases.iter().filter_map(|p| self.phrase(p)).min()
    }

    /// The `lower` offset of the first word where `slots` match in sequence.
    pub(super) fn seq(&self, slots: &[Slot]) -> Option<usize> {
        // Every slot that must take a word needs one of its words in the text.
        let possible = slots
            .iter()
            .filter(|s| s.min > 0)
            .all(|s| s.words.iter().any(|w| self.may_hold(w)));
        if !possible {
            return None;
        }
        (0..self.words.len())
            .find(|&i| self.seq_at(i, slots))
            .map(|i| self.words[i].lower_start)
    }

    fn seq_at(&self, i: usize, slots: &[Slot]) -> bool {
        let Some((slot, rest)) = slots.split_first() else {
            return true;
        };
        let mut taken = 0;
        loop {
            if taken >= slot.min && self.seq_at(i + taken, rest) {
                return true;
            }
            if taken == slot.max || !slot.words.contains(&self.word(i + taken)) {
                return false;
            }
            taken += 1;
        }
    }

    /// Whether the words starting at `i` are exactly `seq`.
    pub(super) fn words_at(&self, i: usize, seq: &[&str]) -> bool {
        seq.iter().enumerate().all(|(k, w)| self.word(i + k) == *w)
    }

    /// Lines of `lower` with their offsets.
    pub(super) fn lines(&self) -> impl Iterator<Item = (usize, &str)> {
        let mut at = 0;
        self.lower.split(['\n', '\r', '\u{2028}']).map(move |l| {
            let here = at;
            at += l.len() + 1;
            (here, l)
        })
    }
}

/// Whitespace-separated tokens of `s` with their byte offsets.
fn tokens(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start: Option<usize> = None;
    let mut chars = s.char_indices().chain(std::iter::once((s.len(), ' ')));
    std::iter::from_fn(move || {
        for (i, c) in chars.by_ref() {
            match (c.is_whitespace(), start) {
                (false, None) => start = Some(i),
                (true, Some(st)) => {
                    start = None;
                    return Some((st, &s[st..i]));
                }
                _ => {}
            }
        }
        None
    })
}

/// A URL (`scheme://...`, `www....`) or an e-mail address (`local@domain.tld`).
pub(super) fn is_address(tok: &str) -> bool {
    let t = tok.trim_matches(|c: char| !c.is_alphanumeric() && c != '/');
    if t.contains("://") || t.starts_with("www.") {
        return true;
    }
    let Some((local, domain)) = t.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && domain.ends_with(|c: char| c.is_alphanumeric())
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

/// A run of `min..=max` words, each one of `words`.
pub(super) struct Slot {
    words: &'static [&'static str],
    min: usize,
    max: usize,
}

pub(super) const fn one(words: &'static [&'static str]) -> Slot {
    Slot {
        words,
        min: 1,
        max: 1,
    }
}

pub(super) const fn upto(max: usize, words: &'static [&'static str]) -> Slot {
    Slot { words, min: 0, max }
}

//! Automatic redaction of personal data in complaint narratives before they
//! are published as open data.
//!
//! Narratives are zh-CN, English or a mix of both. [`redact`] finds mobile and
//! landline numbers, resident ID numbers (GB 11643 check digit), e-mail
//! addresses, Luhn-valid bank card numbers, QQ/WeChat ids introduced by a
//! label, recognisable street addresses and personal names, and replaces each
//! finding with a bilingual placeholder such as `[电话/phone]`.
//!
//! Ordinary numbers are deliberately left alone: prices, dates, class hours,
//! percentages and order numbers that fail the checksums survive unchanged.
//! Redaction is idempotent: redacting already-redacted text changes nothing.
//!
//! Text is [`normalize`]d first (Unicode NFKC, which folds the full-width digits and
//! letters that Chinese input methods produce, with zero-width and bidi control
//! characters removed), then redacted; the normalised text is what is published, so
//! no variant that only looks like a number can slip through.

use std::sync::LazyLock;

use regex::{Captures, Match, Regex};
use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, char::is_combining_mark};

/// Kind of personal datum found in a narrative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// Mainland mobile or landline telephone number.
    Phone,
    /// Resident identity card number (18-digit with valid check digit, or
    /// explicitly labelled).
    IdNumber,
    /// E-mail address.
    Email,
    /// Bank card number (16–19 digits, Luhn-valid).
    BankCard,
    /// QQ number or WeChat id introduced by a label (the label is kept).
    ImId,
    /// Street address or residential-estate unit.
    Address,
    /// Personal name (party names, or a Chinese full name with an honorific).
    Name,
}

impl PiiKind {
    /// Every kind, in declaration order.
    const ALL: [PiiKind; 7] = [
        PiiKind::Phone,
        PiiKind::IdNumber,
        PiiKind::Email,
        PiiKind::BankCard,
        PiiKind::ImId,
        PiiKind::Address,
        PiiKind::Name,
    ];

    /// Tie-break for candidates covering exactly the same span (lower wins).
    fn rank(self) -> u8 {
        match self {
            PiiKind::IdNumber => 0,
            PiiKind::BankCard => 1,
            PiiKind::Email => 2,
            PiiKind::ImId => 3,
            PiiKind::Phone => 4,
            PiiKind::Address => 5,
            PiiKind::Name => 6,
        }
    }
}

/// One redacted span, as byte offsets into the [`normalize`]d text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was found.
    pub kind: PiiKind,
    /// Byte offset of the first byte (always a char boundary).
    pub start: usize,
    /// Byte offset one past the last byte (always a char boundary).
    pub end: usize,
}

/// Result of [`redact`]: publishable (normalised) text plus what was removed from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redacted {
    /// The text with every finding replaced by its [`placeholder`].
    pub text: String,
    /// Findings sorted by position, non-overlapping.
    pub findings: Vec<Finding>,
}

/// Bilingual placeholder that replaces a finding of `kind`.
pub fn placeholder(kind: PiiKind) -> &'static str {
    match kind {
        PiiKind::Phone => "[电话/phone]",
        PiiKind::IdNumber => "[身份证号/ID number]",
        PiiKind::Email => "[邮箱/email]",
        PiiKind::BankCard => "[银行卡号/bank card]",
        PiiKind::ImId => "[QQ/微信 ID]",
        PiiKind::Address => "[地址/address]",
        PiiKind::Name => "[姓名/name]",
    }
}

/// GB 11643 check of an 18-character resident ID number: 17 ASCII digits
/// followed by a check character (digit, `X` or `x`).
pub fn id_number_checksum_ok(s: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let bytes = s.as_bytes();
    if bytes.len() != 18 {
        return false;
    }
    let mut sum = 0;
    for (&b, w) in bytes[..17].iter().zip(WEIGHTS) {
        if !b.is_ascii_digit() {
            return false;
        }
        sum += u32::from(b - b'0') * w;
    }
    bytes[17].to_ascii_uppercase() == CHECK[(sum % 11) as usize]
}

/// Luhn check over a non-empty string of ASCII digits (no separators).
pub fn luhn_ok(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum = digits.bytes().rev().enumerate().fold(0u32, |acc, (i, b)| {
        let d = u32::from(b - b'0');
        let v = if i % 2 == 1 {
            let x = d * 2;
            if x > 9 { x - 9 } else { x }
        } else {
            d
        };
        (acc + v) % 10
    });
    sum == 0
}

/// Characters that render as nothing (or only steer the display) and can be slipped
/// between the digits of a number or the letters of an e-mail address: zero-width
/// spaces and joiners, the word joiner and invisible operators, the byte-order mark,
/// soft hyphens, bidi embeddings, overrides, isolates and marks, variation selectors,
/// tag characters, interlinear annotation marks, Hangul and Mongolian fillers, and the
/// combining keycap.
pub fn is_invisible_control(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0x20E3 | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF9..=0xFFFB
        | 0xE0000..=0xE007F | 0xE0100..=0xE01EF)
}

/// The form in which text is redacted and published: invisible controls
/// ([`is_invisible_control`]) removed, Unicode NFKC applied (full-width `１３８` and
/// `ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ` become ASCII, the ideographic space a space), and
/// combining marks that NFKC could not merge into an ASCII letter or digit dropped (a
/// mark on a digit hides it from pattern matching). Idempotent.
pub fn normalize(text: &str) -> String {
    let stripped: String = text.chars().filter(|&c| !is_invisible_control(c)).collect();
    let composed: String = match unicode_normalization::is_nfkc_quick(stripped.chars()) {
        IsNormalized::Yes => stripped,
        _ => nfkc_keeping_cjk_punctuation(&stripped),
    };
    let mut out = String::with_capacity(composed.len());
    let mut after_ascii_alnum = false;
    let mut dropped = false;
    for c in composed.chars() {
        if is_combining_mark(c) && after_ascii_alnum {
            dropped = true;
            continue;
        }
        after_ascii_alnum = c.is_ascii_alphanumeric();
        out.push(c);
    }
    if dropped && unicode_normalization::is_nfkc_quick(out.chars()) != IsNormalized::Yes {
        // Dropping a mark can leave a sequence that composes differently.
        return normalize(&out);
    }
    out
}

/// The full-width punctuation of ordinary Chinese prose (`，：；！？（）`), which NFKC
/// would turn into ASCII. It hides nothing (the patterns accept `：` and `（）` where they
/// accept `:` and `()`), and Chinese readers expect it, so it is published as typed.
fn is_kept_cjk_punctuation(c: char) -> bool {
    matches!(c, '，' | '：' | '；' | '！' | '？' | '（' | '）')
}

/// NFKC of `text`, except for [`is_kept_cjk_punctuation`] (starters that compose with
/// nothing, so normalising the runs between them is the same as normalising the whole).
fn nfkc_keeping_cjk_punctuation(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive(is_kept_cjk_punctuation) {
        match piece.char_indices().last() {
            Some((i, c)) if is_kept_cjk_punctuation(c) => {
                out.extend(piece[..i].nfkc());
                out.push(c);
            }
            _ => out.extend(piece.nfkc()),
        }
    }
    out
}

/// Redacts personal data from `text`.
///
/// The text is [`normalize`]d first; the result's text and findings refer to the
/// normalised text, which is what gets published.
///
/// `party_names` are the names recorded in the case; each one of at least two
/// characters is removed wherever it occurs (case-insensitively, on word
/// boundaries for Latin script). A Chinese party name's surname is also
/// removed where it carries an honorific (`张女士` → `[姓名/name]女士`).
///
/// Detection is repeated on the redacted text until nothing new is found, so
/// the result is a fixed point: `redact(&redact(t, n).text, n)` is unchanged
/// with no findings.
pub fn redact(text: &str, party_names: &[&str]) -> Redacted {
    let normalized_names: Vec<String> = party_names.iter().map(|n| normalize(n)).collect();
    let name_refs: Vec<&str> = normalized_names.iter().map(String::as_str).collect();
    let names = PartyNames::new(&name_refs);
    let text = &normalize(text);
    let mut current = text.clone();
    // Stretches of `current` that are still original text.
    let mut pieces = vec![Piece {
        cur: 0,
        orig: 0,
        len: text.len(),
    }];
    let mut findings = Vec::new();
    // Every pass replaces at least one original byte, so this bound is never
    // reached; it only guarantees termination.
    for _ in 0..=text.len() {
        let inserted = gaps(&pieces, current.len());
        let found = detect(&current, &names, &inserted);
        if found.is_empty() {
            break;
        }
        for c in &found {
            // Candidates never overlap inserted placeholders, so each one lies
            // inside a single original piece.
            if let Some(p) = pieces
                .iter()
                .find(|p| p.cur <= c.start && c.end <= p.cur + p.len)
            {
                findings.push(Finding {
                    kind: c.kind,
                    start: p.orig + (c.start - p.cur),
                    end: p.orig + (c.end - p.cur),
                });
            }
        }
        let (next, next_pieces) = rewrite(&current, &found, &pieces);
        current = next;
        pieces = next_pieces;
    }
    findings.sort_by_key(|f| (f.start, f.end));
    Redacted {
        text: current,
        findings,
    }
}

// ---------------------------------------------------------------------------
// Fixed-point bookkeeping
// ---------------------------------------------------------------------------

/// A stretch of the current text that is untouched original text.
#[derive(Debug, Clone, Copy)]
struct Piece {
    cur: usize,
    orig: usize,
    len: usize,
}

/// A candidate span in the text being scanned.
#[derive(Debug, Clone, Copy)]
struct Cand {
    start: usize,
    end: usize,
    kind: PiiKind,
}

/// Spans of `len` not covered by `pieces`, i.e. the placeholders inserted so far.
fn gaps(pieces: &[Piece], len: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for p in pieces {
        if p.cur > pos {
            out.push((pos, p.cur));
        }
        pos = p.cur + p.len;
    }
    if len > pos {
        out.push((pos, len));
    }
    out
}

/// Replaces `found` (sorted, disjoint) with placeholders and re-maps `pieces`.
fn rewrite(text: &str, found: &[Cand], pieces: &[Piece]) -> (String, Vec<Piece>) {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for c in found {
        out.push_str(&text[last..c.start]);
        out.push_str(placeholder(c.kind));
        last = c.end;
    }
    out.push_str(&text[last..]);

    // Position in the new text of an old position not inside a finding.
    let new_pos = |x: usize| {
        found.iter().filter(|c| c.end <= x).fold(x, |acc, c| {
            acc - (c.end - c.start) + placeholder(c.kind).len()
        })
    };
    let mut next = Vec::new();
    for p in pieces {
        let end = p.cur + p.len;
        let mut pos = p.cur;
        for c in found.iter().filter(|c| p.cur <= c.start && c.end <= end) {
            if c.start > pos {
                next.push(Piece {
                    cur: new_pos(pos),
                    orig: p.orig + (pos - p.cur),
                    len: c.start - pos,
                });
            }
            pos = c.end;
        }
        if end > pos {
            next.push(Piece {
                cur: new_pos(pos),
                orig: p.orig + (pos - p.cur),
                len: end - pos,
            });
        }
    }
    (out, next)
}

/// One detection pass: all candidates, minus those touching placeholders,
/// resolved to the earliest-starting, longest non-overlapping set.
fn detect(text: &str, names: &PartyNames, inserted: &[(usize, usize)]) -> Vec<Cand> {
    let mut protected: Vec<(usize, usize)> = PLACEHOLDER_RE
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect();
    protected.extend_from_slice(inserted);

    let mut cands = Vec::new();
    detect_numbers(text, &mut cands);
    detect_im_ids(text, &mut cands);
    detect_addresses(text, &mut cands);
    detect_names(text, names, &mut cands);

    cands.retain(|c| c.start < c.end && !protected.iter().any(|&(s, e)| c.start < e && s < c.end));
    cands.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(a.kind.rank().cmp(&b.kind.rank()))
    });
    let mut kept: Vec<Cand> = Vec::new();
    for c in cands {
        if kept.last().is_none_or(|k| c.start >= k.end) {
            kept.push(c);
        }
    }
    kept
}

// ---------------------------------------------------------------------------
// Regex helpers
// ---------------------------------------------------------------------------

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("built-in redaction regex is invalid: {e}"))
}

fn span(m: Match<'_>) -> (usize, usize) {
    (m.start(), m.end())
}

/// Byte index of the char after the one starting at `i` (or past the end).
fn next_char(text: &str, i: usize) -> usize {
    text[i..]
        .chars()
        .next()
        .map_or(text.len() + 1, |c| i + c.len_utf8())
}

/// Runs `re` over `text`; `accept` validates each match and picks the span to
/// redact. A rejected match is retried one char later, so a failed check never
/// hides a valid match that starts inside it.
fn scan<F>(re: &Regex, text: &str, kind: PiiKind, out: &mut Vec<Cand>, mut accept: F)
where
    F: FnMut(&Captures<'_>) -> Option<(usize, usize)>,
{
    let mut pos = 0;
    while pos <= text.len() {
        let Some(caps) = re.captures_at(text, pos) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        let retry = next_char(text, m.start());
        match accept(&caps) {
            Some((start, end)) if start < end => {
                out.push(Cand { start, end, kind });
                pos = end.max(retry);
            }
            _ => pos = retry,
        }
    }
}

fn whole(c: &Captures<'_>) -> Option<(usize, usize)> {
    c.get(0).map(span)
}

fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2EBEF | 0x30000..=0x3134F)
}

/// Letters/digits of non-Han scripts: a Latin name must not touch these.
fn is_wordish(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && !is_han(c)
}

static PLACEHOLDER_RE: LazyLock<Regex> = LazyLock::new(|| {
    let alts: Vec<String> = PiiKind::ALL
        .iter()
        .map(|k| regex::escape(placeholder(*k)))
        .collect();
    compile(&alts.join("|"))
});

// ---------------------------------------------------------------------------
// Numbers: phones, ID numbers, bank cards, e-mail
// ---------------------------------------------------------------------------

/// An optional separator between two digits of a number: a space, or a dash (any of
/// the hyphen and dash characters, NFKC leaves them apart) with a space on either
/// side or none.
macro_rules! sep {
    () => {
        r"(?: ?[\-\x{2010}-\x{2015}\x{2212}] ?| )?"
    };
}

/// Mainland mobile: optional +86/0086, then 1[3-9] and 9 more digits, any two of them
/// optionally separated ([`sep!`]: `138-1234-5678`, `138 1234 5678`, `1 3 8 …`). A
/// letter glued to the front (`Tel13812345678`) is allowed but not redacted.
static MOBILE_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?:(?P<glue>[A-Za-z_])|\+86",
        sep!(),
        r"|(?-u:\b)0086",
        sep!(),
        r"|(?-u:\b))1",
        sep!(),
        r"[3-9](?:",
        sep!(),
        r"[0-9]){9}(?-u:\b)"
    ))
});

/// Landline: area code 0 + 2–3 digits (optionally parenthesised, or +86 with
/// the 0 dropped), then 7–8 digits, optionally split 3/4 + 4, optional extension.
static LANDLINE_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?:(?:\+86|(?-u:\b)0086)[ -]?(?:\(0?[1-9][0-9]{1,2}\)|0?[1-9][0-9]{1,2})",
        r"|[(（]0[1-9][0-9]{1,2}[)）]",
        r"|(?-u:\b)0[1-9][0-9]{1,2})",
        r"[ -]?(?:[0-9]{7,8}|[0-9]{3,4}[ -][0-9]{4})",
        r"(?:(?:转|-|ext\.?\s?)[0-9]{1,5})?(?-u:\b)"
    ))
});

/// 18-character resident ID, contiguous or with separators anywhere (grouped 6-8-4,
/// 3-3-4-4-4, …).
static ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?-u:\b)[0-9](?:",
        sep!(),
        r"[0-9]){16}",
        sep!(),
        r"[0-9Xx](?-u:\b)"
    ))
});

/// An ID number introduced by an explicit label: redacted without the
/// checksum (covers typos and 15-digit pre-1999 IDs).
static ID_LABELLED_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?:身份证(?:号码|号)?|证件号(?:码)?",
        r"|(?i:(?-u:\b)(?:id|identity)(?:\s*card)?\s*(?:no\.?|number|#))",
        r"|(?i:(?-u:\b)(?:id|identity)\s*card))",
        r"\s*(?:[:：#]|是|为|(?i:is))?\s*",
        r"(?P<id>[0-9](?:",
        sep!(),
        r"[0-9]){16}",
        sep!(),
        r"[0-9Xx]|[0-9](?:",
        sep!(),
        r"[0-9]){14})",
        r"(?-u:\b)"
    ))
});

/// 16 digits (separators anywhere, usually in groups of four), plus an optional
/// 1–3 digit tail.
static CARD_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?-u:\b)(?P<core>[0-9](?:",
        sep!(),
        r"[0-9]){15})(?P<tail>(?:",
        sep!(),
        r"[0-9]){1,3})?(?-u:\b)"
    ))
});

/// An address, also with a space around `@` or a dot, and `。` typed for a dot.
static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"[A-Za-z0-9._%+\-]+ ?@ ?[A-Za-z0-9\-]+(?: ?[.。] ?[A-Za-z0-9\-]+)*",
        r" ?[.。] ?[A-Za-z]{2,24}"
    ))
});

fn detect_numbers(text: &str, out: &mut Vec<Cand>) {
    scan(&MOBILE_RE, text, PiiKind::Phone, out, |c| {
        let m = c.get(0)?;
        Some((c.name("glue").map_or(m.start(), |g| g.end()), m.end()))
    });
    scan(&LANDLINE_RE, text, PiiKind::Phone, out, whole);
    scan(&ID_RE, text, PiiKind::IdNumber, out, |c| {
        let m = c.get(0)?;
        let compact: String = m
            .as_str()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        id_number_checksum_ok(&compact).then(|| span(m))
    });
    scan(&ID_LABELLED_RE, text, PiiKind::IdNumber, out, |c| {
        c.name("id").map(span)
    });
    scan(&CARD_RE, text, PiiKind::BankCard, out, |c| {
        let all = c.get(0)?;
        let digits = digits_of(all.as_str());
        if (16..=19).contains(&digits.len()) && luhn_ok(&digits) {
            return Some(span(all));
        }
        // "6222 0212 3456 7890 12": the separated tail may be unrelated.
        let core = c.name("core")?;
        let tail = c.name("tail")?;
        let separated = !tail.as_str().starts_with(|ch: char| ch.is_ascii_digit());
        (separated && luhn_ok(&digits_of(core.as_str()))).then(|| span(core))
    });
    scan(&EMAIL_RE, text, PiiKind::Email, out, whole);
}

// ---------------------------------------------------------------------------
// QQ / WeChat ids
// ---------------------------------------------------------------------------

/// Separator between an IM label and the id; `:`/`：`/`=`/`是`/`为` are explicit.
macro_rules! im_sep {
    () => {
        r"(?P<sep>\s*[:：=]\s*|\s*(?:是|为)\s*|\s+(?i:is)\s+|\s*)"
    };
}

static QQ_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?P<label>(?-u:\b)(?i:qq)(?:号码|号|账号|\s*(?i:number|no\.?|id|account))?)",
        im_sep!(),
        r"(?P<id>[1-9][0-9]{4,11})(?-u:\b)"
    ))
});

static WECHAT_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?P<label>微信(?:号码|号|账号|ID|id)?|薇信|威信|[vV]信",
        r"|(?-u:\b)(?i:wechat)(?:\s*(?i:id|account|number|no\.?))?",
        r"|(?-u:\b)(?i:vx|wx)号?)",
        im_sep!(),
        r"(?P<id>[A-Za-z][A-Za-z0-9_\-]{3,39}|[0-9]{5,15})"
    ))
});

/// A bare WeChat internal id (`wxid_…`) is an id even without a label.
static WXID_RE: LazyLock<Regex> = LazyLock::new(|| compile(r"(?-u:\b)wxid_[A-Za-z0-9_\-]{4,40}"));

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn detect_im_ids(text: &str, out: &mut Vec<Cand>) {
    scan(&QQ_RE, text, PiiKind::ImId, out, |c| c.name("id").map(span));
    scan(&WECHAT_RE, text, PiiKind::ImId, out, |c| {
        let id = c.name("id")?;
        let label = c.name("label")?.as_str();
        let sep = c.name("sep").map_or("", |m| m.as_str());
        if text[id.end()..].chars().next().is_some_and(is_id_char) {
            return None; // longer than an id, or digits running into letters
        }
        let letter_start = id.as_str().starts_with(|ch: char| ch.is_ascii_alphabetic());
        if label.is_ascii() && letter_start {
            // "wxid_…", "WeChat Pay", "WeChat is popular": English labels need
            // an explicit separator or an id that does not look like a word.
            let explicit = sep.contains([':', '：', '=', '是', '为']);
            let wordlike = !id
                .as_str()
                .contains(|ch: char| ch.is_ascii_digit() || ch == '_' || ch == '-');
            if sep.is_empty() || (!explicit && wordlike) {
                return None;
            }
        }
        Some(span(id))
    });
    scan(&WXID_RE, text, PiiKind::ImId, out, |c| {
        let m = c.get(0)?;
        (!text[m.end()..].chars().next().is_some_and(is_id_char)).then(|| span(m))
    });
}

// ---------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------

/// One unit after a house number: `2栋`, `3单元`, `301室`, `B座`, `三楼`.
macro_rules! zh_unit {
    () => {
        r"(?:\s?(?:[0-9]{1,4}(?:-[0-9]{1,4}){0,2}|[A-Za-z]|[一二三四五六七八九十]{1,3})(?:号楼|号院|栋|幢|座|单元|楼|层|室|号|户))"
    };
}

/// Street + number + 号 (`中关村大街27号`, `世纪大道100号2栋301室`).
static ZH_STREET_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?P<road>大街|大道|胡同|路|街|道|巷|弄)\s?[0-9]{1,5}(?:[-之][0-9]{1,5})?\s?号",
        r"(?P<rest>(?:院|楼)?",
        zh_unit!(),
        r"*)"
    ))
});

/// Residential estate + at least one unit (`阳光小区3栋2单元501室`).
static ZH_ESTATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?P<road>小区|花园|公寓|家园|新村|大厦|苑)(?P<rest>",
        zh_unit!(),
        r"+)"
    ))
});

/// A building name plus units right after a street number
/// (`27号中关村大厦12层`, `88号SOHO现代城5号楼1201室`).
static BUILDING_TAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"^(?:[A-Za-z]|[\p{Han}&&[^的在是于和与及或我他她你它们了就也都还从到]]){1,16}?",
        zh_unit!(),
        r"+"
    ))
});

/// A bare room number right after the last unit (`2单元501`).
static ROOM_TAIL_RE: LazyLock<Regex> = LazyLock::new(|| compile(r"^[0-9]{1,5}(?:室|房)?"));

macro_rules! en_suffix {
    () => {
        concat!(
            r"(?:Street|Road|Avenue|Boulevard|Lane|Alley|Hutong|Highway",
            r"|street|road|avenue|boulevard|lane|alley|hutong|highway",
            r"|St|Rd|Ave|Blvd|Ln|Hwy|Lu|Dajie|Dadao)(?-u:\b)"
        )
    };
}

/// `Room 301, Building 2, No. 100 Century Avenue`, `123 Main St`.
static EN_ADDR_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?-u:\b)(?:(?i:room|rm\.?|apt\.?|apartment|unit|suite|flat)\s*#?[A-Za-z]?[0-9]{1,5}[A-Za-z]?,?\s+)?",
        r"(?:(?i:building|bldg\.?|block|tower)\s*#?[A-Za-z]?[0-9]{1,4}[A-Za-z]?,?\s+)?",
        r"(?:No\.?\s*)?[0-9]{1,5}[A-Za-z]?(?:-[0-9]{1,5})?,?\s+",
        r"(?:[A-Z][A-Za-z'\-]*\s+){0,3}[A-Z][A-Za-z'\-]*\s+",
        en_suffix!()
    ))
});

/// `Zhongguancun Street No. 27`.
static EN_ADDR_NUM_AFTER_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"(?-u:\b)(?:[A-Z][A-Za-z'\-]*\s+){1,4}",
        en_suffix!(),
        r"\s*,?\s*No\.?\s*[0-9]{1,5}(?-u:\b)"
    ))
});

/// Chars that end the place name when walking back from a Chinese street:
/// prepositions and verbs such as 住在/位于/地址/寄到.
const ADDR_STOP: &str = "在于住址是到至寄往为的我他她从与或及向近去来搬位处送达离靠给把被";

/// Chars before 道 that make it a word rather than a road (知道3号 = "know on the 3rd").
const DAO_NOT_ROAD: &str = "知难渠频报味赛轨跑车管通隧";

/// Longest place name (in chars) taken before a street or estate keyword.
const MAX_PLACE_CHARS: usize = 20;

fn accept_zh_address(text: &str, c: &Captures<'_>) -> Option<(usize, usize)> {
    let m = c.get(0)?;
    let road = c.name("road")?;
    let rest = c.name("rest").map_or("", |r| r.as_str());
    let before = &text[..m.start()];
    if road.as_str() == "道"
        && before
            .chars()
            .next_back()
            .is_some_and(|p| DAO_NOT_ROAD.contains(p))
    {
        return None;
    }
    if rest.is_empty() && text[m.end()..].starts_with('线') {
        return None; // 3号线 is a metro line
    }
    let mut start = m.start();
    let mut taken = 0;
    for ch in before.chars().rev() {
        if taken >= MAX_PLACE_CHARS || !is_han(ch) || ADDR_STOP.contains(ch) {
            break;
        }
        start -= ch.len_utf8();
        taken += 1;
    }
    if taken == 0 {
        return None;
    }
    let mut end = m.end();
    let mut has_units = !rest.is_empty();
    if let Some(t) = BUILDING_TAIL_RE.find(&text[end..]) {
        end += t.end();
        has_units = true;
    }
    if has_units && let Some(t) = ROOM_TAIL_RE.find(&text[end..]) {
        // Only a room number: not "501人" or "2单元12345678…".
        let after = text[end + t.end()..].chars().next();
        if after
            .is_none_or(|ch| !(is_han(ch) || ch.is_ascii_alphanumeric()) || "室房的".contains(ch))
        {
            end += t.end();
        }
    }
    Some((start, end))
}

fn detect_addresses(text: &str, out: &mut Vec<Cand>) {
    scan(&ZH_STREET_RE, text, PiiKind::Address, out, |c| {
        accept_zh_address(text, c)
    });
    scan(&ZH_ESTATE_RE, text, PiiKind::Address, out, |c| {
        accept_zh_address(text, c)
    });
    scan(&EN_ADDR_RE, text, PiiKind::Address, out, whole);
    scan(&EN_ADDR_NUM_AFTER_RE, text, PiiKind::Address, out, whole);
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// Honorifics that follow a Chinese name; the name before them is redacted.
static HONORIFIC_RE: LazyLock<Regex> =
    LazyLock::new(|| compile("班主任|先生|女士|小姐|老师|同学|经理|主任|校长|顾问|教练|律师|助教"));

/// `Mr. Chen Jun`, `Ms Li`: the capitalised name after the title.
static EN_HONORIFIC_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?-u:\b)(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+(?P<name>[A-Z][a-z]+(?:[ \-][A-Z][a-z]+)?)(?-u:\b)",
    )
});

/// Common single-character surnames. Characters that are far more often
/// ordinary words (任 任课, 全 全职, 原 原来, 于 对于, 向 向老师反映 …) are left out.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁沈姚卢姜崔钟谭陆汪范廖石贾韦夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵覃武钱戴严莫孔汤康易乔赖施洪辛柯庄葛樊齐欧阎殷祝聂耿宁温岳倪凌鲁俞左章詹蒙柴纪舒屈饶滕焦谷甘褚金";

const COMPOUND_SURNAMES: [&str; 17] = [
    "欧阳", "司马", "诸葛", "上官", "皇甫", "慕容", "令狐", "司徒", "夏侯", "尉迟", "长孙", "宇文",
    "公孙", "轩辕", "端木", "独孤", "南宫",
];

/// Words that start with a surname character but are not names
/// (高中老师, 周末老师, 谢谢老师, 课程…).
const NOT_NAMES: [&str; 58] = [
    "高中", "高级", "高一", "高二", "高三", "高考", "高端", "高途", "高校", "高价", "金牌", "金额",
    "黄金", "周末", "周一", "周二", "周三", "周四", "周五", "周六", "周日", "周天", "关于", "许多",
    "田径", "武术", "毛笔", "严格", "曾经", "夏令", "夏季", "夏天", "程序", "方面", "白天", "钟点",
    "余额", "余下", "马上", "齐全", "温馨", "温柔", "宁可", "宁愿", "谢谢", "辛苦", "顾客", "董事",
    "纪律", "舒服", "左右", "章程", "凌晨", "陆续", "雷同", "莫名", "胡乱", "何时",
];

/// Words ending in a surname character: a name cannot start on their second
/// char (上周李老师 is "last week, teacher Li", not a person 周李).
const NOT_NAME_START: [&str; 45] = [
    "上周", "下周", "本周", "每周", "这周", "那周", "一周", "两周", "几周", "课程", "编程", "过程",
    "流程", "全程", "日程", "行程", "进程", "工程", "对方", "双方", "校方", "官方", "我方", "甲方",
    "乙方", "东方", "西方", "南方", "北方", "地方", "多方", "各方", "交钱", "退钱", "付钱", "还钱",
    "花钱", "骗钱", "收钱", "要钱", "赚钱", "价钱", "金钱", "对于", "关于",
];

/// Chars that never appear in a given name here (particles, pronouns, verbs).
const NOT_GIVEN: &str = "的了是在和与给找跟向问请叫让对被把位个名说我你他她们这那也都就还又并才及或等从到为其该某每各些啊吧呢吗么要会能讲派师";

/// Party names prepared for matching.
struct PartyNames {
    /// Each name as whitespace-separated words of chars.
    patterns: Vec<Vec<Vec<char>>>,
    /// Surnames of Chinese party names, matched before an honorific.
    surnames: Vec<String>,
}

impl PartyNames {
    fn new(party_names: &[&str]) -> Self {
        let mut patterns: Vec<Vec<Vec<char>>> = Vec::new();
        let mut surnames: Vec<String> = Vec::new();
        let mut add = |words: Vec<Vec<char>>| {
            if !patterns.contains(&words) {
                patterns.push(words);
            }
        };
        for raw in party_names {
            let name = raw.trim();
            if name.chars().count() < 2 {
                continue;
            }
            let words: Vec<Vec<char>> = name
                .split_whitespace()
                .map(|w| w.chars().collect())
                .collect();
            let latin = name.chars().all(|c| c.is_whitespace() || !is_han(c));
            if latin && words.len() == 2 {
                // "Zhang Wei" is also written "Wei Zhang".
                add(vec![words[1].clone(), words[0].clone()]);
            }
            add(words);
            let han: Vec<char> = name.chars().collect();
            if (2..=4).contains(&han.len()) && han.iter().all(|&c| is_han(c)) {
                let two: String = han[..2].iter().collect();
                let surname = if han.len() >= 3 && COMPOUND_SURNAMES.contains(&two.as_str()) {
                    two
                } else {
                    han[0].to_string()
                };
                if !surnames.contains(&surname) {
                    surnames.push(surname);
                }
            }
        }
        PartyNames { patterns, surnames }
    }
}

fn chars_eq_ci(a: char, b: char) -> bool {
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

/// Byte length of `words` matched case-insensitively at the start of `hay`
/// (any run of whitespace between words).
fn match_words(hay: &str, words: &[Vec<char>]) -> Option<usize> {
    let mut it = hay.char_indices().peekable();
    for (wi, word) in words.iter().enumerate() {
        if wi > 0 {
            let mut gap = 0;
            while it.next_if(|&(_, c)| c.is_whitespace()).is_some() {
                gap += 1;
            }
            if gap == 0 {
                return None;
            }
        }
        for &nc in word {
            let (_, c) = it.next()?;
            if !chars_eq_ci(c, nc) {
                return None;
            }
        }
    }
    Some(it.peek().map_or(hay.len(), |&(i, _)| i))
}

/// Whether `chars` (2–4 Han chars right before an honorific) look like a
/// surname + one or two given-name chars.
fn plausible_full_name(chars: &[char]) -> bool {
    if chars.len() < 2 {
        return false;
    }
    let first_two: String = chars[..2].iter().collect();
    if NOT_NAMES.contains(&first_two.as_str()) {
        return false;
    }
    let given_from = if chars.len() >= 3 && COMPOUND_SURNAMES.contains(&first_two.as_str()) {
        2
    } else if chars.len() <= 3 && SURNAMES.contains(chars[0]) {
        1
    } else {
        return false;
    };
    let given = &chars[given_from..];
    (1..=2).contains(&given.len()) && given.iter().all(|&c| !NOT_GIVEN.contains(c))
}

fn detect_names(text: &str, names: &PartyNames, out: &mut Vec<Cand>) {
    let push = |out: &mut Vec<Cand>, start: usize, end: usize| {
        out.push(Cand {
            start,
            end,
            kind: PiiKind::Name,
        });
    };

    // Party names anywhere.
    for words in &names.patterns {
        let (Some(&first), Some(&last)) = (
            words.first().and_then(|w| w.first()),
            words.last().and_then(|w| w.last()),
        ) else {
            continue;
        };
        let (need_left, need_right) = (is_wordish(first), is_wordish(last));
        for (i, c) in text.char_indices() {
            if !chars_eq_ci(c, first) {
                continue;
            }
            if need_left && text[..i].chars().next_back().is_some_and(is_wordish) {
                continue;
            }
            let Some(len) = match_words(&text[i..], words) else {
                continue;
            };
            let end = i + len;
            if need_right && text[end..].chars().next().is_some_and(is_wordish) {
                continue;
            }
            push(out, i, end);
        }
    }

    // Chinese names with an honorific: party surnames, or any plausible full name.
    for h in HONORIFIC_RE.find_iter(text) {
        let before = &text[..h.start()];
        for s in &names.surnames {
            if before.ends_with(s.as_str()) {
                push(out, h.start() - s.len(), h.start());
            }
        }
        let han: Vec<(usize, char)> = before
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_han(c))
            .take(4)
            .collect();
        for len in (2..=han.len()).rev() {
            let chars: Vec<char> = han[..len].iter().rev().map(|&(_, c)| c).collect();
            let glued = text[..han[len - 1].0].chars().next_back().is_some_and(|p| {
                let pair: String = [p, chars[0]].iter().collect();
                NOT_NAME_START.contains(&pair.as_str())
            });
            if !glued && plausible_full_name(&chars) {
                push(out, han[len - 1].0, h.start());
                break;
            }
        }
    }

    // English titles.
    scan(&EN_HONORIFIC_RE, text, PiiKind::Name, out, |c| {
        c.name("name").map(span)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // -- helpers ------------------------------------------------------------

    /// `prefix17` plus the check char that makes it a valid ID number.
    fn valid_id(prefix17: &str) -> String {
        "0123456789X"
            .chars()
            .map(|c| format!("{prefix17}{c}"))
            .find(|s| id_number_checksum_ok(s))
            .expect("exactly one check char fits")
    }

    /// An 18-digit number whose ID check digit is wrong and that fails Luhn.
    fn bad_id(prefix17: &str) -> String {
        ('0'..='9')
            .map(|c| format!("{prefix17}{c}"))
            .find(|s| !id_number_checksum_ok(s) && !luhn_ok(s))
            .expect("some digit fails both checks")
    }

    fn valid_card(prefix: &str) -> String {
        ('0'..='9')
            .map(|c| format!("{prefix}{c}"))
            .find(|s| luhn_ok(s))
            .expect("one digit satisfies Luhn")
    }

    fn bad_card(prefix: &str) -> String {
        ('0'..='9')
            .map(|c| format!("{prefix}{c}"))
            .find(|s| !luhn_ok(s))
            .expect("some digit fails Luhn")
    }

    /// Groups `s` into runs of `sizes`, joined by `sep`.
    fn group(s: &str, sizes: &[usize], sep: &str) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut rest: Vec<char> = s.chars().collect();
        for &n in sizes {
            let tail = rest.split_off(n.min(rest.len()));
            parts.push(rest.iter().collect());
            rest = tail;
        }
        if !rest.is_empty() {
            parts.push(rest.iter().collect());
        }
        parts.join(sep)
    }

    /// Checks offsets, reconstruction from findings and idempotency.
    fn check_invariants(input: &str, names: &[&str]) -> Result<Redacted, TestCaseError> {
        let out = redact(input, names);
        let normalized = normalize(input);
        prop_assert_eq!(
            normalize(&normalized),
            normalized.clone(),
            "normalize not idempotent"
        );
        let input = normalized.as_str();
        let mut rebuilt = String::new();
        let mut prev_end = 0;
        for f in &out.findings {
            prop_assert!(f.start < f.end, "empty finding {f:?}");
            prop_assert!(
                f.start >= prev_end,
                "unsorted/overlapping {:?}",
                out.findings
            );
            prop_assert!(f.end <= input.len());
            prop_assert!(input.is_char_boundary(f.start) && input.is_char_boundary(f.end));
            rebuilt.push_str(&input[prev_end..f.start]);
            rebuilt.push_str(placeholder(f.kind));
            prev_end = f.end;
        }
        rebuilt.push_str(&input[prev_end..]);
        prop_assert_eq!(&rebuilt, &out.text, "findings do not reproduce the output");
        let again = redact(&out.text, names);
        prop_assert_eq!(&again.text, &out.text, "not idempotent");
        prop_assert!(
            again.findings.is_empty(),
            "second pass found {:?}",
            again.findings
        );
        Ok(out)
    }

    // -- checksum functions ---------------------------------------------------

    #[test]
    fn id_checksum_accepts_valid_numbers() {
        // Published GB 11643 example.
        assert!(id_number_checksum_ok("11010519491231002X"));
        assert!(id_number_checksum_ok("11010519491231002x"));
        assert_eq!(valid_id("11010519491231002"), "11010519491231002X");
        let id = valid_id("44030619880521123");
        assert!(id_number_checksum_ok(&id));
    }

    #[test]
    fn id_checksum_rejects_invalid_numbers() {
        assert!(!id_number_checksum_ok("110105194912310021"));
        assert!(!id_number_checksum_ok("11010519491231002Y"));
        assert!(!id_number_checksum_ok("1101051949123100X2"));
        assert!(!id_number_checksum_ok("11010519491231002"));
        assert!(!id_number_checksum_ok("11010519491231002XX"));
        assert!(!id_number_checksum_ok(""));
        // 18 bytes but not ASCII digits.
        assert!(!id_number_checksum_ok("一二三四五六"));
        assert!(!id_number_checksum_ok("1101051949 231002X"));
    }

    #[test]
    fn luhn_known_values() {
        assert!(luhn_ok("4111111111111111"));
        assert!(luhn_ok("79927398713"));
        assert!(!luhn_ok("4111111111111112"));
        assert!(!luhn_ok("79927398710"));
        assert!(!luhn_ok(""));
        assert!(!luhn_ok("4111 1111 1111 1111"));
        assert!(!luhn_ok("411111111111111a"));
        let card = valid_card("622202123456789");
        assert!(luhn_ok(&card));
        assert!(!luhn_ok(&bad_card("622202123456789")));
    }

    #[test]
    fn placeholders_are_distinct_and_protected() {
        for (i, a) in PiiKind::ALL.iter().enumerate() {
            assert!(PLACEHOLDER_RE.is_match(placeholder(*a)));
            for b in &PiiKind::ALL[i + 1..] {
                assert_ne!(placeholder(*a), placeholder(*b));
            }
        }
    }

    // -- realistic corpus -------------------------------------------------------

    struct Case {
        text: String,
        names: Vec<&'static str>,
        secrets: Vec<String>,
        keep: Vec<String>,
    }

    fn case(text: String, names: &[&'static str], secrets: &[&str], keep: &[&str]) -> Case {
        Case {
            text,
            names: names.to_vec(),
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
            keep: keep.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn corpus() -> Vec<Case> {
        let id_a = valid_id("11010519491231002"); // ends in X
        let id_a_lower = id_a.to_lowercase();
        let id_b = valid_id("44030619880521123");
        let id_b_grouped = group(&id_b, &[6, 8], " ");
        let id_c = valid_id("31011519900101441");
        let bad18 = bad_id("32010219851203456");
        let card16 = valid_card("622202123456789");
        let card16_spaced = group(&card16, &[4, 4, 4], " ");
        let card19 = valid_card("621700001234567890");
        let card19_dashed = group(&card19, &[4, 4, 4, 4], "-");
        let bad16 = bad_card("202503011234567");
        let visa = "4111111111111111";
        assert!(!id_number_checksum_ok(&bad18) && !luhn_ok(&bad18));
        assert!(!luhn_ok(&bad16));

        vec![
            case(
                "电话１３８００１３８０００，学费６９９９元，共６０课时，２０２５年３月１日付款。".into(),
                &[],
                &["１３８００１３８０００", "13800138000"],
                &["6999元", "60课时", "2025年3月1日"],
            ),
            case(
                format!("身份证号\u{200B}{}，卡号 {}，邮箱 ｌｉ．ｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ。", interleave(&id_c, "\u{200B}"), group(&card16, &[4, 4, 4], "\u{3000}")),
                &[],
                &[&id_c, &card16, "li.na@example.com", "example"],
                &["身份证号", "卡号", "邮箱"],
            ),
            case(
                "手机 138 - 0013 - 8000，报名费 1 200 元，上课时间 19:30-21:00。".into(),
                &[],
                &["138 - 0013 - 8000", "13800138000"],
                &["1 200 元", "19:30-21:00"],
            ),
            case(
                "我叫张伟，手机13812345678，报名时销售承诺60课时，实际只上了12课时。".into(),
                &["张伟"],
                &["张伟", "13812345678"],
                &["60课时", "12课时", "我叫"],
            ),
            case(
                "联系电话：138-1234-5678，2025-03-01 支付了6999元。".into(),
                &[],
                &["138-1234-5678"],
                &["联系电话：", "2025-03-01", "支付了6999元"],
            ),
            case(
                "My mobile is +86 139 8765 4321 and I paid ¥12,800 on 2025-03-01.".into(),
                &[],
                &["+86 139 8765 4321", "139 8765 4321"],
                &["¥12,800", "2025-03-01", "My mobile is"],
            ),
            case(
                "家长手机 0086 13712345678（微信同号），课程费用 $1,299.00。".into(),
                &[],
                &["0086 13712345678", "13712345678"],
                &["$1,299.00", "微信同号"],
            ),
            case(
                "机构座机010-12345678一直无人接听，上海分部(021)87654321也打不通。".into(),
                &[],
                &["010-12345678", "(021)87654321", "87654321"],
                &["一直无人接听", "也打不通"],
            ),
            case(
                "深圳校区电话 0755 8765 4321，退款金额 12800元，退款比例 80%。".into(),
                &[],
                &["0755 8765 4321", "8765 4321"],
                &["12800元", "80%"],
            ),
            case(
                format!("本人身份证号{id_b}，合同编号{bad18}，签约日期2024年9月1日。"),
                &[],
                &[&id_b],
                &[&bad18, "2024年9月1日", "身份证号"],
            ),
            case(
                format!("My ID number is {id_a_lower} and it was uploaded to their app without consent."),
                &[],
                &[&id_a_lower, &id_a],
                &["My ID number is", "without consent"],
            ),
            case(
                format!("家长身份证 {id_b_grouped} 被机构拍照留存。"),
                &[],
                &[&id_b_grouped, &id_b],
                &["被机构拍照留存"],
            ),
            case(
                format!("退款请打到我的银行卡 {card16_spaced}，订单号 {bad16}。"),
                &[],
                &[&card16_spaced, &card16],
                &[&bad16, "银行卡"],
            ),
            case(
                format!("Refund card {card19_dashed}; order no. {bad16} was charged $1,299.00 for 48 hours."),
                &[],
                &[&card19_dashed, &card19],
                &[&bad16, "$1,299.00", "48 hours"],
            ),
            case(
                format!("卡号{card19}，共分12期，每期¥1,066.67。"),
                &[],
                &[&card19],
                &["12期", "¥1,066.67"],
            ),
            case(
                "邮箱 zhangsan_88@example.com 一直没有收到电子发票。".into(),
                &[],
                &["zhangsan_88@example.com", "zhangsan_88"],
                &["邮箱", "电子发票"],
            ),
            case(
                "Please contact me at li.na+refund@mail.example.org.cn about the 48 hours of lessons.".into(),
                &[],
                &["li.na+refund@mail.example.org.cn", "example.org"],
                &["48 hours"],
            ),
            case(
                "课程顾问让我加他微信：abc_123，说可以退50%。".into(),
                &[],
                &["abc_123"],
                &["微信：", "50%", "课程顾问"],
            ),
            case(
                "QQ号 12345678 的老师已经把我拉黑了。".into(),
                &[],
                &["12345678"],
                &["QQ号", "的老师"],
            ),
            case(
                "Add my qq 123456789 or WeChat: li_na_2024 for the receipts.".into(),
                &[],
                &["123456789", "li_na_2024"],
                &["qq ", "WeChat: ", "receipts"],
            ),
            case(
                "班主任的微信号 wxid_k2j3h4g5 已经注销。".into(),
                &[],
                &["wxid_k2j3h4g5", "k2j3h4g5"],
                &["微信号", "已经注销"],
            ),
            case(
                "vx: zhangteacher01 已经不回复了，2025年3月1日之后就失联。".into(),
                &[],
                &["zhangteacher01"],
                &["vx:", "2025年3月1日"],
            ),
            case(
                "我住在北京市海淀区中关村大街27号，机构就在楼下。".into(),
                &[],
                &["中关村大街27号", "27号"],
                &["我住在", "机构就在楼下"],
            ),
            case(
                "合同上写的地址是上海市浦东新区世纪大道100号2栋301室，共缴费¥19,800。".into(),
                &[],
                &["世纪大道100号", "2栋301室", "301室"],
                &["¥19,800", "地址是"],
            ),
            case(
                "家住广州市天河区体育西路 88 号，孩子在附近校区上课，一年学费 26800 元。".into(),
                &[],
                &["体育西路 88 号", "88 号"],
                &["26800 元", "家住"],
            ),
            case(
                "阳光小区3栋2单元501室的邻居也报了这个班，学费 15800 元。".into(),
                &[],
                &["阳光小区", "3栋2单元501室", "501"],
                &["15800 元", "的邻居"],
            ),
            case(
                "The campus is at No. 27 Zhongguancun Street, Haidian District; the course cost 12800 yuan.".into(),
                &[],
                &["27 Zhongguancun Street", "Zhongguancun"],
                &["12800 yuan", "Haidian District"],
            ),
            case(
                "Send the refund letter to 123 Main Street. I paid 3 installments of $499 in 2024.".into(),
                &[],
                &["123 Main Street"],
                &["$499", "in 2024", "3 installments"],
            ),
            case(
                "王芳女士于2024年9月报名，支付了6999元，至今未退。".into(),
                &["王芳"],
                &["王芳"],
                &["女士", "2024年9月", "支付了6999元"],
            ),
            case(
                "Zhang Wei (listed as zhang wei in the contract) says ZHANG WEI's account was frozen; Wei Zhang is the same person.".into(),
                &["Zhang Wei"],
                &["Zhang Wei", "Wei Zhang"],
                &["in the contract", "account was frozen"],
            ),
            case(
                "张老师说张伟必须再买48课时才能退费。".into(),
                &["张伟"],
                &["张伟", "张老师"],
                &["48课时", "老师说"],
            ),
            case(
                "销售李明华老师承诺七天无理由退款，实际拖了30天。".into(),
                &[],
                &["李明华"],
                &["老师承诺", "30天", "销售"],
            ),
            case(
                "Mr. Chen Jun promised a full refund within 7 days but only 20% was returned.".into(),
                &[],
                &["Chen Jun"],
                &["Mr. ", "7 days", "20%"],
            ),
            case(
                format!("订单号 {bad16} 在 2025-03-01 12:30 生成，共 60 课时，优惠 15%。"),
                &[],
                &[],
                &[&bad16, "2025-03-01 12:30", "60 课时", "15%"],
            ),
            case(
                "我的手机是13912345678，邮箱是 wang.xiaoming@163.com，微信同号。".into(),
                &[],
                &["13912345678", "wang.xiaoming@163.com"],
                &["我的手机是", "微信同号"],
            ),
            case(
                format!("Teacher's WeChat: teacher_wang88; my QQ: 987654321; office 021-8765-4321; card {visa}."),
                &[],
                &["teacher_wang88", "987654321", "021-8765-4321", "8765-4321", visa],
                &["WeChat: ", "my QQ: ", "office "],
            ),
            case(
                "2023年报名，2024年退课，退费比例 80%，金额 ¥8,000.00，共 120 课时。".into(),
                &[],
                &[],
                &["2023年报名", "2024年退课", "80%", "¥8,000.00", "120 课时"],
            ),
            case(
                "我知道3号要上课，但老师没来，地铁4号线也停了。".into(),
                &[],
                &[],
                &["我知道3号要上课", "地铁4号线"],
            ),
            case(
                format!("投诉人刘洋（身份证{id_c}）于 2025-01-15 通过微信 liuyang_1990 付款 ¥5,980。"),
                &["刘洋"],
                &["刘洋", &id_c, "liuyang_1990"],
                &["2025-01-15", "¥5,980", "投诉人"],
            ),
            case(
                "Ms. Li Na from the sales team called me from 13698765432 at 9:30 on 2025/03/02.".into(),
                &[],
                &["Li Na", "13698765432"],
                &["9:30", "2025/03/02", "sales team"],
            ),
            case(
                "旧身份证号码：110105491231002，已过期。".into(),
                &[],
                &["110105491231002"],
                &["旧身份证号码：", "已过期"],
            ),
            case(
                "The contract (No. 2024-0815) lists 36 lessons at ¥350 each, valid for 1 year.".into(),
                &[],
                &[],
                &["No. 2024-0815", "36 lessons", "¥350", "1 year"],
            ),
            case(
                "我在淘宝付款3999元，交易单号 4200001234202503011234567890 与此无关。".into(),
                &[],
                &[],
                &["3999元", "4200001234202503011234567890"],
            ),
            case(
                "家长 Li Hua 说 Lihua Academy 的课程顾问王强经理只退了 ¥2,000。".into(),
                &["Li Hua"],
                &["Li Hua", "王强"],
                &["Lihua Academy", "¥2,000", "经理"],
            ),
        ]
    }

    #[test]
    fn corpus_has_no_surviving_pii_and_keeps_ordinary_numbers() {
        let cases = corpus();
        assert!(cases.len() >= 30);
        for c in &cases {
            let out = check_invariants(&c.text, &c.names)
                .unwrap_or_else(|e| panic!("invariants failed for {:?}: {e}", c.text));
            let lower = out.text.to_lowercase();
            for s in &c.secrets {
                assert!(
                    !lower.contains(&s.to_lowercase()),
                    "{s:?} survived in {:?}",
                    out.text
                );
                let digits = digits_of(s);
                if digits.len() >= 6 {
                    assert!(
                        !out.text.contains(&digits),
                        "digits of {s:?} survived in {:?}",
                        out.text
                    );
                }
            }
            for k in &c.keep {
                assert!(
                    out.text.contains(normalize(k).as_str()),
                    "{k:?} was lost: {:?}",
                    out.text
                );
            }
        }
    }

    // -- look-alike variants ------------------------------------------------------

    /// ASCII printable → its full-width form (`1` → `１`, `@` → `＠`).
    fn full_width(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                ' ' => '\u{3000}',
                _ => c,
            })
            .collect()
    }

    /// Every other character full-width.
    fn mixed_width(s: &str) -> String {
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    full_width(&c.to_string())
                } else {
                    c.to_string()
                }
            })
            .collect()
    }

    /// `sep` between every two characters.
    fn interleave(s: &str, sep: &str) -> String {
        let chars: Vec<String> = s.chars().map(String::from).collect();
        chars.join(sep)
    }

    /// The text reduced to lower-case ASCII letters, digits and `@`: what a reader
    /// could still piece a number or an address together from.
    fn compact(s: &str) -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '@')
            .map(|c| c.to_ascii_lowercase())
            .collect()
    }

    /// Look-alikes of a number: full-width, mixed, zero-width and bidi split, and
    /// split by spaces and dashes in its usual groups and between every digit.
    fn number_variants(n: &str, groups: &[usize]) -> Vec<String> {
        let mut v = vec![n.to_owned(), full_width(n), mixed_width(n)];
        for zw in [
            "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}", "\u{00AD}",
        ] {
            v.push(interleave(n, zw));
            v.push(group(n, groups, zw));
        }
        v.push(format!("\u{202E}{n}\u{202C}"));
        v.push(interleave(n, "\u{2066}"));
        v.push(interleave(&full_width(n), "\u{200B}"));
        for sep in [
            " ", "-", " - ", "\u{3000}", "\u{FF0D}", "\u{2013}", "\u{2014}", "\u{00A0}", "\u{2010}",
        ] {
            v.push(group(n, groups, sep));
            v.push(full_width(&group(n, groups, sep)));
            v.push(interleave(n, sep));
        }
        v.push(group(&full_width(n), groups, "\u{3000}"));
        v
    }

    fn email_variants(e: &str) -> Vec<String> {
        let mut v = vec![e.to_owned(), full_width(e), mixed_width(e)];
        for zw in ["\u{200B}", "\u{200D}", "\u{2060}", "\u{FEFF}", "\u{202E}"] {
            v.push(interleave(e, zw));
        }
        v.push(e.replace('@', " @ "));
        v.push(e.replace('@', " @ ").replace('.', " . "));
        v.push(e.replace('.', "。"));
        v.push(full_width(&e.replace('.', "。")));
        v.push(e.replace('@', "\u{FF20}"));
        v.push(e.replace('.', "\u{FF0E}"));
        v.push(e.replace('@', "\u{FE6B}"));
        v
    }

    #[test]
    fn look_alike_variants_do_not_leak() {
        let id = valid_id("44030619880521123");
        let id_x = valid_id("11010519491231002");
        let card16 = valid_card("622202123456789");
        let card19 = valid_card("621700001234567890");
        let secrets: Vec<(String, Vec<String>)> = vec![
            (
                "13800138000".into(),
                number_variants("13800138000", &[3, 4]),
            ),
            (
                "19912345678".into(),
                number_variants("19912345678", &[3, 4]),
            ),
            (id.clone(), number_variants(&id, &[6, 8])),
            (id_x.clone(), number_variants(&id_x, &[6, 8])),
            (card16.clone(), number_variants(&card16, &[4, 4, 4])),
            (card19.clone(), number_variants(&card19, &[4, 4, 4, 4])),
            (
                "zhangsan_88@example.com".into(),
                email_variants("zhangsan_88@example.com"),
            ),
            (
                "li.na@mail.example.org.cn".into(),
                email_variants("li.na@mail.example.org.cn"),
            ),
        ];
        let contexts = [
            "电话{}",
            "我的手机号是{}，请尽快联系。",
            "身份证号：{}，已上传。",
            "退款请打到我的卡{}谢谢",
            "邮箱{}一直没有收到发票",
            "家长（{}）说课程停了",
            "Call me at {} please.",
            "{}",
        ];
        let mut leaks = Vec::new();
        let mut tried = 0;
        for (secret, variants) in &secrets {
            let needle = compact(secret);
            for v in variants {
                for ctx in contexts {
                    let text = ctx.replace("{}", v);
                    tried += 1;
                    let out = redact(&text, &[]);
                    if compact(&out.text).contains(&needle) {
                        leaks.push(format!("{text:?} -> {:?}", out.text));
                    }
                }
            }
        }
        assert!(tried > 1000, "only {tried} variants");
        assert!(
            leaks.is_empty(),
            "{} of {tried} leaked:\n{}",
            leaks.len(),
            leaks.join("\n")
        );
    }

    #[test]
    fn the_issue_example_is_redacted_and_published_normalised() {
        let out = redact("电话１３８００１３８０００，学费６９９９元。", &[]);
        assert_eq!(out.text, "电话[电话/phone]，学费6999元。");
        assert_eq!(
            kinds("电话１３８００１３８０００", &[]),
            vec![PiiKind::Phone]
        );
    }

    #[test]
    fn normalize_folds_width_and_strips_invisible_controls() {
        assert_eq!(normalize("ＡＢＣ１２３＠"), "ABC123@");
        assert_eq!(normalize("1\u{200B}3\u{202E}8\u{FEFF}"), "138");
        assert_eq!(normalize("１\u{0301}２"), "12");
        assert_eq!(normalize("café 学费"), "café 学费");
        assert_eq!(normalize("a\u{3000}b"), "a b");
        // Party names are normalised the same way.
        assert_eq!(
            redact("ＺｈａｎｇＷｅｉ paid", &["ZhangWei"]).text,
            "[姓名/name] paid"
        );
        assert_eq!(
            redact("Zhang\u{200B}Wei paid", &["Ｚｈａｎｇ Ｗｅｉ"]).text,
            "ZhangWei paid"
        );
    }

    // -- targeted behaviour -------------------------------------------------------

    fn kinds(text: &str, names: &[&str]) -> Vec<PiiKind> {
        redact(text, names)
            .findings
            .iter()
            .map(|f| f.kind)
            .collect()
    }

    #[test]
    fn kinds_are_labelled_correctly() {
        use PiiKind::*;
        assert_eq!(kinds("手机13812345678", &[]), [Phone]);
        assert_eq!(kinds("座机 010-12345678", &[]), [Phone]);
        assert_eq!(
            kinds(&format!("号码{}", valid_id("44030619880521123")), &[]),
            [IdNumber]
        );
        assert_eq!(kinds("卡 4111 1111 1111 1111", &[]), [BankCard]);
        assert_eq!(kinds("mail a.b@example.com", &[]), [Email]);
        assert_eq!(kinds("微信：13812345678", &[]), [ImId]);
        assert_eq!(kinds("QQ: 12345678@qq.com", &[]), [Email]);
        assert_eq!(kinds("中关村大街27号", &[]), [Address]);
        assert_eq!(kinds("张伟老师", &[]), [Name]);
    }

    #[test]
    fn labels_are_kept_and_offsets_point_into_original() {
        let text = "微信号：abc_123，QQ 12345678";
        let out = redact(text, &[]);
        assert_eq!(out.text, "微信号：[QQ/微信 ID]，QQ [QQ/微信 ID]");
        let raw: Vec<&str> = out.findings.iter().map(|f| &text[f.start..f.end]).collect();
        assert_eq!(raw, ["abc_123", "12345678"]);
    }

    #[test]
    fn honorific_keeps_title() {
        assert_eq!(redact("王芳女士", &["王芳"]).text, "[姓名/name]女士");
        assert_eq!(redact("张女士来电", &["张伟"]).text, "[姓名/name]女士来电");
        assert_eq!(redact("欧阳娜娜老师", &[]).text, "[姓名/name]老师");
        // Not names: job titles and common words before an honorific.
        for t in [
            "课程顾问",
            "高中老师",
            "谢谢老师",
            "班主任老师",
            "向老师反映",
            "任课老师",
            "新东方老师",
        ] {
            assert_eq!(redact(t, &[]).text, t);
        }
    }

    #[test]
    fn surname_after_a_word_is_not_a_name() {
        let t = "上周李老师没来，课程顾问也不接电话。";
        assert_eq!(redact(t, &[]).text, t);
    }

    #[test]
    fn building_after_street_is_included() {
        assert_eq!(
            redact("上课地点：朝阳区建国路88号SOHO现代城5号楼1201室。", &[]).text,
            "上课地点：[地址/address]。"
        );
        assert_eq!(
            redact("在中关村大街27号中关村大厦12层", &[]).text,
            "在[地址/address]"
        );
    }

    #[test]
    fn letters_glued_to_a_mobile_are_kept() {
        assert_eq!(redact("Tel13812345678", &[]).text, "Tel[电话/phone]");
    }

    #[test]
    fn short_and_blank_names_are_ignored() {
        let text = "X 与 A 说 a 和 张";
        assert_eq!(redact(text, &["X", "A", " ", "", "张"]).text, text);
    }

    #[test]
    fn latin_names_need_word_boundaries() {
        assert_eq!(
            redact("Lina met Li.", &["Li"]).text,
            "Lina met [姓名/name]."
        );
        assert_eq!(redact("Wangfujing", &["Wang Fu"]).text, "Wangfujing");
    }

    #[test]
    fn failing_checksums_survive() {
        let bad18 = bad_id("11010519491231002");
        let bad16 = bad_card("411111111111111");
        let text = format!("订单 {bad18} / {bad16}");
        assert_eq!(redact(&text, &[]).text, text);
    }

    #[test]
    fn card_tail_is_optional() {
        // A Luhn-valid 16-digit card followed by an unrelated short group.
        let out = redact("卡号 4111 1111 1111 1111 12 期", &[]);
        assert_eq!(out.text, "卡号 [银行卡号/bank card] 12 期");
    }

    #[test]
    fn english_words_after_wechat_are_not_ids() {
        for t in [
            "WeChat Pay was used",
            "WeChat is popular",
            "pay via wechat transfer",
        ] {
            assert_eq!(redact(t, &[]).text, t);
        }
        assert_eq!(redact("WeChat zhang_88", &[]).text, "WeChat [QQ/微信 ID]");
    }

    #[test]
    fn adjacent_findings_are_all_caught() {
        // Email directly followed by a mobile number needs a second pass.
        let out = redact("a@b.com13812345678", &[]);
        assert_eq!(out.text, "[邮箱/email][电话/phone]");
        assert_eq!(out.findings.len(), 2);
    }

    #[test]
    fn literal_placeholders_are_untouched() {
        let text = "[姓名/name] [电话/phone] [QQ/微信 ID]";
        assert_eq!(redact(text, &["name", "phone", "微信"]).text, text);
    }

    #[test]
    fn empty_input() {
        let out = redact("", &["张伟"]);
        assert_eq!(out.text, "");
        assert!(out.findings.is_empty());
    }

    // -- property tests -------------------------------------------------------------

    const TOKENS: &[&str] = &[
        "13812345678",
        "138-1234-5678",
        "+86 139 8765 4321",
        "0086",
        "010-12345678",
        "(021)87654321",
        "11010519491231002X",
        "11010519491231002x",
        "4111 1111 1111 1111",
        "6222021234567890",
        "a.b@example.com",
        "@",
        ".",
        "QQ: ",
        "QQ号",
        "微信：",
        "微信",
        "WeChat ",
        "vx ",
        "wxid_abc123",
        "abc_123",
        "12345678",
        "中关村大街",
        "世纪大道",
        "27号",
        "2栋",
        "301室",
        "阳光小区",
        "No. 27 ",
        "Zhongguancun ",
        "Street",
        "Main",
        " St",
        "张伟",
        "李明华",
        "欧阳",
        "老师",
        "先生",
        "女士",
        "Mr. ",
        "Chen",
        "¥12,800",
        "2025-03-01",
        "60课时",
        "48 hours",
        "80%",
        " ",
        "-",
        "，",
        "。",
        ":",
        "[",
        "]",
        "[姓名/name]",
        "[电话/phone]",
        "[QQ/微信 ID]",
        "😀",
        "👨‍👩‍👧",
        "é",
        "İ",
        "ß",
        "\u{3000}",
        "x",
        "X",
        "0",
        "1",
        "9",
        "号",
        "路",
        "道",
        "知",
        "在",
        "name",
        "phone",
        "Li",
        "li",
    ];

    const NAME_SETS: &[&[&str]] = &[
        &[],
        &["张伟"],
        &["Zhang Wei", "李明华"],
        &["name", "电话", "]x", "e]"],
        &["Li", "X", ""],
        &["İ", "ß ss", "😀😀"],
    ];

    fn soup() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(TOKENS), 0..30).prop_map(|v| v.concat())
    }

    fn wild() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            any::<char>(),
            proptest::char::range('\u{4e00}', '\u{9fff}'),
            proptest::char::range('\u{1f300}', '\u{1faff}'),
            proptest::char::range('0', '9'),
            Just(' '),
            Just('-'),
        ];
        prop::collection::vec(ch, 0..120).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_strings_hold_invariants(s in any::<String>(), ni in 0..NAME_SETS.len()) {
            check_invariants(&s, NAME_SETS[ni])?;
        }

        #[test]
        fn cjk_and_emoji_hold_invariants(s in wild(), ni in 0..NAME_SETS.len()) {
            check_invariants(&s, NAME_SETS[ni])?;
        }

        #[test]
        fn token_soup_holds_invariants(s in soup(), ni in 0..NAME_SETS.len()) {
            check_invariants(&s, NAME_SETS[ni])?;
        }
    }
}

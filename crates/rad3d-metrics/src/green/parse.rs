//! GREEN's response cleaning and parsing (`clean_responses`, `parse_error_counts`).
//!
//! GREEN's Python regular expressions, and how they are reproduced:
//! - section: `\[{category}\]:\s*(.*?)(?:\n\s*\n|\Z)` with DOTALL — the same pattern in the
//!   `regex` crate (leftmost-first, lazy), with `\s` widened to Python's `str.isspace` set;
//! - a section starting with `No` has no counts;
//! - matched findings: `^\b\d+\b(?=\.)` — a digit run at the very start followed by `.`;
//! - errors: the lines `\([a-f]\) .*` (else `\([1-6]\) .*`), sorted as strings; for each
//!   sub-category every line starting with its prefix sets the count (so the last in sorted
//!   order wins) to the first `(?<=: )\b\d+\b(?=\.)` in the line, if any.
//!
//! `\d` is any Unicode decimal digit in both Python and the `regex` crate; counts too large
//! for `u64` (Python has unbounded ints) saturate.

use std::sync::LazyLock;

use regex::Regex;

use super::{CATEGORIES, GreenCounts};

/// GREEN's `\s`, i.e. Python's: Unicode White_Space plus U+001C..U+001F.
const PY_SPACE: &str = r"[\s\x1c-\x1f]";

static SECTIONS: LazyLock<[Regex; 3]> = LazyLock::new(|| {
    CATEGORIES.map(|c| {
        Regex::new(&format!(
            r"(?s)\[{}\]:{PY_SPACE}*(.*?)(?:\n{PY_SPACE}*\n|\z)",
            regex::escape(c)
        ))
        .expect("static pattern")
    })
});
static LETTER_LINES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\([a-f]\) .*").expect("static pattern"));
static NUMBER_LINES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\([1-6]\) .*").expect("static pattern"));
static DIGIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d$").expect("static pattern"));

/// GREEN's `clean_responses`: keeps what follows the last `<|assistant|>` marker (and the
/// explanation header handling it has), then drops `</s>` and `<unk>`.
pub fn clean_response(response: &str) -> String {
    let mut response = response;
    if response.contains("[Explanation]:") {
        if let Some((_, tail)) = response.rsplit_once("<|assistant|>") {
            response = tail;
        }
        // GREEN writes `("[Explanation]:\n    <Explanation>\n" or "...") in response`,
        // which Python evaluates as a test of the first string only.
        if response.contains("[Explanation]:\n    <Explanation>\n") {
            response = response.split("[Explanation]:").nth(1).unwrap_or("");
        } else if let Some((_, tail)) = response.rsplit_once("[Explanation]:") {
            response = tail;
        }
    }
    if let Some((_, tail)) = response.rsplit_once("<|assistant|>") {
        response = tail;
    }
    response.replace("</s>", "").replace("<unk>", "")
}

/// Parses a judge response into GREEN's counts.
pub fn parse_response(response: &str) -> GreenCounts {
    GreenCounts {
        significant: error_counts(response, 0),
        insignificant: error_counts(response, 1),
        matched: matched_count(response),
    }
}

/// The text of a section (group 1 of GREEN's pattern), `None` when absent or starting
/// with "No".
fn section(text: &str, category: usize) -> Option<&str> {
    let body = SECTIONS[category].captures(text)?.get(1)?.as_str();
    (!body.starts_with("No")).then_some(body)
}

fn matched_count(text: &str) -> u64 {
    section(text, 2)
        .and_then(|body| {
            let digits = digit_run(body);
            body[digits.len()..]
                .starts_with('.')
                .then(|| parse_digits(digits))
                .flatten()
        })
        .unwrap_or(0)
}

fn error_counts(text: &str, category: usize) -> [u64; 6] {
    let mut counts = [0u64; 6];
    let Some(body) = section(text, category) else {
        return counts;
    };
    let mut lines: Vec<&str> = LETTER_LINES.find_iter(body).map(|m| m.as_str()).collect();
    let numbered = lines.is_empty();
    if numbered {
        lines = NUMBER_LINES.find_iter(body).map(|m| m.as_str()).collect();
    }
    // Byte order of UTF-8 is code-point order, as Python sorts str.
    lines.sort_unstable();
    for (k, count) in counts.iter_mut().enumerate() {
        let prefix = if numbered {
            format!("({}) ", k + 1)
        } else {
            format!("({}) ", (b'a' + k as u8) as char)
        };
        for line in lines.iter().filter(|l| l.starts_with(&prefix)) {
            if let Some(n) = count_after_colon(line) {
                *count = n;
            }
        }
    }
    counts
}

/// The first `(?<=: )\b\d+\b(?=\.)` of a line: a whole digit run right after ": " and
/// right before ".".
fn count_after_colon(line: &str) -> Option<u64> {
    line.match_indices(": ").find_map(|(i, _)| {
        let rest = &line[i + 2..];
        let digits = digit_run(rest);
        (!digits.is_empty() && rest[digits.len()..].starts_with('.'))
            .then(|| parse_digits(digits))
            .flatten()
    })
}

/// The longest prefix of Unicode decimal digits.
fn digit_run(s: &str) -> &str {
    let end = s
        .char_indices()
        .find(|&(_, c)| !is_decimal(c))
        .map_or(s.len(), |(i, _)| i);
    &s[..end]
}

fn is_decimal(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && DIGIT.is_match(c.encode_utf8(&mut [0; 4])))
}

/// Python's `int()` of a digit run (any script's decimal digits), saturating.
fn parse_digits(digits: &str) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    Some(digits.chars().fold(0u64, |n, c| {
        n.saturating_mul(10).saturating_add(digit_value(c))
    }))
}

/// Value of a decimal digit: Unicode encodes each script's digits 0–9 contiguously and in
/// order, so it is the distance from the start of the run of digits it sits in, mod 10.
fn digit_value(c: char) -> u64 {
    if let Some(v) = c.to_digit(10) {
        return u64::from(v);
    }
    let mut start = c as u32;
    while let Some(prev) = start.checked_sub(1).and_then(char::from_u32) {
        if !is_decimal(prev) {
            break;
        }
        start -= 1;
    }
    u64::from((c as u32 - start) % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_digits() {
        assert_eq!(parse_digits("٣"), Some(3));
        assert_eq!(parse_digits("𝟗𝟘"), Some(90));
        assert_eq!(parse_digits("99999999999999999999999"), Some(u64::MAX));
    }

    #[test]
    fn count_needs_colon_space_and_period() {
        assert_eq!(count_after_colon("(a) x: 12. y"), Some(12));
        assert_eq!(count_after_colon("(a) x: 12 y"), None);
        assert_eq!(count_after_colon("(a) x:12."), None);
        assert_eq!(count_after_colon("(a) x: 2a. y: 3."), Some(3));
    }
}

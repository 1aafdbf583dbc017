//! METEOR 1.5's English `-norm` normaliser (its Moses-derived tokenizer).
//!
//! Each step mirrors one regular-expression or literal replacement of the
//! reference normaliser, in the same order and with the same leftmost,
//! non-overlapping match semantics, so tokens come out exactly as the jar
//! sees them (before its final lower-casing, which [`normalize_line`] also applies).

use std::collections::HashMap;

/// How a nonbreaking prefix keeps its trailing dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixKind {
    /// The dot is never split off (`Mr.`).
    Any,
    /// The dot stays only before a number (`No. 5`).
    NumericOnly,
}

/// Nonbreaking prefixes as read from `nonbreaking/english.prefixes`.
#[derive(Debug, Clone, Default)]
pub struct NonbreakingPrefixes {
    map: HashMap<String, PrefixKind>,
}

impl NonbreakingPrefixes {
    /// Parses the prefix file format: one prefix per line, `#` comments, an
    /// optional `#NUMERIC_ONLY#` marker as second token; later entries win.
    pub fn parse(text: &str) -> Self {
        let mut map = HashMap::new();
        for line in java_lines(text) {
            let mut tok = java_tokens(line);
            let Some(pre) = tok.next() else { continue };
            if pre.starts_with('#') {
                continue;
            }
            let kind = match tok.next() {
                Some("#NUMERIC_ONLY#") => PrefixKind::NumericOnly,
                _ => PrefixKind::Any,
            };
            map.insert(pre.to_string(), kind);
        }
        Self { map }
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn get(&self, pre: &str) -> Option<PrefixKind> {
        self.map.get(pre).copied()
    }
}

/// Splits text into lines the way `BufferedReader.readLine` does (`\n`, `\r`, `\r\n`).
pub(crate) fn java_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\n', '\r']) {
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

/// `java.util.StringTokenizer`'s default delimiters.
pub(crate) fn is_tokenizer_delim(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}')
}

/// Tokens as `new StringTokenizer(s)` yields them.
pub(crate) fn java_tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_tokenizer_delim).filter(|t| !t.is_empty())
}

/// `String.trim()`: strips every char at or below U+0020 from both ends.
pub(crate) fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// The letters of the reference's `alpha` class (Western European and Cyrillic ranges).
fn is_alpha(c: char) -> bool {
    matches!(c,
        'A'..='Z' | 'a'..='z'
        | '\u{160}' | '\u{17d}' | '\u{161}' | '\u{17e}' | '\u{178}'
        | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}' | '\u{f8}'..='\u{17e}'
        | '\u{400}'..='\u{4ff}' | '\u{500}'..='\u{527}'
        | '\u{a640}'..='\u{a66e}' | '\u{a67e}'..='\u{a697}' | '\u{1d00}'..='\u{1d7f}')
}

/// Java's `\p{Digit}` without the Unicode flag: ASCII digits only.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn is_alnum(c: char) -> bool {
    is_digit(c) || is_alpha(c)
}

/// Java's `\s` without the Unicode flag.
fn is_java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

/// The reference's whitespace class `r_white` (ASCII space plus a few Unicode spaces).
fn is_norm_white(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{a0}'
    )
}

/// Replaces every leftmost, non-overlapping occurrence of `(a)[mid](b)` — a
/// three-character regex with context groups — by `a` + `repl` + `b`.
fn replace_triples(
    s: String,
    a: impl Fn(char) -> bool,
    mid: char,
    b: impl Fn(char) -> bool,
    repl: &str,
) -> String {
    // Most lines lack most of the characters these passes look for: no copy then.
    if !s.contains(mid) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 8);
    if s.is_ascii() {
        // ASCII bytes are the chars: scan them in place instead of collecting chars.
        replace_triples_in(s.as_bytes(), &a, mid, &b, repl, &mut out);
    } else {
        let chars: Vec<char> = s.chars().collect();
        replace_triples_in(&chars, &a, mid, &b, repl, &mut out);
    }
    out
}

/// [`replace_triples`] over a line's chars (or, for ASCII, its bytes), appended to `out`.
fn replace_triples_in<C: Copy + Into<char>>(
    chars: &[C],
    a: &impl Fn(char) -> bool,
    mid: char,
    b: &impl Fn(char) -> bool,
    repl: &str,
    out: &mut String,
) {
    let at = |i: usize| -> char { chars[i].into() };
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() && at(i + 1) == mid && a(at(i)) && b(at(i + 2)) {
            out.push(at(i));
            out.push_str(repl);
            out.push(at(i + 2));
            i += 3;
        } else {
            out.push(at(i));
            i += 1;
        }
    }
}

/// Wraps every char that is not alphanumeric, whitespace or `. ' \` , - ‘ ’` in spaces.
fn separate_other(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        let keep = is_alnum(c)
            || is_java_space(c)
            || matches!(c, '.' | '\'' | '`' | ',' | '-' | '\u{2018}' | '\u{2019}');
        if keep {
            out.push(c);
        } else {
            out.push(' ');
            out.push(c);
            out.push(' ');
        }
    }
    out
}

/// `\.([\.]+)` → ` DOTMULTI$1`: a run of n ≥ 2 dots becomes ` DOTMULTI` + n−1 dots.
fn escape_dot_runs(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '.' && chars.peek() == Some(&'.') {
            out.push_str(" DOTMULTI");
            while chars.peek() == Some(&'.') {
                out.push('.');
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `DOTMULTI\.([^\.])` → `DOTDOTMULTI $1`.
fn split_multi_dot(s: &str) -> String {
    const PAT: &str = "DOTMULTI.";
    let mut out = String::with_capacity(s.len() + 16);
    let mut pos = 0;
    while let Some(off) = s[pos..].find(PAT) {
        let at = pos + off;
        let after = at + PAT.len();
        match s[after..].chars().next() {
            Some(c) if c != '.' => {
                out.push_str(&s[pos..at]);
                out.push_str("DOTDOTMULTI ");
                out.push(c);
                pos = after + c.len_utf8();
            }
            _ => {
                // No match here: the next attempt starts one char further on.
                let next = at + 1;
                out.push_str(&s[pos..next]);
                pos = next;
            }
        }
    }
    out.push_str(&s[pos..]);
    out
}

/// `([`‘’])` → `'` then `([“”]|'')` → ` " `.
fn normalize_quotes(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s
        .chars()
        .map(|c| match c {
            '`' | '\u{2018}' | '\u{2019}' => '\'',
            c => c,
        })
        .peekable();
    while let Some(c) = chars.next() {
        if c == '\u{201c}' || c == '\u{201d}' {
            out.push_str(" \" ");
        } else if c == '\'' && chars.peek() == Some(&'\'') {
            chars.next();
            out.push_str(" \" ");
        } else {
            out.push(c);
        }
    }
    out
}

/// Normalises one line as `Normalizer.normalizeLine(line, LANG_EN, true)`
/// followed by `toLowerCase()` (what `-norm` does), returning the tokens.
pub fn normalize_line(line: &str, nbp: &NonbreakingPrefixes) -> Vec<String> {
    let mut w = format!(" {line} ");
    w = separate_other(&w);

    if w.contains("..") {
        w = escape_dot_runs(&w);
    }
    while w.contains("DOTMULTI.") {
        w = split_multi_dot(&w);
        w = w.replace("DOTMULTI.", "DOTDOTMULTI");
    }

    w = replace_triples(w, |c| !is_digit(c), ',', |c| !is_digit(c), " , ");
    w = replace_triples(w, is_digit, ',', |c| !is_digit(c), " , ");
    w = replace_triples(w, |c| !is_digit(c), ',', is_digit, " , ");

    if w.contains(['`', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}']) || w.contains("''") {
        w = normalize_quotes(&w);
    }

    if w.contains('\u{2013}') {
        w = w.replace('\u{2013}', "-");
    }
    if w.contains("--") {
        w = w.replace("--", "-");
    }

    w = replace_triples(w, |c| is_alnum(c) || c == '.', '-', is_alnum, " ");

    // English splits contractions to the right ("do n't" stays "don 't").
    w = replace_triples(w, |c| !is_alpha(c), '\'', |c| !is_alpha(c), " ' ");
    w = replace_triples(w, |c| !is_alpha(c) && !is_digit(c), '\'', is_alpha, " ' ");
    w = replace_triples(w, is_alpha, '\'', |c| !is_alpha(c), " ' ");
    w = replace_triples(w, is_alpha, '\'', is_alpha, " '");
    w = replace_triples(w, is_digit, '\'', |c| c == 's', " '");

    let words: Vec<&str> = java_tokens(&w).collect();
    let mut sb = String::with_capacity(w.len() + 8);
    for (i, word) in words.iter().enumerate() {
        let next = words.get(i + 1);
        if word.chars().count() > 1 && word.ends_with('.') {
            let pre = &word[..word.len() - 1];
            let kind = nbp.get(pre);
            if pre.contains('.') && pre.chars().any(is_alpha) {
                // Dotted abbreviations lose their dots (U.S. -> US).
                sb.push_str(&word.replace('.', ""));
            } else if kind == Some(PrefixKind::Any)
                // Followed by lower case: catches unlisted abbreviations (Inc.).
                || next.is_some_and(|n| n.starts_with(|c: char| c.is_ascii_lowercase()))
                || (kind == Some(PrefixKind::NumericOnly)
                    && next.is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit())))
            {
                sb.push_str(word);
            } else {
                sb.push_str(pre);
                sb.push_str(" .");
            }
        } else {
            sb.push_str(word);
        }
        sb.push(' ');
    }
    w = sb;

    while w.contains("DOTDOTMULTI") {
        w = w.replace("DOTDOTMULTI", "DOTMULTI.");
    }
    if w.contains("DOTMULTI") {
        w = w.replace("DOTMULTI", ".");
    }

    // Collapse the normaliser's whitespace class, then Java's trim().
    let mut collapsed = String::with_capacity(w.len());
    let mut in_white = false;
    for c in w.chars() {
        if is_norm_white(c) {
            if !in_white {
                collapsed.push(' ');
            }
            in_white = true;
        } else {
            collapsed.push(c);
            in_white = false;
        }
    }
    let lowered = java_trim(&collapsed).to_lowercase();
    java_tokens(&lowered).map(str::to_string).collect()
}

/// Lower-cases and tokenises without normalising (the fallback when a caller
/// asks for no `-norm`); kept for symmetry with the jar's `-lower`.
pub fn lowercase_tokens(line: &str) -> Vec<String> {
    java_tokens(&line.to_lowercase())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nbp() -> NonbreakingPrefixes {
        NonbreakingPrefixes::parse("Mr\nDr\n#comment\nNo #NUMERIC_ONLY#\n")
    }

    fn norm(s: &str) -> String {
        normalize_line(s, &nbp()).join(" ")
    }

    #[test]
    fn splits_punctuation_and_dots() {
        assert_eq!(norm("The lungs are clear."), "the lungs are clear .");
        assert_eq!(norm("a,b"), "a , b");
        assert_eq!(norm("3.5 cm"), "3.5 cm");
        assert_eq!(norm("1,000 cases"), "1,000 cases");
        assert_eq!(norm("(left) lobe;"), "( left ) lobe ;");
    }

    #[test]
    fn nonbreaking_prefixes_and_abbreviations() {
        assert_eq!(norm("Mr. Smith"), "mr. smith");
        assert_eq!(norm("No. 5"), "no. 5");
        assert_eq!(norm("No. Five"), "no . five");
        assert_eq!(norm("U.S. based"), "us based");
        assert_eq!(norm("etc. and"), "etc. and");
    }

    #[test]
    fn dashes_quotes_contractions() {
        assert_eq!(norm("well-defined"), "well defined");
        assert_eq!(norm("don't"), "don 't");
        assert_eq!(norm("“quoted”"), "\" quoted \"");
        assert_eq!(norm("wait..."), "wait ...");
    }

    #[test]
    fn java_helpers() {
        assert_eq!(
            java_lines("a\r\nb\rc\n").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert_eq!(java_trim("\u{1} x \t"), "x");
    }
}

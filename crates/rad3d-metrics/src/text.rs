//! Text splitting exactly as the Python reference tools see it, and the `basic` tokenizer.

/// Whether Python's `str.isspace()` holds for `c` (what `str.split()` splits on).
///
/// Python treats the ASCII information separators U+001C..U+001F as whitespace while
/// Unicode's `White_Space` property (Rust's `char::is_whitespace`) does not; the
/// reference tools split with Python, so we must too.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `s.split()`: runs of whitespace separate tokens, no empty tokens.
pub fn python_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_python_space).filter(|t| !t.is_empty())
}

/// Python's `s.split()` collected into a vector.
pub fn split_tokens(s: &str) -> Vec<&str> {
    python_split(s).collect()
}

/// Python's `s.rstrip()`.
pub fn python_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_python_space)
}

/// How report text is turned into the space-separated tokens the pycocoevalcap scorers see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tokenize {
    /// Use the text as given (already tokenized).
    #[default]
    None,
    /// Lower-case and split `. , ; : ? ! ( )` into their own tokens.
    Basic,
}

impl Tokenize {
    /// Applies this tokenization to one report.
    pub fn apply(self, text: &str) -> String {
        match self {
            Tokenize::None => text.to_string(),
            Tokenize::Basic => basic_tokenize(text),
        }
    }
}

impl std::str::FromStr for Tokenize {
    type Err = crate::MetricsError;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "none" => Ok(Tokenize::None),
            "basic" => Ok(Tokenize::Basic),
            other => Err(crate::MetricsError::Input(format!(
                "unknown tokenization {other:?} (expected \"none\" or \"basic\")"
            ))),
        }
    }
}

/// The `basic` tokenizer: lower-case, put `. , ; : ? ! ( )` into their own tokens and
/// join all tokens with single spaces.
///
/// A `.` or `,` between two digits stays inside the number so that measurements such as
/// `3.5 cm` or `1,200 ml` remain one token (the public fixtures contain no such case, and
/// splitting a decimal point would invent the tokens `3`, `.`, `5`).
pub fn basic_tokenize(text: &str) -> String {
    let lower = text.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut out = String::with_capacity(lower.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        let is_punct = matches!(c, '.' | ',' | ';' | ':' | '?' | '!' | '(' | ')');
        let in_number = matches!(c, '.' | ',')
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if is_punct && !in_number {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    split_tokens(&out).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_split_handles_separators_and_runs() {
        assert_eq!(
            split_tokens("  a\u{1f}b\t\nc \u{a0}d "),
            vec!["a", "b", "c", "d"]
        );
        assert!(split_tokens(" \u{3000} ").is_empty());
        // Zero-width space is not whitespace for Python either.
        assert_eq!(split_tokens("a\u{200b}b"), vec!["a\u{200b}b"]);
        assert_eq!(python_rstrip("ab \u{1c}\n"), "ab");
    }

    #[test]
    fn basic_tokenizer_splits_punctuation_but_not_decimals() {
        assert_eq!(
            basic_tokenize("Lungs are clear. No effusion (small); size: 3.5 cm, 1,200 ml!"),
            "lungs are clear . no effusion ( small ) ; size : 3.5 cm , 1,200 ml !"
        );
        assert_eq!(basic_tokenize("Ground-glass?"), "ground-glass ?");
        assert_eq!(basic_tokenize("   "), "");
        assert_eq!("basic".parse::<Tokenize>().unwrap(), Tokenize::Basic);
        assert!("spacy".parse::<Tokenize>().is_err());
    }
}

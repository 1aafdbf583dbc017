//! English Moses tokenization and detokenization as sacremoses performs them for
//! `BioGptTokenizer`: `MosesTokenizer("en").tokenize(text, aggressive_dash_splits=True,
//! escape=True)` and `MosesDetokenizer("en").detokenize(tokens)`.
//!
//! Hand-written because BioGPT's token ids depend on every rule of that pipeline (its
//! order, its HTML escaping of `& | < > ' " [ ]`, its non-breaking prefixes) and no
//! maintained Rust crate reproduces sacremoses. The rules are applied in sacremoses'
//! order with the `regex` crate, whose replace-all scans leftmost-first without overlap
//! exactly as Python's `re.sub` does; the one lookahead rule (hyphen splitting) is a
//! character scan.
//!
//! Character classes are Perl's Unicode properties as sacremoses uses them: `IsAlnum` =
//! Alphabetic ∪ Nd, `IsAlpha` = Alphabetic, `IsN` = N, `IsLower` = Lowercase, `IsSc` =
//! Sc, read from the `regex` crate's Unicode tables. sacremoses ships frozen tables of an
//! older Unicode version (and without CJK ideographs in `IsAlnum`), so characters whose
//! properties were assigned later, and CJK ideographs, may tokenize differently; ASCII
//! and the Latin, Greek and Cyrillic letters of biomedical text agree.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Moses' English non-breaking prefixes: a token `<prefix>.` keeps its period.
const NONBREAKING: &[&str] = &[
    "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S",
    "T", "U", "V", "W", "X", "Y", "Z", "Adj", "Adm", "Adv", "Asst", "Bart", "Bldg", "Brig", "Bros",
    "Capt", "Cmdr", "Col", "Comdr", "Con", "Corp", "Cpl", "DR", "Dr", "Drs", "Ens", "Gen", "Gov",
    "Hon", "Hr", "Hosp", "Insp", "Lt", "MM", "MR", "MRS", "MS", "Maj", "Messrs", "Mlle", "Mme",
    "Mr", "Mrs", "Ms", "Msgr", "Op", "Ord", "Pfc", "Ph", "Prof", "Pvt", "Rep", "Reps", "Res",
    "Rev", "Rt", "Sen", "Sens", "Sfc", "Sgt", "Sr", "St", "Supt", "Surg", "v", "vs", "i.e", "rev",
    "e.g", "Rs", "Nos", "Nr", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
    "Dec",
];

/// Prefixes that keep their period only before a number (`No. 5`).
const NUMERIC_ONLY: &[&str] = &["No", "Art", "pp"];

/// Escapes applied last, in this order (`&` first, so the others are not re-escaped).
const ESCAPES: [(&str, &str); 8] = [
    ("&", "&amp;"),
    ("|", "&#124;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ("'", "&apos;"),
    ("\"", "&quot;"),
    ("[", "&#91;"),
    ("]", "&#93;"),
];

/// The detokenizer's unescapes, in sacremoses' order (`&amp;` last).
const UNESCAPES: [(&str, &str); 11] = [
    ("&bar;", "|"),
    ("&#124;", "|"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&bra;", "["),
    ("&ket;", "]"),
    ("&quot;", "\""),
    ("&apos;", "'"),
    ("&#91;", "["),
    ("&#93;", "]"),
    ("&amp;", "&"),
];

/// Closed code-point ranges sacremoses treats as CJK.
const CJK: [(u32, u32); 11] = [
    (4352, 4607),
    (11904, 42191),
    (43072, 43135),
    (44032, 55215),
    (63744, 64255),
    (65072, 65103),
    (65381, 65500),
    (94208, 101119),
    (110592, 110895),
    (110960, 111359),
    (131072, 196607),
];

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a fixed pattern compiles")
}

/// A regex and its replacement (`$1`-style).
struct Rule(Regex, &'static str);

impl Rule {
    fn apply(&self, text: &str) -> String {
        self.0.replace_all(text, self.1).into_owned()
    }
}

/// The compiled rules of the English tokenizer, built once.
struct Rules {
    pad_not_alnum: Rule,
    multidots: Regex,
    multidot_marker: Regex,
    commas: [Rule; 3],
    apostrophes: [Rule; 5],
    trailing_dot_apostrophe: Rule,
    currency: Regex,
    punct: Regex,
    contraction: Regex,
    open_quote: Regex,
}

static RULES: LazyLock<Rules> = LazyLock::new(|| Rules {
    pad_not_alnum: Rule(re(r"([^\p{Alphabetic}\p{Nd}\s.'`,\-])"), " ${1} "),
    multidots: re(r"\.{2,}"),
    multidot_marker: re(r"(?:DOT)+MULTI"),
    commas: [
        Rule(re(r"([^\p{N}]),"), "${1} , "),
        Rule(re(r",([^\p{N}])"), " , ${1}"),
        Rule(re(r"(\p{N}),$"), "${1} , "),
    ],
    apostrophes: [
        Rule(
            re(r"([^\p{Alphabetic}])'([^\p{Alphabetic}])"),
            "${1} ' ${2}",
        ),
        Rule(
            re(r"([^\p{Alphabetic}\p{N}])'(\p{Alphabetic})"),
            "${1} ' ${2}",
        ),
        Rule(re(r"(\p{Alphabetic})'([^\p{Alphabetic}])"), "${1} ' ${2}"),
        Rule(re(r"(\p{Alphabetic})'(\p{Alphabetic})"), "${1} '${2}"),
        Rule(re(r"(\p{N})'(s)"), "${1} '${2}"),
    ],
    trailing_dot_apostrophe: Rule(re(r"\.' ?$"), " . ' "),
    currency: re(r"^[\p{Sc}(\[{¿¡]+$"),
    punct: re(r"^[,.?!:;\\%}\])]+$"),
    contraction: re(r"^'\p{Alphabetic}"),
    open_quote: re(r#"^['"„“`]+$"#),
});

/// Python's `str.isspace` (Unicode White_Space plus the ASCII separators 0x1C–0x1F).
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Perl's `IsAlnum`: Alphabetic or a decimal digit (Nd).
fn is_alnum(c: char) -> bool {
    static ALNUM: LazyLock<Regex> = LazyLock::new(|| re(r"^[\p{Alphabetic}\p{Nd}]$"));
    let mut buf = [0u8; 4];
    c.is_alphabetic() || ALNUM.is_match(c.encode_utf8(&mut buf))
}

fn is_cjk(c: char) -> bool {
    let c = c as u32;
    CJK.iter().any(|&(start, end)| (start..=end).contains(&c))
}

/// Python's `str.split()`: runs of whitespace separate, none at the ends.
fn split_py(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_space).filter(|t| !t.is_empty())
}

/// Runs of whitespace become one space (sacremoses' `DEDUPLICATE_SPACE`).
fn squeeze_spaces(text: &str) -> String {
    split_py(text).collect::<Vec<_>>().join(" ")
}

/// `foo-bar` → `foo @-@ bar` wherever a hyphen sits between two alphanumerics.
fn split_hyphens(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let between = c == '-'
            && i > 0
            && is_alnum(chars[i - 1])
            && chars.get(i + 1).is_some_and(|&n| is_alnum(n));
        if between {
            out.push_str(" @-@ ");
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits the final period off every token that does not keep it (an abbreviation, a
/// non-breaking prefix, a word before a lower-case one, `No.` before a number).
fn nonbreaking_prefixes(text: &str) -> String {
    let mut tokens: Vec<String> = split_py(text).map(str::to_string).collect();
    let n = tokens.len();
    for i in 0..n {
        let Some(prefix) = tokens[i].strip_suffix('.').filter(|p| !p.is_empty()) else {
            continue;
        };
        let next_lower = i + 1 < n && tokens[i + 1].chars().next().is_some_and(char::is_lowercase);
        let keep = (prefix.contains('.') && prefix.chars().any(char::is_alphabetic))
            || NONBREAKING.contains(&prefix)
            || next_lower;
        let numeric = NUMERIC_ONLY.contains(&prefix)
            && i + 1 < n
            && tokens[i + 1].starts_with(|c: char| c.is_ascii_digit());
        if !keep && !numeric {
            tokens[i] = format!("{prefix} .");
        }
    }
    tokens.join(" ")
}

/// Moses tokens of `text` (English, aggressive hyphen splitting, XML-escaped).
pub(crate) fn tokenize(text: &str) -> Vec<String> {
    let rules = &*RULES;
    let text: String = squeeze(text, is_space)
        .chars()
        .filter(|&c| !('\u{0}'..='\u{1f}').contains(&c))
        .collect();
    let text = text.trim_matches(is_space);
    let text = rules.pad_not_alnum.apply(text);
    let text = split_hyphens(&text);
    let len = text.len();
    let mut text = rules
        .multidots
        .replace_all(&text, |m: &Captures| {
            let k = m[0].len();
            let tail = if m.get(0).is_some_and(|m| m.end() < len) {
                " "
            } else {
                ""
            };
            format!(" {}MULTI{tail}", "DOT".repeat(k))
        })
        .into_owned();
    for rule in rules.commas.iter().chain(&rules.apostrophes) {
        text = rule.apply(&text);
    }
    let text = nonbreaking_prefixes(&text);
    let text = squeeze_spaces(&text);
    let text = rules.trailing_dot_apostrophe.apply(&text);
    let mut text = rules
        .multidot_marker
        .replace_all(&text, |m: &Captures| ".".repeat((m[0].len() - 5) / 3))
        .into_owned();
    for (from, to) in ESCAPES {
        text = text.replace(from, to);
    }
    split_py(&text).map(str::to_string).collect()
}

/// Every run of characters `sep` accepts becomes a single space: `DEDUPLICATE_SPACE`
/// (whitespace, ends included, before stripping) and `ONE_SPACE` (ASCII spaces).
fn squeeze(text: &str, sep: fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if sep(c) {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// Text of Moses `tokens` (English): hyphen splits undone, XML unescaped, punctuation,
/// currency, contractions and quotes attached as sacremoses attaches them.
pub(crate) fn detokenize(tokens: &[String]) -> String {
    let rules = &*RULES;
    let mut text = format!(" {} ", tokens.join(" ")).replace(" @-@ ", "-");
    for (from, to) in UNESCAPES {
        text = text.replace(from, to);
    }
    let tokens: Vec<&str> = split_py(&text).collect();
    let mut quotes: HashMap<&str, usize> = HashMap::new();
    let mut prepend = " ";
    let mut out = String::new();
    for (i, &token) in tokens.iter().enumerate() {
        // Whether the token joins what precedes it, and the separator after it.
        let (attach, next) = if token.chars().next().is_some_and(is_cjk) {
            let after_cjk = i > 0 && tokens[i - 1].chars().last().is_some_and(is_cjk);
            (after_cjk, " ")
        } else if rules.currency.is_match(token) {
            (false, "")
        } else if rules.punct.is_match(token) || (i > 0 && rules.contraction.is_match(token)) {
            (true, " ")
        } else if rules.open_quote.is_match(token) {
            let curly = token.chars().all(|c| matches!(c, '„' | '“' | '”'));
            let count = quotes.entry(if curly { "\"" } else { token }).or_insert(0);
            if !count.is_multiple_of(2) {
                *count += 1;
                (true, " ")
            } else if token == "'" && i > 0 && tokens[i - 1].ends_with('s') {
                // A possessive (`the Jones' house`) attaches to its word, uncounted.
                (true, " ")
            } else {
                *count += 1;
                (false, "")
            }
        } else {
            (false, " ")
        };
        if !attach {
            out.push_str(prepend);
        }
        out.push_str(token);
        prepend = next;
    }
    squeeze(&out, |c| c == ' ')
        .trim_matches(is_space)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(text: &str) -> String {
        tokenize(text).join(" ")
    }

    /// Outputs of sacremoses 0.2 (`MosesTokenizer("en")`, aggressive dash splits, escape).
    #[test]
    fn tokenizes_as_sacremoses() {
        assert_eq!(
            tok("Bilateral ground-glass opacities, mild cardiomegaly."),
            "Bilateral ground @-@ glass opacities , mild cardiomegaly ."
        );
        assert_eq!(
            tok("A 5 mm nodule; it's (12 x 8 mm) & \"new\" [a|b] <c>..."),
            "A 5 mm nodule ; it &apos;s ( 12 x 8 mm ) &amp; &quot; new &quot; &#91; a &#124; b &#93; &lt; c &gt; ..."
        );
        assert_eq!(
            tok("Dr. Smith saw No. 5, e.g. 5,300 cases... Fine."),
            "Dr. Smith saw No. 5 , e.g. 5,300 cases ... Fine ."
        );
        assert_eq!(tok("  \t x\u{1}y  "), "xy");
    }

    #[test]
    fn detokenizes_as_sacremoses() {
        let words = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            detokenize(&words("ground @-@ glass , it &apos;s ( 12 ) &amp; $ 5 ?")),
            "ground-glass, it's (12) & $5?"
        );
        assert_eq!(
            detokenize(&words("he said &quot; yes &quot; to the Jones ' house")),
            "he said \"yes\" to the Jones' house"
        );
    }
}

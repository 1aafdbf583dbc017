//! The Porter stemmer as NLTK's `PorterStemmer()` runs it by default (`NLTK_EXTENSIONS`
//! mode), which is what rouge-score's `use_stemmer=True` uses.
//!
//! Differences from the 1980 paper that NLTK's mode adds and we reproduce: a table of
//! irregular forms (`dying → die`, `skies → sky`, …), words of ≤ 2 letters left alone,
//! `ies`/`ied` on 4-letter words keep `ie`, `ied → i`, `y → i` only after a consonant that
//! is not the first letter, `alli → al` applied recursively, `bli → ble`, `fulli → ful`,
//! `logi → log`, and the 2-letter `vc` counting as *cvc* in step 1b.

/// Stems one word (lower-cased first, as NLTK does).
pub fn porter_stem(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some(s) = irregular(&lower) {
        return s.to_string();
    }
    // NLTK checks the length of the word as given (before lower-casing).
    if word.chars().count() <= 2 {
        return lower;
    }
    let mut w: Vec<char> = lower.chars().collect();
    step1a(&mut w);
    step1b(&mut w);
    step1c(&mut w);
    step2(&mut w);
    step3(&mut w);
    step4(&mut w);
    step5a(&mut w);
    step5b(&mut w);
    w.into_iter().collect()
}

fn irregular(w: &str) -> Option<&'static str> {
    Some(match w {
        "sky" | "skies" => "sky",
        "dying" => "die",
        "lying" => "lie",
        "tying" => "tie",
        "news" => "news",
        "innings" | "inning" => "inning",
        "outings" | "outing" => "outing",
        "cannings" | "canning" => "canning",
        "howe" => "howe",
        "proceed" => "proceed",
        "exceed" => "exceed",
        "succeed" => "succeed",
        _ => return None,
    })
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// Consonant flags: `y` is a consonant at the start or after a vowel.
fn consonants(w: &[char]) -> Vec<bool> {
    let mut flags: Vec<bool> = Vec::with_capacity(w.len());
    for (i, &c) in w.iter().enumerate() {
        let f = if is_vowel(c) {
            false
        } else if c == 'y' {
            i == 0 || !flags[i - 1]
        } else {
            true
        };
        flags.push(f);
    }
    flags
}

fn is_consonant(w: &[char], i: usize) -> bool {
    consonants(&w[..=i])[i]
}

/// Number of vowel→consonant transitions ("VC" pairs).
fn measure(w: &[char]) -> usize {
    consonants(w).windows(2).filter(|p| !p[0] && p[1]).count()
}

fn contains_vowel(w: &[char]) -> bool {
    consonants(w).iter().any(|&c| !c)
}

fn ends_double_consonant(w: &[char]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1)
}

fn ends_cvc(w: &[char]) -> bool {
    let n = w.len();
    (n >= 3
        && is_consonant(w, n - 3)
        && !is_consonant(w, n - 2)
        && is_consonant(w, n - 1)
        && !matches!(w[n - 1], 'w' | 'x' | 'y'))
        || (n == 2 && !is_consonant(w, 0) && is_consonant(w, 1))
}

fn ends_with(w: &[char], suffix: &str) -> bool {
    let s: Vec<char> = suffix.chars().collect();
    w.len() >= s.len() && w[w.len() - s.len()..] == s[..]
}

fn replace_end(w: &mut Vec<char>, strip: usize, with: &str) {
    w.truncate(w.len() - strip);
    w.extend(with.chars());
}

/// A rule's condition on the stem left after removing the suffix.
type Cond<'a> = &'a dyn Fn(&[char]) -> bool;

/// NLTK's `_apply_rule_list`: the first rule whose suffix matches decides, whether or not
/// its condition holds.
fn apply_rules(w: &mut Vec<char>, rules: &[(&str, &str, Option<Cond<'_>>)]) {
    for &(suffix, rep, cond) in rules {
        if ends_with(w, suffix) {
            let stem_len = w.len() - suffix.chars().count();
            if cond.is_none_or(|c| c(&w[..stem_len])) {
                replace_end(w, suffix.chars().count(), rep);
            }
            return;
        }
    }
}

fn positive(stem: &[char]) -> bool {
    measure(stem) > 0
}

fn step1a(w: &mut Vec<char>) {
    if ends_with(w, "ies") && w.len() == 4 {
        replace_end(w, 3, "ie");
        return;
    }
    apply_rules(
        w,
        &[
            ("sses", "ss", None),
            ("ies", "i", None),
            ("ss", "ss", None),
            ("s", "", None),
        ],
    );
}

fn step1b(w: &mut Vec<char>) {
    if ends_with(w, "ied") {
        let rep = if w.len() == 4 { "ie" } else { "i" };
        replace_end(w, 3, rep);
        return;
    }
    if ends_with(w, "eed") {
        if measure(&w[..w.len() - 3]) > 0 {
            replace_end(w, 3, "ee");
        }
        return;
    }
    let mut stripped = None;
    for suffix in ["ed", "ing"] {
        if ends_with(w, suffix) {
            let k = suffix.len();
            if contains_vowel(&w[..w.len() - k]) {
                stripped = Some(k);
                break;
            }
        }
    }
    let Some(k) = stripped else { return };
    w.truncate(w.len() - k);
    if ends_with(w, "at") || ends_with(w, "bl") || ends_with(w, "iz") {
        w.push('e');
    } else if ends_double_consonant(w) {
        // The "*d" rule: undouble unless the letter is l, s or z.
        if !matches!(w[w.len() - 1], 'l' | 's' | 'z') {
            w.pop();
        }
    } else if measure(w) == 1 && ends_cvc(w) {
        w.push('e');
    }
}

fn step1c(w: &mut Vec<char>) {
    let cond = |stem: &[char]| stem.len() > 1 && is_consonant(stem, stem.len() - 1);
    apply_rules(w, &[("y", "i", Some(&cond))]);
}

fn step2(w: &mut Vec<char>) {
    if ends_with(w, "alli") && positive(&w[..w.len() - 4]) {
        replace_end(w, 4, "al");
        step2(w);
        return;
    }
    let whole: Vec<char> = w.clone();
    let logi = move |_: &[char]| positive(&whole[..whole.len() - 3]);
    let p: Cond<'_> = &positive;
    apply_rules(
        w,
        &[
            ("ational", "ate", Some(p)),
            ("tional", "tion", Some(p)),
            ("enci", "ence", Some(p)),
            ("anci", "ance", Some(p)),
            ("izer", "ize", Some(p)),
            ("bli", "ble", Some(p)),
            ("alli", "al", Some(p)),
            ("entli", "ent", Some(p)),
            ("eli", "e", Some(p)),
            ("ousli", "ous", Some(p)),
            ("ization", "ize", Some(p)),
            ("ation", "ate", Some(p)),
            ("ator", "ate", Some(p)),
            ("alism", "al", Some(p)),
            ("iveness", "ive", Some(p)),
            ("fulness", "ful", Some(p)),
            ("ousness", "ous", Some(p)),
            ("aliti", "al", Some(p)),
            ("iviti", "ive", Some(p)),
            ("biliti", "ble", Some(p)),
            ("fulli", "ful", Some(p)),
            ("logi", "log", Some(&logi)),
        ],
    );
}

fn step3(w: &mut Vec<char>) {
    let p: Cond<'_> = &positive;
    apply_rules(
        w,
        &[
            ("icate", "ic", Some(p)),
            ("ative", "", Some(p)),
            ("alize", "al", Some(p)),
            ("iciti", "ic", Some(p)),
            ("ical", "ic", Some(p)),
            ("ful", "", Some(p)),
            ("ness", "", Some(p)),
        ],
    );
}

fn step4(w: &mut Vec<char>) {
    let gt1 = |s: &[char]| measure(s) > 1;
    let ion = |s: &[char]| measure(s) > 1 && matches!(s.last(), Some('s' | 't'));
    let g: Cond<'_> = &gt1;
    apply_rules(
        w,
        &[
            ("al", "", Some(g)),
            ("ance", "", Some(g)),
            ("ence", "", Some(g)),
            ("er", "", Some(g)),
            ("ic", "", Some(g)),
            ("able", "", Some(g)),
            ("ible", "", Some(g)),
            ("ant", "", Some(g)),
            ("ement", "", Some(g)),
            ("ment", "", Some(g)),
            ("ent", "", Some(g)),
            ("ion", "", Some(&ion)),
            ("ou", "", Some(g)),
            ("ism", "", Some(g)),
            ("ate", "", Some(g)),
            ("iti", "", Some(g)),
            ("ous", "", Some(g)),
            ("ive", "", Some(g)),
            ("ize", "", Some(g)),
        ],
    );
}

fn step5a(w: &mut Vec<char>) {
    if ends_with(w, "e") {
        let stem = &w[..w.len() - 1];
        let m = measure(stem);
        if m > 1 || (m == 1 && !ends_cvc(stem)) {
            w.pop();
        }
    }
}

fn step5b(w: &mut Vec<char>) {
    if ends_with(w, "ll") && measure(&w[..w.len() - 1]) > 1 {
        w.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nltk_examples() {
        for (w, s) in [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "tie"),
            ("dying", "die"),
            ("hopping", "hop"),
            ("falling", "fall"),
            ("filing", "file"),
            ("happy", "happi"),
            ("relational", "relat"),
            ("effusions", "effus"),
            ("opacities", "opac"),
            ("measuring", "measur"),
            ("generalizations", "gener"),
            ("cardiomegaly", "cardiomegali"),
        ] {
            assert_eq!(porter_stem(w), s, "{w}");
        }
    }
}

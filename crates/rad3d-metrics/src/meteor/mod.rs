//! METEOR 1.5 as pycocoevalcap runs it (`java -jar meteor-1.5.jar - - -stdio -l en -norm`).
//!
//! - [`normalize`]: the `-norm` tokenizer (then lower-casing);
//! - [`align`]: exact, stem (Snowball English), synonym (METEOR's WordNet
//!   tables) and paraphrase matches, resolved by the jar's beam search;
//! - [`stats`]: the 23 sufficient statistics of a `SCORE` reply, summed for a
//!   corpus exactly as an `EVAL` line aggregates them, and the score formula
//!   with the English parameters (α 0.85, β 0.2, γ 0.6, δ 0.75, stage weights
//!   1 0.6 0.8 0.6).
//!
//! The data (synonym tables, function words, nonbreaking prefixes, the
//! paraphrase table) are read from a directory laid out as the jar's
//! resources (see [`MeteorResources`]), found at run time by
//! [`MeteorResources::locate`]. [`Meteor::new`] without the synonym and paraphrase
//! data falls back to exact + stem matching and says so ([`MeteorMode`]); those
//! scores are then not comparable to the jar's. [`MeteorSource::load`] never falls
//! back: missing data is an error unless exact + stem matching is asked for.
//! The first load parses the 62 MB paraphrase table (a few seconds) and
//! leaves its flat binary layout beside it (`paraphrase-en.gz.rad3d-index-v4`);
//! later loads memory-map that file and verify its checksum (≈ 0.1 s) — a damaged
//! index is rebuilt from the table, never trusted.
//!
//! Exactness: on every pair checked against the jar (the public fixture, the
//! generated cases in `tests/data/meteor_cases.json` and ≈ 5,000 more pairs)
//! the 23 statistics are identical and the scores bit-identical.
//!
//! ```no_run
//! use rad3d_metrics::meteor::{Meteor, MeteorResources, score_from_stats};
//! # fn main() -> rad3d_metrics::Result<()> {
//! let meteor = Meteor::new(&MeteorResources::default_location())?;
//! let res = meteor.corpus(&[(vec!["no pleural effusion ."], "no effusion .")])?;
//! println!("METEOR {:.4} ({:?})", res.score, res.mode);
//! // Re-aggregate any resample from per-sample statistics:
//! let resample = res.stats[0] + res.stats[0];
//! println!("{}", score_from_stats(&resample));
//! # Ok(()) }
//! ```

pub mod align;
pub mod normalize;
pub mod paraphrase;
mod stages;
pub mod stats;
pub mod synonym;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{MetricsError, Result};
use crate::hash::{FxMap, FxSet};
use align::WordInfo;
pub use normalize::NonbreakingPrefixes;
pub use paraphrase::ParaphraseTable;
pub use stats::{MeteorParams, MeteorScore, MeteorStats, compute_metrics, score_from_stats};
pub use synonym::SynonymDictionary;

/// Which matchers a [`Meteor`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeteorMode {
    /// Exact, stem, synonym and paraphrase: METEOR 1.5 as the jar runs it.
    Full,
    /// Exact and stem only (synonym or paraphrase data missing): not
    /// comparable to the jar's scores.
    ExactStem,
}

/// Where the METEOR data live: a directory with `function/english.words`,
/// `nonbreaking/english.prefixes`, `synonym/english.{synsets,exceptions}`
/// and `paraphrase-en.gz` (the layout `scripts/fetch-assets.sh` produces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeteorResources {
    /// The directory.
    pub dir: PathBuf,
}

impl MeteorResources {
    /// Resources in `dir`.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$RAD3D_ASSETS/meteor` if that variable is set, else the workspace's
    /// `target/assets/meteor`.
    pub fn default_location() -> Self {
        let dir = match std::env::var_os("RAD3D_ASSETS") {
            Some(a) => PathBuf::from(a).join("meteor"),
            None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/assets/meteor"),
        };
        Self { dir }
    }

    /// The directories [`locate`](Self::locate) searches, in order:
    /// `$RAD3D_ASSETS/meteor`, the per-user data directory
    /// (`$XDG_DATA_HOME/rad3d/assets/meteor`, else `$HOME/.local/share/rad3d/assets/meteor`),
    /// then the development checkout's `target/assets/meteor` (fixed at compile time).
    /// Unset or empty variables contribute no directory.
    pub fn search_path() -> Vec<PathBuf> {
        search_path_with(|k| std::env::var_os(k), dev_checkout_dir())
    }

    /// The first directory of [`search_path`](Self::search_path) that holds METEOR's full
    /// data ([`is_complete`](Self::is_complete)).
    ///
    /// # Errors
    /// [`MetricsError::MeteorDataMissing`] listing every directory searched when none does;
    /// there is no silent fallback to exact + stem matching (ask for it with
    /// [`MeteorSource::ExactStemOnly`]).
    pub fn locate() -> Result<Self> {
        Self::locate_in(&Self::search_path())
    }

    /// The first of `dirs` that holds METEOR's full data.
    ///
    /// # Errors
    /// [`MetricsError::MeteorDataMissing`] listing `dirs` when none does.
    pub fn locate_in(dirs: &[PathBuf]) -> Result<Self> {
        dirs.iter()
            .map(Self::from_dir)
            .find(Self::is_complete)
            .ok_or_else(|| MetricsError::MeteorDataMissing {
                searched: dirs.to_vec(),
            })
    }

    /// The files full METEOR 1.5 reads (the paraphrase table's index is derived from the
    /// table and need not exist).
    pub fn required_files(&self) -> [PathBuf; 5] {
        [
            self.function_words(),
            self.nonbreaking_prefixes(),
            self.synsets(),
            self.exceptions(),
            self.paraphrase_table(),
        ]
    }

    /// Whether every one of [`required_files`](Self::required_files) exists.
    pub fn is_complete(&self) -> bool {
        self.required_files().iter().all(|f| f.is_file())
    }

    /// The function-word list.
    pub fn function_words(&self) -> PathBuf {
        self.dir.join("function/english.words")
    }

    /// The nonbreaking-prefix list of the normaliser.
    pub fn nonbreaking_prefixes(&self) -> PathBuf {
        self.dir.join("nonbreaking/english.prefixes")
    }

    /// The synonym sets.
    pub fn synsets(&self) -> PathBuf {
        self.dir.join("synonym/english.synsets")
    }

    /// The irregular-form exceptions of the synonym stage.
    pub fn exceptions(&self) -> PathBuf {
        self.dir.join("synonym/english.exceptions")
    }

    /// The gzipped paraphrase table.
    pub fn paraphrase_table(&self) -> PathBuf {
        self.dir.join("paraphrase-en.gz")
    }
}

/// The development checkout's asset directory, fixed at compile time (what
/// [`MeteorResources::default_location`] uses without `RAD3D_ASSETS`).
fn dev_checkout_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // crates/rad3d-metrics → the workspace root, spelled without `..` in error messages.
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .join("target/assets/meteor")
}

/// [`MeteorResources::search_path`] with the environment given as `var` (so tests need not
/// change the process environment) and the checkout directory as `dev`.
fn search_path_with(var: impl Fn(&str) -> Option<OsString>, dev: PathBuf) -> Vec<PathBuf> {
    let var = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let mut out = Vec::new();
    if let Some(assets) = var("RAD3D_ASSETS") {
        out.push(assets.join("meteor"));
    }
    let data_home = var("XDG_DATA_HOME").or_else(|| var("HOME").map(|h| h.join(".local/share")));
    if let Some(data) = data_home {
        out.push(data.join("rad3d/assets/meteor"));
    }
    out.push(dev);
    out
}

/// Where a [`Meteor`] scorer gets its data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MeteorSource {
    /// The first complete directory of [`MeteorResources::search_path`].
    #[default]
    Locate,
    /// This directory, which must hold the full data.
    Dir(PathBuf),
    /// No data: exact + stem matching only, asked for explicitly (scores are not METEOR
    /// 1.5's).
    ExactStemOnly,
}

impl MeteorSource {
    /// Loads the scorer. Missing data is an error, never a silent fallback.
    ///
    /// # Errors
    /// [`MetricsError::MeteorDataMissing`] naming the directories searched when the data
    /// are incomplete; whatever [`Meteor::new`] reports for unreadable files.
    pub fn load(&self) -> Result<Meteor> {
        let resources = match self {
            Self::ExactStemOnly => return Ok(Meteor::exact_stem_only()),
            Self::Locate => MeteorResources::locate()?,
            Self::Dir(dir) => MeteorResources::locate_in(std::slice::from_ref(dir))?,
        };
        let meteor = Meteor::new(&resources)?;
        if meteor.mode() != MeteorMode::Full {
            return Err(MetricsError::MeteorDataMissing {
                searched: vec![resources.dir],
            });
        }
        Ok(meteor)
    }
}

/// Corpus METEOR with its per-sample scores and statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct MeteorResult {
    /// Corpus score from the summed statistics (the jar's `EVAL` aggregate).
    pub score: f64,
    /// Each pair's segment score (what pycocoevalcap returns as `scores`).
    pub per_sample: Vec<f64>,
    /// Each pair's statistics; sum any subset and call [`score_from_stats`].
    pub stats: Vec<MeteorStats>,
    /// Matchers that produced these numbers.
    pub mode: MeteorMode,
}

/// A METEOR 1.5 scorer with its data loaded; cheap to share across threads.
#[derive(Debug)]
pub struct Meteor {
    function_words: FxSet<String>,
    nonbreaking: NonbreakingPrefixes,
    synonyms: Option<SynonymDictionary>,
    paraphrases: Option<ParaphraseTable>,
    params: MeteorParams,
}

fn read_text(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(MetricsError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl Meteor {
    /// Loads the data in `resources`. Missing synonym or paraphrase files
    /// select [`MeteorMode::ExactStem`] (logged); missing function words or
    /// prefixes leave those lists empty. Unreadable or malformed files are errors.
    pub fn new(resources: &MeteorResources) -> Result<Self> {
        let para_path = resources.paraphrase_table();
        // The paraphrase table dominates loading; read it beside the rest.
        let para = std::thread::scope(|scope| {
            let para = scope.spawn(|| -> Result<Option<ParaphraseTable>> {
                if para_path.is_file() {
                    ParaphraseTable::load_cached(&para_path).map(Some)
                } else {
                    Ok(None)
                }
            });
            let rest = Self::load_small(resources);
            let para = para.join().unwrap_or_else(|_| {
                Err(MetricsError::Input(format!(
                    "{}: loading the paraphrase table failed",
                    para_path.display()
                )))
            });
            rest.and_then(|m| para.map(|p| (m, p)))
        });
        let (mut meteor, paraphrases) = para?;
        meteor.paraphrases = paraphrases;
        if meteor.mode() == MeteorMode::ExactStem {
            // Half the data would give scores neither full nor exact + stem.
            meteor.synonyms = None;
            meteor.paraphrases = None;
            tracing::warn!(
                dir = %resources.dir.display(),
                "METEOR synonym/paraphrase data missing: exact + stem matching only"
            );
        }
        Ok(meteor)
    }

    fn load_small(resources: &MeteorResources) -> Result<Self> {
        let mut meteor = Self::exact_stem_only();
        if let Some(text) = read_text(&resources.function_words())? {
            meteor.function_words = normalize::java_lines(&text).map(str::to_string).collect();
        } else {
            tracing::warn!(path = %resources.function_words().display(), "no METEOR function words");
        }
        if let Some(text) = read_text(&resources.nonbreaking_prefixes())? {
            meteor.nonbreaking = NonbreakingPrefixes::parse(&text);
        } else {
            tracing::warn!(path = %resources.nonbreaking_prefixes().display(), "no nonbreaking prefixes");
        }
        let exc = read_text(&resources.exceptions())?;
        let syn = read_text(&resources.synsets())?;
        if let (Some(exc), Some(syn)) = (exc, syn) {
            let dict = SynonymDictionary::parse(&exc, &syn);
            if dict.is_empty() {
                return Err(MetricsError::Input(format!(
                    "{}: no synonym sets",
                    resources.synsets().display()
                )));
            }
            meteor.synonyms = Some(dict);
        }
        Ok(meteor)
    }

    /// A scorer without any data: exact + stem matching, no function words,
    /// no nonbreaking prefixes.
    pub fn exact_stem_only() -> Self {
        Self {
            function_words: FxSet::default(),
            nonbreaking: NonbreakingPrefixes::default(),
            synonyms: None,
            paraphrases: None,
            params: MeteorParams::english(),
        }
    }

    /// Which matchers run.
    pub fn mode(&self) -> MeteorMode {
        if self.synonyms.is_some() && self.paraphrases.is_some() {
            MeteorMode::Full
        } else {
            MeteorMode::ExactStem
        }
    }

    /// The scoring parameters.
    pub fn params(&self) -> &MeteorParams {
        &self.params
    }

    /// Tokens of `text` after `-norm` normalisation and lower-casing.
    pub fn normalize(&self, text: &str) -> Vec<String> {
        normalize::normalize_line(text, &self.nonbreaking)
    }

    fn matchers(&self) -> align::Matchers<'_> {
        align::Matchers {
            function_words: &self.function_words,
            synonyms: self.synonyms.as_ref(),
            paraphrases: self.paraphrases.as_ref(),
        }
    }

    /// Statistics of one hypothesis against its references, exactly as a
    /// pycocoevalcap `SCORE ||| ref1 ||| … ||| hyp` line: the reference with
    /// the best segment score is kept (the first on ties).
    ///
    /// # Errors
    /// [`MetricsError::MeteorSegmentTooLarge`] (sample 0) when a reference and the
    /// hypothesis have more than [`align::MAX_CANDIDATE_MATCHES`] candidate matches.
    pub fn segment_stats(&self, refs: &[&str], hyp: &str) -> Result<MeteorStats> {
        let (hyp_words, ref_words) = self.normalize_pair(refs, hyp);
        let m = self.matchers();
        let stemmer = align::english_stemmer();
        let info = |ws: &[String]| -> Vec<WordInfo> {
            ws.iter().map(|w| WordInfo::new(w, &m, &stemmer)).collect()
        };
        let hyp_info = info(&hyp_words);
        let ref_info: Vec<Vec<WordInfo>> = ref_words.iter().map(|r| info(r)).collect();
        let hyp_refs: Vec<&WordInfo> = hyp_info.iter().collect();
        self.best_reference(
            &hyp_refs,
            ref_info.iter().map(|r| r.iter().collect::<Vec<_>>()),
        )
        .map_err(|e| too_many(0, e))
    }

    /// The normalised hypothesis and references of a pair, as the jar sees them.
    fn normalize_pair(&self, refs: &[&str], hyp: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let (refs, hyp) = stdio_fields(refs, hyp);
        (
            self.normalize(&hyp),
            refs.iter().map(|r| self.normalize(r)).collect(),
        )
    }

    /// Statistics against the reference with the best segment score (the first on ties).
    fn best_reference<'w>(
        &self,
        hyp: &[&'w WordInfo],
        refs: impl Iterator<Item = Vec<&'w WordInfo>>,
    ) -> std::result::Result<MeteorStats, align::TooManyMatches> {
        let m = self.matchers();
        let mut best: Option<(f64, MeteorStats)> = None;
        for r in refs {
            let st = align::align_words(hyp, &r, &m)?;
            let score = compute_metrics(&st, &self.params).score;
            if best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, st));
            }
        }
        Ok(best.map(|(_, st)| st).unwrap_or_default())
    }

    /// Segment score of one hypothesis against its references.
    ///
    /// # Errors
    /// As [`Self::segment_stats`].
    pub fn segment_score(&self, refs: &[&str], hyp: &str) -> Result<f64> {
        Ok(compute_metrics(&self.segment_stats(refs, hyp)?, &self.params).score)
    }

    /// Scores `(references, hypothesis)` pairs in parallel; the corpus score
    /// comes from the summed statistics as the jar's `EVAL` computes it.
    ///
    /// Each distinct word's matcher data (hash, stem, synsets, paraphrase key,
    /// function-word flag) is computed once for the whole corpus.
    ///
    /// # Errors
    /// [`MetricsError::MeteorSegmentTooLarge`] naming the first pair (0-based) with more
    /// than [`align::MAX_CANDIDATE_MATCHES`] candidate matches: memory stays linear in
    /// the text instead of growing with the product of the lengths.
    pub fn corpus<S: AsRef<str> + Sync>(&self, pairs: &[(Vec<S>, S)]) -> Result<MeteorResult> {
        let normalized: Vec<(Vec<String>, Vec<Vec<String>>)> = pairs
            .par_iter()
            .map(|(refs, hyp)| {
                let refs: Vec<&str> = refs.iter().map(AsRef::as_ref).collect();
                self.normalize_pair(&refs, hyp.as_ref())
            })
            .collect();
        let mut ids: FxMap<&str, u32> = FxMap::default();
        let mut distinct: Vec<&str> = Vec::new();
        let as_ids: Vec<(Vec<u32>, Vec<Vec<u32>>)> = normalized
            .iter()
            .map(|(h, rs)| {
                (
                    intern(h, &mut ids, &mut distinct),
                    rs.iter()
                        .map(|r| intern(r, &mut ids, &mut distinct))
                        .collect(),
                )
            })
            .collect();
        let m = self.matchers();
        let infos: Vec<WordInfo> = distinct
            .par_iter()
            .map_init(align::english_stemmer, |stemmer, w| {
                WordInfo::new(w, &m, stemmer)
            })
            .collect();
        let words =
            |ids: &[u32]| -> Vec<&WordInfo> { ids.iter().map(|&i| &infos[i as usize]).collect() };
        let stats: Vec<_> = as_ids
            .par_iter()
            .map(|(h, rs)| self.best_reference(&words(h), rs.iter().map(|r| words(r))))
            .collect();
        // Sequentially, so that the error names the first refused pair whatever the
        // threads' timing.
        let stats = stats
            .into_iter()
            .enumerate()
            .map(|(k, st)| st.map_err(|e| too_many(k, e)))
            .collect::<Result<Vec<MeteorStats>>>()?;
        Ok(self.aggregate(stats))
    }

    /// Corpus result of precomputed per-sample statistics.
    pub fn aggregate(&self, stats: Vec<MeteorStats>) -> MeteorResult {
        let per_sample = stats
            .iter()
            .map(|s| compute_metrics(s, &self.params).score)
            .collect();
        let total: MeteorStats = stats.iter().sum();
        MeteorResult {
            score: compute_metrics(&total, &self.params).score,
            per_sample,
            stats,
            mode: self.mode(),
        }
    }
}

/// Corpus METEOR re-aggregated from per-sample statistics, for bootstrap
/// intervals and paired tests (value name `meteor`).
impl crate::CorpusMetric for MeteorResult {
    fn names(&self) -> Vec<String> {
        vec!["meteor".to_string()]
    }

    fn len(&self) -> usize {
        self.stats.len()
    }

    fn score_counts(&self, counts: &[u32], out: &mut [f64]) {
        let mut total = MeteorStats::default();
        for (st, &c) in self.stats.iter().zip(counts) {
            total.add_copies(st, c);
        }
        if let Some(o) = out.first_mut() {
            *o = score_from_stats(&total);
        }
    }
}

impl crate::Pairable for MeteorResult {
    fn stack(&self, other: &Self) -> Result<Self> {
        if self.mode != other.mode {
            return Err(MetricsError::Input(format!(
                "cannot pair METEOR results of modes {:?} and {:?}",
                self.mode, other.mode
            )));
        }
        let stats: Vec<MeteorStats> = self.stats.iter().chain(&other.stats).copied().collect();
        let per_sample = self
            .per_sample
            .iter()
            .chain(&other.per_sample)
            .copied()
            .collect();
        let total: MeteorStats = stats.iter().sum();
        Ok(Self {
            score: score_from_stats(&total),
            per_sample,
            stats,
            mode: self.mode,
        })
    }
}

/// The crate error for pair `sample` refused by the aligner.
fn too_many(sample: usize, e: align::TooManyMatches) -> MetricsError {
    MetricsError::MeteorSegmentTooLarge {
        sample,
        id: None,
        hyp_words: e.hyp_words,
        ref_words: e.ref_words,
        limit: align::MAX_CANDIDATE_MATCHES,
    }
}

/// Dense ids of `words`, numbering unseen words in order of first sight.
fn intern<'a>(
    words: &'a [String],
    ids: &mut FxMap<&'a str, u32>,
    distinct: &mut Vec<&'a str>,
) -> Vec<u32> {
    words
        .iter()
        .map(|w| {
            let next = distinct.len() as u32;
            let id = *ids.entry(w.as_str()).or_insert(next);
            if id == next {
                distinct.push(w.as_str());
            }
            id
        })
        .collect()
}

/// The references and hypothesis as the jar receives them from pycocoevalcap:
/// `|||` and double spaces are removed from the hypothesis, the fields are
/// joined into one `SCORE` line, split again on `|||` (so a reference holding
/// `|||` becomes several) and trimmed.
fn stdio_fields(refs: &[&str], hyp: &str) -> (Vec<String>, String) {
    let hyp = hyp.replace("|||", "").replace("  ", " ");
    let line = format!("SCORE ||| {} ||| {}", refs.join(" ||| "), hyp);
    let mut parts: Vec<&str> = line.split("|||").collect();
    // Java's split drops trailing empty fields.
    while parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    if parts.len() < 3 {
        // The jar answers with an error line; score nothing against nothing.
        return (vec![String::new()], String::new());
    }
    let refs = parts[1..parts.len() - 1]
        .iter()
        .map(|p| normalize::java_trim(p).to_string())
        .collect();
    let hyp = normalize::java_trim(parts[parts.len() - 1]).to_string();
    (refs, hyp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_order_and_missing_data_error() {
        let tmp = tempfile::tempdir().unwrap();
        let assets = tmp.path().join("assets");
        let xdg = tmp.path().join("xdg");
        let dev = tmp.path().join("checkout/target/assets/meteor");
        let env = |k: &str| match k {
            "RAD3D_ASSETS" => Some(assets.clone().into_os_string()),
            "XDG_DATA_HOME" => Some(xdg.clone().into_os_string()),
            "HOME" => Some("/home/u".into()),
            _ => None,
        };
        let dirs = search_path_with(env, dev.clone());
        assert_eq!(
            dirs,
            [
                assets.join("meteor"),
                xdg.join("rad3d/assets/meteor"),
                dev.clone()
            ]
        );
        let e = MeteorResources::locate_in(&dirs).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(&e, MetricsError::MeteorDataMissing { searched } if searched == &dirs));
        for d in &dirs {
            assert!(msg.contains(&d.display().to_string()), "{msg}");
        }
        // Without XDG_DATA_HOME: $HOME/.local/share; empty variables count as unset.
        let env = |k: &str| match k {
            "RAD3D_ASSETS" => Some("".into()),
            "HOME" => Some("/home/u".into()),
            _ => None,
        };
        assert_eq!(
            search_path_with(env, dev.clone()),
            [
                PathBuf::from("/home/u/.local/share/rad3d/assets/meteor"),
                dev.clone()
            ]
        );
        // The first complete directory wins; a partial one is skipped.
        let partial = MeteorResources::from_dir(xdg.join("rad3d/assets/meteor"));
        std::fs::create_dir_all(partial.dir.join("function")).unwrap();
        std::fs::write(partial.function_words(), "a\n").unwrap();
        let full = MeteorResources::from_dir(&dev);
        for f in full.required_files() {
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "").unwrap();
        }
        assert!(!partial.is_complete() && full.is_complete());
        assert_eq!(MeteorResources::locate_in(&dirs).unwrap(), full);
        // A named directory without data is an error, not exact + stem matching.
        let e = MeteorSource::Dir(assets.join("meteor")).load().unwrap_err();
        assert!(matches!(e, MetricsError::MeteorDataMissing { .. }), "{e:?}");
        assert_eq!(
            MeteorSource::ExactStemOnly.load().unwrap().mode(),
            MeteorMode::ExactStem
        );
    }

    #[test]
    fn stdio_fields_follow_the_protocol() {
        let (r, h) = stdio_fields(&["a b", "c"], "x ||| y  z");
        assert_eq!(r, ["a b", "c"]);
        assert_eq!(h, "x y z");
        let (r, h) = stdio_fields(&[], "");
        assert_eq!(r, [""]);
        assert_eq!(h, "");
        let (r, _) = stdio_fields(&["p ||| q"], "h");
        assert_eq!(r, ["p", "q"]);
    }

    #[test]
    fn exact_stem_only_scores_identity_as_one() {
        let m = Meteor::exact_stem_only();
        assert_eq!(m.mode(), MeteorMode::ExactStem);
        assert_eq!(
            m.segment_score(&["the lungs are clear ."], "the lungs are clear .")
                .unwrap(),
            1.0
        );
        assert_eq!(
            m.segment_score(&["the lungs are clear ."], "").unwrap(),
            0.0
        );
        let r = m
            .corpus(&[(vec!["a b c"], "a b c"), (vec!["a b c"], "c b a")])
            .unwrap();
        assert_eq!(r.per_sample[0], 1.0);
        assert!(r.score > 0.0 && r.score < 1.0);
        use crate::CorpusMetric;
        assert_eq!(r.score(), vec![r.score]);
        let mut out = [0.0];
        r.score_counts(&[3, 0], &mut out);
        assert_eq!(out[0], 1.0);
        r.score_counts(&[0, 2], &mut out);
        assert_eq!(out[0], r.per_sample[1]);
    }

    #[test]
    fn oversized_segment_is_a_typed_error_naming_the_pair() {
        let m = Meteor::exact_stem_only();
        let long = vec!["x"; 2100].join(" ");
        let pairs = [(vec!["a b"], "a b"), (vec![long.as_str()], long.as_str())];
        // Identical lines align on exact matches only, still n² candidates.
        let e = m.corpus(&pairs).unwrap_err();
        assert!(
            matches!(
                e,
                MetricsError::MeteorSegmentTooLarge {
                    sample: 1,
                    hyp_words: 2100,
                    ref_words: 2100,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("sample 1"), "{e}");
    }
}

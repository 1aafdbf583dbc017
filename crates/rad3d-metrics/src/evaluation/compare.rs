//! Several systems against one reference set, in the layout of the paper's Tables 1, 2 and
//! 4: every system scored with bootstrap intervals, and every system but the one compared
//! against tested against it with paired permutation and paired bootstrap tests.
//!
//! [`compare_systems`] is [`evaluate`] run once per system (system A = that system, system
//! B = the reference system), so each row is exactly what `rad3d evaluate --compare` gives
//! for that pair. [`significance_csv`] and [`significance_markdown`] lay the rows out with
//! each value's interval and its p-value against the reference system.

use std::fmt::Write as _;

use super::{Evaluation, ModelMetric, evaluate};
use crate::error::{MetricsError, Result};
use crate::meteor::Meteor;
use crate::reports::ReportSet;
use crate::significance::Interval;

use super::EvaluateOptions;

/// The values a significance table shows, in order: the paper's columns broken into the
/// values they average (BLEU-1..4, ROUGE-1/2), then the model-based metrics when scored.
pub const SIGNIFICANCE_VALUES: [&str; 11] = [
    "bleu_1",
    "bleu_2",
    "bleu_3",
    "bleu_4",
    "meteor",
    "rouge1_f",
    "rouge2_f",
    "rouge_l",
    "cider_d",
    "bertscore_f",
    "green",
];

/// One system of a comparison: its name in tables and its reports.
#[derive(Debug, Clone)]
pub struct System {
    /// Name in tables and charts.
    pub name: String,
    /// Its generated reports.
    pub reports: ReportSet,
}

/// Scores every system against `refs`; every system but `systems[against]` is compared with
/// `systems[against]` (paired permutation and paired bootstrap tests, p-values against it).
/// Returns one evaluation per system, in the order given.
///
/// # Errors
/// [`MetricsError::Input`] with fewer than two systems, an `against` out of range or two
/// systems of the same name; as [`evaluate`] for each system.
pub fn compare_systems(
    refs: &ReportSet,
    systems: &[System],
    against: usize,
    meteor: &Meteor,
    models: &[&dyn ModelMetric],
    options: &EvaluateOptions,
) -> Result<Vec<Evaluation>> {
    if systems.len() < 2 {
        return Err(MetricsError::Input(format!(
            "a comparison needs at least two systems, got {}",
            systems.len()
        )));
    }
    let Some(reference) = systems.get(against) else {
        return Err(MetricsError::Input(format!(
            "the system compared against is number {against}, but there are {}",
            systems.len()
        )));
    };
    for (i, s) in systems.iter().enumerate() {
        if systems[..i].iter().any(|o| o.name == s.name) {
            return Err(MetricsError::Input(format!(
                "two systems are named `{}`",
                s.name
            )));
        }
    }
    options.validate(true)?;
    systems
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let b = (i != against).then_some(&reference.reports);
            evaluate(refs, &s.reports, b, meteor, models, options)
        })
        .collect()
}

/// One cell of a significance table: a value, its interval, and its p-value against the
/// reference system (`None` for the reference system itself or without resampling).
struct Cell {
    value: f64,
    interval: Option<Interval>,
    p_value: Option<f64>,
}

/// The values some row has, in [`SIGNIFICANCE_VALUES`] order, and each row's cells.
fn cells(rows: &[(&str, &Evaluation)]) -> (Vec<&'static str>, Vec<Vec<Option<Cell>>>) {
    let names: Vec<&'static str> = SIGNIFICANCE_VALUES
        .into_iter()
        .filter(|n| rows.iter().any(|(_, e)| e.value(n).is_some()))
        .collect();
    let body = rows
        .iter()
        .map(|(_, e)| {
            names
                .iter()
                .map(|n| {
                    e.value(n).map(|value| Cell {
                        value,
                        interval: e.interval(n),
                        p_value: e.p_value(n),
                    })
                })
                .collect()
        })
        .collect();
    (names, body)
}

/// The significance table as CSV: `System`, then per value `<name>`, `<name>_lower`,
/// `<name>_upper` (empty without a bootstrap) and `<name>_p` (the paired permutation
/// p-value against the reference system; empty on its own row). Values at full precision.
///
/// # Errors
/// [`MetricsError::Input`] when the CSV cannot be written.
pub fn significance_csv(rows: &[(&str, &Evaluation)]) -> Result<String> {
    let (names, body) = cells(rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| MetricsError::Input(format!("writing CSV: {e}"));
    let mut header = vec!["System".to_string()];
    for n in &names {
        header.extend([
            n.to_string(),
            format!("{n}_lower"),
            format!("{n}_upper"),
            format!("{n}_p"),
        ]);
    }
    w.write_record(&header).map_err(csv_err)?;
    let text = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for ((name, _), row) in rows.iter().zip(&body) {
        let mut record = vec![name.to_string()];
        for cell in row {
            match cell {
                Some(c) => record.extend([
                    c.value.to_string(),
                    text(c.interval.map(|i| i.lower)),
                    text(c.interval.map(|i| i.upper)),
                    text(c.p_value),
                ]),
                None => record.extend(std::iter::repeat_n(String::new(), 4)),
            }
        }
        w.write_record(&record).map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| MetricsError::Input(format!("writing CSV: {}", e.error())))?;
    String::from_utf8(bytes).map_err(|e| MetricsError::Input(format!("writing CSV: {e}")))
}

/// The significance table in Markdown: one row per system, each cell `value [lower, upper]`
/// to four decimals, with `*` when its paired permutation p-value against the reference
/// system is below 0.05 (`p` values listed under the table), `–` where a system lacks the
/// value.
pub fn significance_markdown(rows: &[(&str, &Evaluation)], against: &str) -> String {
    let (names, body) = cells(rows);
    let mut out = format!("| System | {} |\n", names.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(names.len()));
    for ((name, _), row) in rows.iter().zip(&body) {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                None => "–".to_string(),
                Some(c) => {
                    let mut s = format!("{:.4}", c.value);
                    if let Some(i) = c.interval {
                        let _ = write!(s, " [{:.4}, {:.4}]", i.lower, i.upper);
                    }
                    if c.p_value.is_some_and(|p| p < 0.05) {
                        s.push('*');
                    }
                    s
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} |",
            name.replace('|', "\\|"),
            cells.join(" | ")
        );
    }
    let _ = writeln!(
        out,
        "\nIntervals: 95 % bootstrap. `*`: paired permutation test against {} with p < 0.05.",
        against.replace('|', "\\|")
    );
    for ((name, _), row) in rows.iter().zip(&body) {
        let ps: Vec<String> = names
            .iter()
            .zip(row)
            .filter_map(|(n, c)| Some(format!("{n} {:.4}", c.as_ref()?.p_value?)))
            .collect();
        if !ps.is_empty() {
            let _ = writeln!(out, "- p-values of {name}: {}", ps.join(", "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::tests::set;

    fn system(name: &str, texts: &[&str]) -> System {
        System {
            name: name.into(),
            reports: set(name, texts),
        }
    }

    const REFS: [&str; 6] = [
        "No pleural effusion.",
        "Small nodule in the right upper lobe.",
        "Cardiomegaly is present.",
        "Emphysema in both upper lobes.",
        "No consolidation.",
        "Atelectasis in the left lower lobe.",
    ];

    fn options() -> EvaluateOptions {
        EvaluateOptions {
            bootstrap: Some(200),
            meteor_approx: true,
            ..Default::default()
        }
    }

    #[test]
    fn each_row_is_the_pairwise_evaluation() {
        let refs = set("refs", &REFS);
        let good = system("good", &REFS);
        let bad = system(
            "bad",
            &[
                "Pleural effusion.",
                "Nodule.",
                "Normal heart.",
                "No emphysema.",
                "Consolidation.",
                "Normal.",
            ],
        );
        let meteor = Meteor::exact_stem_only();
        let systems = [bad.clone(), good.clone()];
        let rows = compare_systems(&refs, &systems, 1, &meteor, &[], &options()).unwrap();
        let pair = evaluate(
            &refs,
            &bad.reports,
            Some(&good.reports),
            &meteor,
            &[],
            &options(),
        )
        .unwrap();
        assert_eq!(rows[0], pair);
        let alone = evaluate(&refs, &good.reports, None, &meteor, &[], &options()).unwrap();
        assert_eq!(rows[1], alone);
        assert!(rows[1].compare.is_none());
        // The perfect system scores 1 on BLEU-1 (to pycocoevalcap's epsilon).
        assert!(rows[1].value("bleu_1").unwrap() > 0.999_999);
        let p = rows[0].p_value("bleu_1").unwrap();
        assert!((0.0..=1.0).contains(&p), "{p}");

        let table: Vec<(&str, &Evaluation)> = vec![("bad", &rows[0]), ("good", &rows[1])];
        let csv = significance_csv(&table).unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(
            &header[..5],
            [
                "System",
                "bleu_1",
                "bleu_1_lower",
                "bleu_1_upper",
                "bleu_1_p"
            ]
        );
        // BERTScore and GREEN were not scored: no columns for them.
        assert!(!header.contains(&"green"));
        assert_eq!(header.len(), 1 + 4 * 9);
        let good_row: Vec<&str> = lines.nth(1).unwrap().split(',').collect();
        assert_eq!(good_row[0], "good");
        assert_eq!(
            good_row[1].parse::<f64>().unwrap(),
            rows[1].value("bleu_1").unwrap()
        );
        assert_eq!(good_row[4], "", "the reference row has no p-value");
        let md = significance_markdown(&table, "good");
        assert!(md.starts_with("| System | bleu_1 | bleu_2 |"), "{md}");
        assert!(md.contains("| good | 1.0000 [1.0000, 1.0000] |"), "{md}");
        assert!(md.contains("| bad | "), "{md}");
        assert!(md.contains("- p-values of bad: bleu_1 "), "{md}");
    }

    #[test]
    fn a_system_equal_to_the_reference_is_not_different() {
        let refs = set("refs", &REFS);
        let a = system("a", &REFS[..].iter().rev().copied().collect::<Vec<_>>());
        let b = System {
            name: "b".into(),
            reports: a.reports.clone(),
        };
        let meteor = Meteor::exact_stem_only();
        let rows = compare_systems(&refs, &[a, b], 1, &meteor, &[], &options()).unwrap();
        for name in ["bleu_1", "meteor", "rouge_l"] {
            assert_eq!(rows[0].p_value(name), Some(1.0), "{name}");
        }
    }

    #[test]
    fn bad_comparisons_are_refused() {
        let refs = set("refs", &REFS);
        let meteor = Meteor::exact_stem_only();
        let a = system("a", &REFS);
        let one = compare_systems(&refs, std::slice::from_ref(&a), 0, &meteor, &[], &options());
        assert!(matches!(one, Err(MetricsError::Input(m)) if m.contains("two systems")));
        let same = compare_systems(&refs, &[a.clone(), a.clone()], 0, &meteor, &[], &options());
        assert!(matches!(same, Err(MetricsError::Input(m)) if m.contains("named `a`")));
        let b = system("b", &REFS);
        let out = compare_systems(&refs, &[a, b], 2, &meteor, &[], &options());
        assert!(matches!(out, Err(MetricsError::Input(m)) if m.contains("number 2")));
    }
}

//! The evaluation corpus as a regression guard: a smaller corpus than the published run
//! (`cargo run --release -p tracker-eval --bin detection_eval`), same generator, checked
//! against the goals with a little slack for its size. The published figures come
//! from the full run; this only catches a change that breaks a class outright.

use tracker_eval::{self as eval, CLASSES};

#[test]
fn every_transformation_class_is_found_and_no_negative_is_blocked() {
    let corpus = eval::corpus(7, 12, 40, 400);
    let report = eval::evaluate(&corpus);
    let recall = |name: &str| {
        let i = CLASSES.iter().position(|c| *c == name).unwrap();
        let row = &report.rows[i];
        row.hit_confirmed as f64 / row.n as f64
    };
    // Pure reformatting: the goal is 0.98; 40 cases each, so one miss is 0.975.
    for name in [
        "verbatim displayed text",
        "grouping / locale (1.234.567,89)",
        "currency symbols and codes",
        "negatives in parentheses",
        "percent (0.1234 -> 12.3%)",
        "scaled units ($1.23M, 4.5k, bn)",
        "dates re-rendered (+ amounts)",
        "transposed table",
        "rows/columns reordered",
        "values inside sentences",
    ] {
        assert!(
            recall(name) >= 0.95,
            "{name}: recall {}\n{report}",
            recall(name)
        );
    }
    // Rounded values with corroboration: goal 0.9.
    for name in [
        "rounded 2 s.f., table w/ headers",
        "subset of a table",
        "lone value, distinctive headers",
    ] {
        assert!(
            recall(name) >= 0.85,
            "{name}: recall {}\n{report}",
            recall(name)
        );
    }
    // A lone value under headers every workbook shares cannot say where it came from.
    assert_eq!(
        recall("lone value, shared headers: Possible"),
        0.0,
        "{report}"
    );
    // False positives: goal 0.5% of negatives; at most 2 of 400 here.
    assert!(report.neg_confirmed <= 2, "{report}");
    assert_eq!(report.neg_blocked_default, 0, "{report}");
    // Only confirmed flows can be blocked, even by the strictest policy.
    assert!(
        report.neg_blocked_strict <= report.neg_confirmed,
        "{report}"
    );
}

/// Corpus B, the held-out corpus (`eval/src/heldout.rs`: other domains, layouts and
/// locales, written apart from the generator the thresholds were tuned on), at its report
/// seed: the three classes issue #16 named reach their goals, the negatives are checked,
/// and cell attribution is reported. The other classes' goals are not asserted (several
/// miss them; docs/detection.md has the figures).
#[test]
fn heldout_corpus_negatives_and_cell_attribution() {
    let corpus = eval::heldout(eval::HELDOUT_SEED);
    let report = eval::evaluate(&corpus);
    assert_eq!(report.classes, eval::HELDOUT_CLASSES);
    assert!(report.rows.iter().all(|r| r.n == 8), "{report}");
    assert_eq!(report.negatives, 40, "{report}");
    // Cell attribution, per class and over every confirmed target.
    let (mut sum, mut confirmed) = (0.0, 0);
    for (name, row) in report.classes.iter().zip(&report.rows) {
        let acc = row.cell_accuracy();
        assert!((0.0..=1.0).contains(&acc), "{name}: {acc}");
        eprintln!(
            "corpus B {name:<40} recall {:.3} cells {acc:.3}",
            row.recall()
        );
        sum += row.cell_acc_sum;
        confirmed += row.hit_confirmed;
    }
    let overall = sum / confirmed.max(1) as f64;
    eprintln!("corpus B cell attribution over {confirmed} confirmed targets: {overall:.3}");
    assert!(confirmed > 0 && overall > 0.0, "{report}");
    // No negative is blocked: the default policy blocks nothing it only might have seen,
    // and only confirmed flows block under the strictest policy.
    assert_eq!(report.neg_blocked_default, 0, "{report}");
    assert!(
        report.neg_blocked_strict <= report.neg_confirmed,
        "{report}"
    );
    // No unrelated deck is confirmed. (The last one at this seed, 1-decimal paid shares
    // beside "Argentina" and two quarters meeting another regional workbook's, went when
    // the deck's other countries were found to disagree at their own headers.)
    assert_eq!(report.neg_confirmed, 0, "{report}");
    // The classes issue #16 measured below their goals on an independent corpus.
    for (class, goal) in [
        ("dates only", 0.98),
        ("integer counts of a scale word", 0.90),
        ("two sources in one deck", 0.98),
    ] {
        let row = report
            .classes
            .iter()
            .position(|c| *c == class)
            .map(|i| &report.rows[i])
            .unwrap_or_else(|| panic!("no class {class:?}"));
        assert!(
            row.recall() >= goal,
            "{class}: {} < {goal}\n{report}",
            row.recall()
        );
    }
}

//! Detection quality on deterministic synthetic corpora, side by side with an exact-string
//! baseline: `cargo run --release -p tracker-eval --bin detection_eval`.
//!
//! Prints corpus A (the corpus the thresholds were tuned on) and then corpus B (the
//! held-out corpus, `heldout.rs`) with each class's confirmed recall against its goal.
//!
//! Optional args: SEED BOOKS PER_CLASS NEGATIVES (corpus A), and
//! - `--heldout-seed N`: corpus B's seed (default 20261204);
//! - `--only-a` / `--only-b`: print one corpus;
//! - `--misses`: after corpus A, its missed decks; after corpus B, print the decks of classes below their goal that were
//!   not confirmed (up to 3 per class) and the negatives with a confirmed flow, with the
//!   detector's flows;
//! - `--low-cells X`: print up to 2 decks per class that were missed or confirmed with a
//!   cell overlap (Jaccard) below X.

use tracker_eval as eval;

fn main() {
    let mut numbers: Vec<u64> = Vec::new();
    let mut heldout_seed = eval::HELDOUT_SEED;
    let (mut show_a, mut show_b, mut misses) = (true, true, false);
    let mut low_cells: Option<f64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--heldout-seed" => match args.next().and_then(|v| v.parse().ok()) {
                Some(s) => heldout_seed = s,
                None => {
                    eprintln!("--heldout-seed takes a number");
                    std::process::exit(2);
                }
            },
            "--only-a" => show_b = false,
            "--only-b" => show_a = false,
            "--misses" => misses = true,
            "--low-cells" => low_cells = args.next().and_then(|v| v.parse().ok()),
            _ => numbers.extend(a.parse::<u64>().ok()),
        }
    }
    if show_a {
        let seed = numbers.first().copied().unwrap_or(20_251_122);
        let books = numbers.get(1).copied().unwrap_or(40) as usize;
        let per_class = numbers.get(2).copied().unwrap_or(200) as usize;
        let negatives = numbers.get(3).copied().unwrap_or(4000) as usize;
        let corpus = eval::corpus(seed, books, per_class, negatives);
        println!(
            "seed {seed}: {books} source workbooks, {per_class} targets per class, {negatives} negative targets"
        );
        let report = eval::evaluate(&corpus);
        print!("{report}");
        if misses {
            let missed: Vec<usize> = (0..report.rows.len())
                .filter(|&i| report.rows[i].hit_confirmed < report.rows[i].n)
                .collect();
            print!("{}", eval::explain_misses(&corpus, &missed, 3, 0.0));
        }
    }
    if show_b {
        if show_a {
            println!();
        }
        let corpus = eval::heldout(heldout_seed);
        let per_class = corpus.cases.iter().filter(|c| c.class == Some(0)).count();
        let negatives = corpus.cases.iter().filter(|c| c.class.is_none()).count();
        println!(
            "corpus B (held-out), seed {heldout_seed}: {} workbooks read (one a 40,000-cell decoy ledger), {per_class} targets per class, {negatives} negative targets",
            corpus.reads.len()
        );
        let report = eval::evaluate(&corpus);
        print!("{report}");
        print!("{}", eval::goals_table(&report, eval::HELDOUT_GOALS));
        if misses {
            let below: Vec<usize> = (0..report.rows.len())
                .filter(|&i| {
                    let r = &report.rows[i];
                    (r.hit_confirmed as f64) < eval::HELDOUT_GOALS[i] * r.n as f64 - 1e-9
                })
                .collect();
            print!("{}", eval::explain_misses(&corpus, &below, 3, 0.0));
        }
        if let Some(low) = low_cells {
            let all: Vec<usize> = (0..report.rows.len()).collect();
            print!("{}", eval::explain_misses(&corpus, &all, 2, low));
        }
    }
}

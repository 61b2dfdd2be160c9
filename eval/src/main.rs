//! Detection quality on a deterministic synthetic corpus, side by side with an
//! exact-string baseline: `cargo run --release -p tracker-eval --bin detection_eval`.
//! Optional args: SEED BOOKS PER_CLASS NEGATIVES.

use tracker_eval as eval;

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let seed = args.first().copied().unwrap_or(20_251_122);
    let books = args.get(1).copied().unwrap_or(40) as usize;
    let per_class = args.get(2).copied().unwrap_or(200) as usize;
    let negatives = args.get(3).copied().unwrap_or(4000) as usize;
    let corpus = eval::corpus(seed, books, per_class, negatives);
    println!(
        "seed {seed}: {books} source workbooks, {per_class} targets per class, {negatives} negative targets"
    );
    print!("{}", eval::evaluate(&corpus));
}

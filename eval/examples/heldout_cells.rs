//! Prints cells of corpus B's reads: `cargo run --release -p tracker-eval --example heldout_cells -- SEED "BOOK" "SHEET" A1 [A1 ...]`.
use tracker::model::CellAddr;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed: u64 = args[0].parse().unwrap();
    let c = tracker_eval::heldout(seed);
    for r in &c.reads {
        if !r.document.name.starts_with(&args[1]) {
            continue;
        }
        for s in &r.sheets {
            if s.sheet != args[2] {
                continue;
            }
            for a in &args[3..] {
                let a = CellAddr::parse_a1(a).unwrap();
                for cell in s.cells.iter().filter(|x| x.addr == a) {
                    println!(
                        "{} {:?} {:?} {:?}",
                        a, cell.value, cell.text, cell.number_format
                    );
                }
            }
        }
    }
}

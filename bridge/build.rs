//! The task-pane assets under `addins/` are embedded with `include_dir!`, which cargo does
//! not track: rebuild when any of them changes, so a test never runs yesterday's pane.

fn main() {
    println!("cargo:rerun-if-changed=../addins");
}

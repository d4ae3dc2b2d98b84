//! Where the benchmarks write their figures: a Markdown file of `bench/` (or `PAYGATE_BENCH_OUT`),
//! between markers, keeping what is written around them (the analysis), after a table of the
//! machine they ran on (`machine.rs`, which the including benchmark has as `crate::machine`).

use std::path::PathBuf;

use crate::machine;

/// Puts `figures` between `<!-- {name} bench: begin -->` and its end marker in `file` (a new file
/// starts with `title`); returns where it wrote.
pub fn write_between_markers(file: &str, name: &str, title: &str, figures: &str) -> PathBuf {
    let dir = std::env::var_os("PAYGATE_BENCH_OUT").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench")),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("bench output folder");
    let path = dir.canonicalize().unwrap_or(dir).join(file);
    let begin = format!("<!-- {name} bench: begin -->");
    let end = format!("<!-- {name} bench: end -->");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let figures = format!("{begin}\n{figures}{end}");
    let text = match (old.find(&begin), old.find(&end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{figures}{}", &old[..b], &old[e + end.len()..])
        }
        _ => format!("# {title}\n\n{figures}\n"),
    };
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

/// The build the figures come from: a debug build's are not worth reading.
pub fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug (assertions on): not representative"
    } else {
        "bench (release: opt-level 3, no debug assertions)"
    }
}

/// A Markdown table of the machine (date, commit, cores, CPU, memory, OS, rustc, build profile),
/// then the run's own `rows`.
pub fn machine_table(rows: &[(&str, String)]) -> String {
    let mut s = String::from("| | |\n|---|---|\n");
    let facts = [
        ("date (UTC)", machine::now_rfc3339()),
        ("git commit", machine::git_commit()),
        (
            "cores (`nproc`)",
            std::thread::available_parallelism()
                .map_or(0, usize::from)
                .to_string(),
        ),
        ("CPU", machine::cpu()),
        ("memory", machine::memory()),
        ("OS", machine::os()),
        ("rustc", machine::command("rustc", &["--version"])),
        ("build profile", profile().to_owned()),
    ];
    for (k, v) in facts
        .iter()
        .map(|(k, v)| (*k, v))
        .chain(rows.iter().map(|(k, v)| (*k, v)))
    {
        s.push_str(&format!("| {k} | {v} |\n"));
    }
    s
}

//! Subcommands, one module each, and what they share.
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub mod filter;
pub mod index;
pub mod merge;
pub mod plan;
#[cfg(feature = "probe")]
pub mod probe;
pub mod remote;
pub mod report;
pub mod scan;
pub mod serve;
pub mod slurm;
pub mod summary;
pub mod tag;

/// Exit code of a run that finished but refused some input.
pub const EXIT_PARTIAL: u8 = 2;

/// Exit code for a run that did or did not refuse input.
pub fn exit_code(partial: bool) -> ExitCode {
    if partial {
        ExitCode::from(EXIT_PARTIAL)
    } else {
        ExitCode::SUCCESS
    }
}

/// A byte progress bar on a terminal; hidden when stdout is not one.
pub fn progress_bar(total: u64, what: &str) -> ProgressBar {
    if !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{bytes}}/{{total_bytes}} {{bytes_per_sec}} ETA {{eta}}"
        ))
        .expect("valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Parse a size such as `512M`, `2G` or `1048576`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: usize = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                'B' => 1,
                _ => return Err(format!("unknown size unit in {s:?} (use K, M, G or T)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| format!("not a size: {s:?}"))?;
    if n < 0.0 {
        return Err(format!("negative size: {s:?}"));
    }
    Ok((n * mult as f64) as usize)
}

/// Size the rayon pool (`None`: rayon's default, `RAYON_NUM_THREADS` or
/// one a CPU). Its threads are named `exlibris-pool-N`, so that `top -H`
/// and `perf` tell them from the reader threads.
pub fn set_threads(threads: Option<usize>) -> anyhow::Result<usize> {
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.map_or(0, |n| n.max(1)))
        .thread_name(|i| format!("exlibris-pool-{i}"))
        .build_global();
    // Without --threads, a pool that already exists is as good as ours.
    if threads.is_some() {
        built?;
    }
    Ok(rayon::current_num_threads())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("lots").is_err());
    }
}

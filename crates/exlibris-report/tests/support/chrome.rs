//! Shared by the browser tests of the report and of the server (included
//! with `#[path]`): launch the system Chromium headless, or skip.
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use headless_chrome::{Browser, LaunchOptions};

const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium with a window of `size`, or `None` (with a printed
/// SKIPPED line) when Chromium is not installed.
pub fn browser(size: (u32, u32)) -> Option<Browser> {
    if !Path::new(CHROMIUM).exists() {
        eprintln!(
            "SKIPPED: {CHROMIUM} is absent (apt-get install -y chromium); the browser test did not run"
        );
        return None;
    }
    let args: Vec<&OsStr> =
        ["--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
            .iter()
            .map(OsStr::new)
            .collect();
    let opts = LaunchOptions::default_builder()
        .path(Some(PathBuf::from(CHROMIUM)))
        .headless(true)
        .sandbox(false)
        .window_size(Some(size))
        .args(args)
        .build()
        .expect("launch options");
    Some(Browser::new(opts).expect("start chromium"))
}

/// Where screenshots are kept: `target/test-artefacts/`.
pub fn artefacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let d = target.join("test-artefacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

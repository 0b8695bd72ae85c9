//! Counts of a scan, summed across files and shards.
use std::collections::HashMap;
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

use crate::document::Rejection;
use crate::reader::SkippedFile;

/// Most rejections listed in `stats.json` (all are in `rejected.jsonl`).
pub const MAX_LISTED_REJECTIONS: usize = 1000;

/// Per input file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileStats {
    /// The file.
    pub path: String,
    /// Records read (scanned + rejected).
    pub records: u64,
    /// Records scanned.
    pub scanned: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Bytes of document text scanned.
    pub bytes: u64,
    /// Findings in its documents.
    pub findings: u64,
}

/// Counts of a scan. `documents_read = documents_scanned + documents_rejected`
/// always holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScanStats {
    /// Records read.
    pub documents_read: u64,
    /// Records scanned.
    pub documents_scanned: u64,
    /// Records rejected.
    pub documents_rejected: u64,
    /// Bytes of records read (as stored, after decompression).
    pub bytes_read: u64,
    /// Bytes of document text scanned.
    pub bytes_scanned: u64,
    /// Findings.
    pub findings: u64,
    /// Documents with at least one finding.
    pub documents_with_findings: u64,
    /// Bytes of document text inside findings.
    pub bytes_in_findings: u64,
    /// Seconds of wall time.
    pub seconds: f64,
    /// Per input file.
    pub files: Vec<FileStats>,
    /// Files under input directories that were not read, and why.
    pub skipped_files: Vec<SkippedFile>,
    /// The first rejections (see `rejected.jsonl` for all).
    pub rejections: Vec<Rejection>,
}

impl ScanStats {
    /// True when something was rejected: the run is partial.
    pub fn is_partial(&self) -> bool {
        self.documents_rejected > 0
    }

    /// Check the invariant read = scanned + rejected.
    pub fn reconciles(&self) -> bool {
        self.documents_read == self.documents_scanned + self.documents_rejected
            && self.files.iter().all(|f| f.records == f.scanned + f.rejected)
    }

    /// Throughput of document text in MB/s.
    pub fn mb_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes_scanned as f64 / 1e6 / self.seconds
        } else {
            0.0
        }
    }

    pub(crate) fn reject(&mut self, r: &Rejection, bytes: u64) {
        self.documents_read += 1;
        self.documents_rejected += 1;
        self.bytes_read += bytes;
        if self.rejections.len() < MAX_LISTED_REJECTIONS {
            self.rejections.push(r.clone());
        }
        let f = self.file(&r.origin.file);
        f.records += 1;
        f.rejected += 1;
    }

    pub(crate) fn file(&mut self, path: &str) -> &mut FileStats {
        if self.files.last().is_none_or(|f| f.path != path) {
            match self.files.iter().position(|f| f.path == path) {
                Some(i) => {
                    let f = self.files.remove(i);
                    self.files.push(f);
                }
                None => self.files.push(FileStats { path: path.to_string(), ..Default::default() }),
            }
        }
        self.files.last_mut().unwrap()
    }
}

impl ScanStats {
    /// Where each file is in `files`, for [`ScanStats::add_indexed`].
    pub(crate) fn file_index(&self) -> HashMap<String, usize> {
        self.files.iter().enumerate().map(|(i, f)| (f.path.clone(), i)).collect()
    }

    /// `self += o`, with `index` (from [`ScanStats::file_index`], kept up to
    /// date here) so that summing n parts costs O(n), not O(n²).
    pub(crate) fn add_indexed(&mut self, o: &ScanStats, index: &mut HashMap<String, usize>) {
        self.documents_read += o.documents_read;
        self.documents_scanned += o.documents_scanned;
        self.documents_rejected += o.documents_rejected;
        self.bytes_read += o.bytes_read;
        self.bytes_scanned += o.bytes_scanned;
        self.findings += o.findings;
        self.documents_with_findings += o.documents_with_findings;
        self.bytes_in_findings += o.bytes_in_findings;
        self.seconds += o.seconds;
        // Files keep the order of their first appearance: a sum of parts in
        // input order lists them in input order, and adding is associative.
        for f in &o.files {
            let i = *index.entry(f.path.clone()).or_insert_with(|| {
                self.files.push(FileStats { path: f.path.clone(), ..Default::default() });
                self.files.len() - 1
            });
            let mine = &mut self.files[i];
            mine.records += f.records;
            mine.scanned += f.scanned;
            mine.rejected += f.rejected;
            mine.bytes += f.bytes;
            mine.findings += f.findings;
        }
        for s in &o.skipped_files {
            if !self.skipped_files.contains(s) {
                self.skipped_files.push(s.clone());
            }
        }
        for r in &o.rejections {
            if self.rejections.len() < MAX_LISTED_REJECTIONS {
                self.rejections.push(r.clone());
            }
        }
    }

    /// The sum of `parts`, in order.
    pub fn sum<'a>(parts: impl IntoIterator<Item = &'a ScanStats>) -> ScanStats {
        let mut total = ScanStats::default();
        let mut index = HashMap::new();
        for p in parts {
            total.add_indexed(p, &mut index);
        }
        total
    }
}

impl AddAssign<&ScanStats> for ScanStats {
    fn add_assign(&mut self, o: &ScanStats) {
        let mut index = self.file_index();
        self.add_indexed(o, &mut index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(path: &str, scanned: u64, rejected: u64) -> ScanStats {
        let mut s = ScanStats {
            documents_read: scanned + rejected,
            documents_scanned: scanned,
            documents_rejected: rejected,
            findings: scanned * 2,
            ..Default::default()
        };
        let f = s.file(path);
        f.records = scanned + rejected;
        f.scanned = scanned;
        f.rejected = rejected;
        s
    }

    #[test]
    fn adding_is_associative_and_keeps_first_appearance_order() {
        let (a, b, c) = (part("z", 1, 0), part("a", 2, 1), part("z", 3, 0));
        let mut left = a.clone();
        left += &b;
        left += &c;
        let mut bc = b.clone();
        bc += &c;
        let mut right = a.clone();
        right += &bc;
        assert_eq!(left, right);
        assert_eq!(left, ScanStats::sum([&a, &b, &c]));
        assert_eq!(left.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["z", "a"]);
        assert_eq!(left.files[0].scanned, 4);
        assert!(left.reconciles());
    }
}

//! `probe.json` and the HTML fragment the report embeds.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::inference::Verdict;
use crate::memorise::MemoSummary;
use crate::model::ModelInfo;
use crate::scores::ScoreSpec;

/// Version tag of the `probe.json` schema.
pub const SCHEMA: &str = "exlibris-probe/1";

/// Which set a passage belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Set {
    /// The work under suspicion.
    Suspect,
    /// Text the user says the model cannot have seen.
    Reference,
}

/// One scored passage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PassageRecord {
    /// Suspect or reference.
    pub set: Set,
    /// Index into `texts`.
    pub text: usize,
    /// Token range `[start, end)` in that text.
    pub tokens: (usize, usize),
    /// Byte range `[start, end)` in that text.
    pub bytes: (usize, usize),
    /// Scores in the order of `scores` in the result.
    pub values: Vec<f64>,
}

/// Suspect vs reference for one score.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScoreSummary {
    /// The score.
    pub score: ScoreSpec,
    /// Mean over suspect passages.
    pub suspect_mean: f64,
    /// Mean over reference passages (null without references).
    pub reference_mean: Option<f64>,
    /// AUROC of "suspect looks more seen" (0.5 = no signal).
    pub auroc: Option<f64>,
    /// TPR at 1 % FPR.
    pub tpr_at_1pct_fpr: Option<f64>,
    /// TPR at 5 % FPR.
    pub tpr_at_5pct_fpr: Option<f64>,
}

/// A text that was probed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TextInfo {
    /// Where it came from.
    pub path: PathBuf,
    /// Suspect or reference.
    pub set: Set,
    /// Its length in tokens.
    pub n_tokens: usize,
}

/// Throughput of the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timing {
    /// Tokens through the model (passages and memorisation windows).
    pub tokens: usize,
    /// Seconds spent in the model.
    pub seconds: f64,
    /// `tokens / seconds`.
    pub tokens_per_second: f64,
    /// Of `seconds`, in the transformer blocks.
    pub forward_secs: f64,
    /// Of `seconds`, in the output projection and log-softmax statistics.
    pub head_secs: f64,
}

/// Everything `probe.json` holds; self-contained, so a report can be
/// rebuilt from it without the model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeResult {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The model.
    pub model: serde_json::Value,
    /// The run's settings.
    pub config: serde_json::Value,
    /// Texts: the work first, then references.
    pub texts: Vec<TextInfo>,
    /// Names and orientation of the columns of `passages[].values`.
    pub scores: Vec<ScoreSpec>,
    /// Every scored passage.
    pub passages: Vec<PassageRecord>,
    /// Per-score comparison of suspect and reference passages.
    pub summary: Vec<ScoreSummary>,
    /// Memorisation over the work, if measured.
    pub memorisation: Option<MemoSummary>,
    /// The verdict and the tests behind it.
    pub verdict: Verdict,
    /// Throughput.
    pub timing: Timing,
}

impl ProbeResult {
    /// Builds the `model` entry.
    pub fn model_value(info: &ModelInfo) -> serde_json::Value {
        serde_json::to_value(info).unwrap_or(serde_json::Value::Null)
    }

    /// Writes `probe.json` into `dir` (created if needed), via a temporary
    /// file renamed into place.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join("probe.json");
        let tmp = dir.join(".probe.json.tmp");
        let text =
            serde_json::to_string_pretty(self).map_err(|e| Error::Json { path: path.clone(), source: e })?;
        std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }

    /// Reads a `probe.json`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Json { path: path.into(), source: e })
    }

    /// A self-contained HTML fragment: the verdict, a memorisation strip
    /// over the work and a table of scores. No scripts, inline styles only.
    pub fn html_fragment(&self) -> String {
        let mut h = String::new();
        let v = &self.verdict;
        let _ = write!(
            h,
            "<section class=\"exlibris-probe\" style=\"font-family:sans-serif\">\n<h2>Model probe</h2>\n<p><strong>Verdict: {}</strong> — {}</p>\n",
            v.label.as_str(),
            esc(&v.reason)
        );
        if let Some(m) = &self.memorisation {
            h.push_str("<p>Memorisation (max p<sub>z</sub> per cell, darker = more memorised):</p>\n<div style=\"display:flex;height:18px;border:1px solid #999\">");
            for c in &m.strip_log10_pz {
                // log10 p_z from -6 (white) to 0 (dark red).
                let (color, title) = match c {
                    Some(l) => {
                        let a = ((l + 6.0) / 6.0).clamp(0.0, 1.0);
                        (format!("rgba(160,0,0,{a:.2})"), format!("log10 p_z = {l:.2}"))
                    }
                    None => ("#eee".to_string(), "no window".to_string()),
                };
                let _ = write!(h, "<div style=\"flex:1;background:{color}\" title=\"{title}\"></div>");
            }
            h.push_str("</div>\n<ul>");
            for s in &m.shares {
                let _ = write!(
                    h,
                    "<li>p<sub>z</sub> ≥ {}: {:.2} % of windows, {:.2} % of tokens</li>",
                    s.threshold,
                    100.0 * s.share_of_windows,
                    100.0 * s.share_of_tokens
                );
            }
            h.push_str("</ul>\n");
        }
        h.push_str("<table style=\"border-collapse:collapse\" border=\"1\" cellpadding=\"3\">\n<tr><th>score</th><th>suspect mean</th><th>reference mean</th><th>AUROC</th><th>TPR@1%FPR</th><th>TPR@5%FPR</th></tr>\n");
        let f = |x: Option<f64>| x.map_or("–".to_string(), |v| format!("{v:.3}"));
        for s in &self.summary {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.score.name),
                s.suspect_mean,
                f(s.reference_mean),
                f(s.auroc),
                f(s.tpr_at_1pct_fpr),
                f(s.tpr_at_5pct_fpr)
            );
        }
        h.push_str("</table>\n");
        if let Some(di) = &v.dataset_inference {
            let _ = writeln!(
                h,
                "<p>{}: p = {}, held-out AUROC {}, blind-baseline AUROC {}.</p>",
                esc(&di.test),
                di.welch.map_or("–".into(), |w| format!("{:.3e}", w.p_value)),
                f(di.auroc),
                f(v.blind_auroc)
            );
        }
        h.push_str("</section>\n");
        h
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

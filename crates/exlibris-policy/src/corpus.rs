//! Walking a corpus record by record, keeping what the taggers need that the
//! scan drops: a JSON line's bytes and a web page's headers and `<meta>`.
use std::collections::BTreeMap;

use exlibris_scan::reader::{self, page_head, PageHead, Payload};
use exlibris_scan::{Document, Input, ReadOptions, Rejection};
use serde::{Deserialize, Serialize};

use crate::ledger::{Ledger, SourceCount, UNDECLARED};
use crate::tag::{Tag, TagStats, Tagger};
use crate::Result;

/// One record of a corpus.
pub struct Item {
    /// The document, or why it could not be decoded.
    pub doc: std::result::Result<Document, Rejection>,
    /// A web page's headers and `<meta>` tags.
    pub head: Option<PageHead>,
    /// A JSON line's bytes, as stored (without the newline).
    pub line: Option<Vec<u8>>,
}

/// Feed every record of `input` to `f`, in order.
pub fn for_each_record(
    input: &Input,
    opts: &ReadOptions,
    mut f: impl FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut r = reader::open(input, opts)?;
    while let Some(raw) = r.next_record()? {
        let (head, line) = match &raw.payload {
            Payload::Web { http, bytes, .. } => (Some(page_head(*http, bytes)), None),
            Payload::JsonLine(b) => (None, Some(b.clone())),
            _ => (None, None),
        };
        f(Item { doc: reader::decode(raw, &opts.fields), head, line })?;
    }
    Ok(())
}

/// What a tagging run counted.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TagSummary {
    /// Tag counts; they reconcile: `read = tagged + untagged + rejected`.
    #[serde(flatten)]
    pub stats: TagStats,
    /// Documents and bytes per source (when a ledger is given).
    pub sources: BTreeMap<String, SourceCount>,
    /// Documents and bytes per licence.
    pub licences: BTreeMap<String, SourceCount>,
    /// Records refused, with reasons (first 100).
    pub rejections: Vec<Rejection>,
}

/// Tag every document of `inputs`, handing each tag to `sink`.
pub fn tag_inputs(
    inputs: &[Input],
    opts: &ReadOptions,
    tagger: &Tagger,
    ledger: &Ledger,
    mut sink: impl FnMut(&Tag) -> Result<()>,
) -> Result<TagSummary> {
    let mut sum = TagSummary { sources: ledger.counts(), ..Default::default() };
    for input in inputs {
        for_each_record(input, opts, |item| {
            match item.doc {
                Ok(doc) => {
                    let tags = tagger.tag(&doc, item.head.as_ref());
                    sum.stats.add(&tags);
                    for t in &tags {
                        sink(t)?;
                    }
                    let src = ledger.attribute(&doc.origin.file, doc.url.as_deref());
                    let name = src.map_or(UNDECLARED, |s| s.name.as_str());
                    let c = sum.sources.entry(name.to_string()).or_default();
                    c.documents += 1;
                    c.bytes += doc.text.len() as u64;
                }
                Err(r) => {
                    sum.stats.read += 1;
                    sum.stats.rejected += 1;
                    if sum.rejections.len() < 100 {
                        sum.rejections.push(r);
                    }
                }
            }
            Ok(())
        })?;
    }
    for c in sum.sources.values() {
        let l = sum.licences.entry(c.licence.clone()).or_default();
        l.licence = c.licence.clone();
        l.documents += c.documents;
        l.bytes += c.bytes;
    }
    Ok(sum)
}

//! Walking a corpus record by record, keeping what the taggers need that the
//! scan drops: a JSON line's bytes and a web page's headers and `<meta>`.
use std::collections::BTreeMap;

use exlibris_scan::reader::{self, page_head, Fields, PageHead, Payload, RawRecord};
use exlibris_scan::{Document, Input, ReadOptions, Rejection};
use rayon::prelude::*;
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
    /// Bytes of the record as stored (the text of a Parquet row or WARC
    /// record's block; 0 for a record the reader refused).
    pub stored: u64,
}

fn item(raw: RawRecord, fields: &Fields) -> Item {
    let (head, line) = match &raw.payload {
        Payload::Web { http, bytes, .. } => (Some(page_head(*http, bytes)), None),
        Payload::JsonLine(b) => (None, Some(b.clone())),
        _ => (None, None),
    };
    let stored = raw.payload.stored_len();
    Item { doc: reader::decode(raw, fields), head, line, stored }
}

/// Feed every record of `input` to `f`, in order.
pub fn for_each_record(
    input: &Input,
    opts: &ReadOptions,
    mut f: impl FnMut(Item) -> Result<()>,
) -> Result<()> {
    let mut r = reader::open(input, opts)?;
    while let Some(raw) = r.next_record()? {
        f(item(raw, &opts.fields))?;
    }
    Ok(())
}

/// Records per batch of [`for_each_batch`], and bytes.
const BATCH_RECORDS: usize = 1024;
const BATCH_BYTES: u64 = 16 << 20;

/// Feed the records of `input` to `f` in batches, in order, each record
/// already decoded on the rayon pool (HTML to text is the costly part).
/// The reading itself stays on the calling thread, and `f` sees the
/// records in input order, so results do not depend on the thread count.
pub fn for_each_batch(
    input: &Input,
    opts: &ReadOptions,
    mut f: impl FnMut(Vec<Item>) -> Result<()>,
) -> Result<()> {
    let mut r = reader::open(input, opts)?;
    let mut raws = Vec::new();
    let mut bytes = 0u64;
    loop {
        let next = r.next_record()?;
        let end = next.is_none();
        if let Some(raw) = next {
            bytes += raw.payload.stored_len();
            raws.push(raw);
        }
        if !raws.is_empty() && (end || raws.len() >= BATCH_RECORDS || bytes >= BATCH_BYTES) {
            let items: Vec<Item> =
                std::mem::take(&mut raws).into_par_iter().map(|raw| item(raw, &opts.fields)).collect();
            bytes = 0;
            f(items)?;
        }
        if end {
            return Ok(());
        }
    }
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
        for_each_batch(input, opts, |items| {
            let tagged: Vec<Option<Vec<Tag>>> = items
                .par_iter()
                .map(|item| item.doc.as_ref().ok().map(|doc| tagger.tag(doc, item.head.as_ref())))
                .collect();
            for (item, tags) in items.into_iter().zip(tagged) {
                match (item.doc, tags) {
                    (Ok(doc), Some(tags)) => {
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
                    (Err(r), _) => {
                        sum.stats.read += 1;
                        sum.stats.rejected += 1;
                        if sum.rejections.len() < 100 {
                            sum.rejections.push(r);
                        }
                    }
                    (Ok(_), None) => unreachable!("a document is tagged"),
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

//! Parquet files (feature `parquet`): the id, text and URL columns are
//! chosen by name (`--id-field`, `--text-field`, `--url-field`), the file is
//! read one row group at a time and only those columns are decoded.
//!
//! Built on the `parquet` crate's row API, without arrow: arrow would double
//! the build for no gain here, since every value becomes an owned `String`
//! anyway. Origins: `record` is the 1-based row of the file, `offset` the
//! byte offset of the row's row group (its first column chunk).
use std::collections::VecDeque;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;

use super::{CorpusReader, Fields, Payload, RawRecord};
use crate::document::{Origin, Rejection};
use crate::error::Result;

/// A reader of the file, or of the object by ranged GETs (the outer error:
/// it cannot be opened; the inner: it is not readable Parquet).
fn file_reader(path: &Path) -> Result<parquet::errors::Result<Box<dyn FileReader>>> {
    #[cfg(feature = "s3")]
    if super::object::is_object(path) {
        let chunks = super::object::ObjectChunks::open(super::object::url(path)?)?;
        return Ok(SerializedFileReader::new(chunks).map(|r| Box::new(r) as Box<dyn FileReader>));
    }
    let f = File::open(path).map_err(|source| crate::ScanError::Io { path: path.to_path_buf(), source })?;
    Ok(SerializedFileReader::new(f).map(|r| Box::new(r) as Box<dyn FileReader>))
}

/// Rows of one Parquet file.
pub struct ParquetReader {
    reader: Option<Box<dyn FileReader>>,
    file: Arc<str>,
    fields: Fields,
    projection: Option<Type>,
    next_group: usize,
    row: u64,
    queue: VecDeque<RawRecord>,
}

impl ParquetReader {
    /// Open `path`. A file whose footer cannot be read, or without the id or
    /// text column, gives one refused record (not an error: the scan goes on).
    pub fn open(path: &Path, file: Arc<str>, fields: &Fields) -> Result<Self> {
        let mut r = ParquetReader {
            reader: None,
            file,
            fields: fields.clone(),
            projection: None,
            next_group: 0,
            row: 0,
            queue: VecDeque::new(),
        };
        match file_reader(path)? {
            Err(e) => r.refuse_file(format!("not a readable Parquet file (corrupt footer or metadata): {e}")),
            Ok(reader) => match projection(reader.metadata().file_metadata().schema(), fields) {
                Ok(p) => {
                    r.projection = Some(p);
                    r.reader = Some(reader);
                }
                Err(reason) => r.refuse_file(reason),
            },
        }
        Ok(r)
    }

    fn refuse_file(&mut self, reason: String) {
        self.refuse(0, 0, None, reason);
    }

    fn refuse(&mut self, record: u64, offset: u64, id: Option<String>, reason: String) {
        let origin = Origin { file: self.file.clone(), record, offset };
        self.queue.push_back(RawRecord {
            origin: origin.clone(),
            payload: Payload::Refused(Rejection { origin, id, reason }),
        });
    }

    /// Decode the next row group into the queue; false at the end.
    fn fill(&mut self) -> bool {
        let Some(reader) = self.reader.as_ref() else { return false };
        if self.next_group >= reader.num_row_groups() {
            return false;
        }
        let g = self.next_group;
        self.next_group += 1;
        let meta = reader.metadata().row_group(g);
        let rows = meta.num_rows().max(0) as u64;
        let offset = meta.columns().iter().map(|c| c.byte_range().0).min().unwrap_or(0);
        let first = self.row + 1;
        let result = reader.get_row_group(g).and_then(|rg| {
            let mut out = Vec::with_capacity(rows as usize);
            for row in rg.get_row_iter(self.projection.clone())? {
                out.push(row?);
            }
            Ok(out)
        });
        let decoded = match result {
            Ok(rows) => rows,
            Err(e) => {
                self.row += rows;
                let reason = format!(
                    "row group {g} (rows {first}–{}) unreadable, {rows} rows not scanned: {e}",
                    first + rows - 1
                );
                self.refuse(first, offset, None, reason);
                return true;
            }
        };
        for row in decoded {
            self.row += 1;
            let n = self.row;
            let (mut id, mut text, mut url) = (None, None, None);
            for (name, value) in row.get_column_iter() {
                if *name == self.fields.id {
                    id = Some(value.clone());
                } else if *name == self.fields.text {
                    text = Some(value.clone());
                } else if *name == self.fields.url {
                    url = Some(value.clone());
                }
            }
            let id = match id.as_ref().map(scalar) {
                Some(Some(s)) => s,
                _ => {
                    self.refuse(
                        n,
                        offset,
                        None,
                        format!("id column {:?} is null or not a scalar", self.fields.id),
                    );
                    continue;
                }
            };
            let url = url.and_then(|u| match u {
                Field::Str(s) => Some(s),
                _ => None,
            });
            let payload = match text {
                Some(Field::Str(s)) => Payload::Text { id, url, bytes: s.into_bytes() },
                Some(Field::Bytes(b)) => Payload::Text { id, url, bytes: b.data().to_vec() },
                Some(Field::Null) | None => {
                    self.refuse(n, offset, Some(id), format!("text column {:?} is null", self.fields.text));
                    continue;
                }
                Some(other) => {
                    let reason =
                        format!("text column {:?} is {}, not a string", self.fields.text, type_name(&other));
                    self.refuse(n, offset, Some(id), reason);
                    continue;
                }
            };
            let origin = Origin { file: self.file.clone(), record: n, offset };
            self.queue.push_back(RawRecord { origin, payload });
        }
        true
    }
}

impl CorpusReader for ParquetReader {
    fn next_record(&mut self) -> Result<Option<RawRecord>> {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Ok(Some(r));
            }
            if !self.fill() {
                return Ok(None);
            }
        }
    }
}

/// The schema reduced to the columns read; the id and text columns must be
/// top-level.
fn projection(schema: &Type, fields: &Fields) -> std::result::Result<Type, String> {
    let cols = schema.get_fields();
    let names: Vec<&str> = cols.iter().map(|c| c.name()).collect();
    for (what, name) in [("id", &fields.id), ("text", &fields.text)] {
        if !names.contains(&name.as_str()) {
            return Err(format!(
                "no {what} column {name:?} (columns: {}); choose it with --{what}-field",
                names.join(", ")
            ));
        }
    }
    let keep: Vec<_> = cols
        .iter()
        .filter(|c| [&fields.id, &fields.text, &fields.url].iter().any(|n| c.name() == n.as_str()))
        .cloned()
        .collect();
    Type::group_type_builder(schema.name()).with_fields(keep).build().map_err(|e| e.to_string())
}

fn scalar(f: &Field) -> Option<String> {
    Some(match f {
        Field::Str(s) => s.clone(),
        Field::Byte(v) => v.to_string(),
        Field::Short(v) => v.to_string(),
        Field::Int(v) => v.to_string(),
        Field::Long(v) => v.to_string(),
        Field::UByte(v) => v.to_string(),
        Field::UShort(v) => v.to_string(),
        Field::UInt(v) => v.to_string(),
        Field::ULong(v) => v.to_string(),
        Field::Bytes(b) => String::from_utf8(b.data().to_vec()).ok()?,
        _ => return None,
    })
}

fn type_name(f: &Field) -> &'static str {
    match f {
        Field::Bool(_) => "a boolean",
        Field::Byte(_) | Field::Short(_) | Field::Int(_) | Field::Long(_) => "a number",
        Field::UByte(_) | Field::UShort(_) | Field::UInt(_) | Field::ULong(_) => "a number",
        Field::Float16(_) | Field::Float(_) | Field::Double(_) | Field::Decimal(_) => "a number",
        Field::Group(_) => "a struct",
        Field::ListInternal(_) => "a list",
        Field::MapInternal(_) => "a map",
        _ => "not a string",
    }
}

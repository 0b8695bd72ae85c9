//! Routing the rows of a Parquet file to keep and quarantine, with the
//! input's schema.
//!
//! Built on the `parquet` crate's column API, without arrow: every leaf
//! column is read whole per row group as values with their definition and
//! repetition levels, cut into rows where the repetition level is 0, and
//! each row's levels and values are written to its side. That handles any
//! schema (nested, repeated, optional) without converting a value, so the
//! outputs have exactly the input's schema (the same `Type` tree and
//! key-value metadata, an arrow schema included) and the same compression
//! per column. Arrow's `filter_record_batch` would do the same in fewer
//! lines but doubles the build and is not in the dependency tree.
//! Row groups are kept: output row group *g* holds the rows of input row
//! group *g* for that side (none when it has none).
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::column::reader::{get_typed_column_reader, ColumnReader};
use parquet::data_type::{
    BoolType, ByteArrayType, DataType, DoubleType, FixedLenByteArrayType, FloatType, Int32Type, Int64Type,
    Int96Type,
};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};

use super::output::{Ready, Staged};
use crate::{Error, Result};

type RowGroupWriter<'a> = SerializedRowGroupWriter<'a, File>;

/// One side's part of a leaf column: values, definition and repetition levels.
type Leaf<T> = (Vec<<T as DataType>::T>, Vec<i16>, Vec<i16>);

/// Write the rows of `path` whose entry in `keep` is true to `targets[0]`,
/// the others to `targets[1]`; a side with no row gets no file.
pub fn route(path: &Path, keep: &[bool], targets: [&Path; 2]) -> Result<[Option<Ready>; 2]> {
    let err = |e: ParquetError| Error::Unsupported(format!("{}: rewriting Parquet: {e}", path.display()));
    let f = File::open(path).map_err(|e| Error::Io(path.display().to_string(), e))?;
    let reader = SerializedFileReader::new(f).map_err(err)?;
    let meta = reader.metadata();
    let fmeta = meta.file_metadata();
    if fmeta.num_rows().max(0) as usize != keep.len() {
        return Err(Error::Unsupported(format!(
            "{}: {} rows, but {} were decided (the file changed during the run?)",
            path.display(),
            fmeta.num_rows(),
            keep.len()
        )));
    }
    let schema = fmeta.schema_descr().root_schema_ptr();
    let mut props = WriterProperties::builder().set_key_value_metadata(fmeta.key_value_metadata().cloned());
    if let Some(rg) = meta.row_groups().first() {
        for c in rg.columns() {
            props = props.set_column_compression(c.column_path().clone(), c.compression());
        }
    }
    let props = Arc::new(props.build());
    let mut staged: [Option<Staged>; 2] = [None, None];
    let mut writers: [Option<SerializedFileWriter<File>>; 2] = [None, None];
    for side in 0..2 {
        if keep.contains(&(side == 0)) {
            let mut s = Staged::create(targets[side])?;
            let w = SerializedFileWriter::new(s.take_file(), schema.clone(), props.clone()).map_err(err)?;
            writers[side] = Some(w);
            staged[side] = Some(s);
        }
    }
    let mut first = 0usize;
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(err)?;
        let n = rg.metadata().num_rows().max(0) as usize;
        let sides = &keep[first..first + n];
        first += n;
        let [w0, w1] = &mut writers;
        let mut outs: [Option<RowGroupWriter<'_>>; 2] = [None, None];
        for (side, w) in [w0, w1].into_iter().enumerate() {
            if let Some(w) = w.as_mut().filter(|_| sides.contains(&(side == 0))) {
                outs[side] = Some(w.next_row_group().map_err(err)?);
            }
        }
        for c in 0..rg.num_columns() {
            let col = rg.get_column_reader(c).map_err(err)?;
            let d = rg.metadata().schema_descr().column(c);
            let (def, rep) = (d.max_def_level(), d.max_rep_level());
            let r = match col {
                ColumnReader::BoolColumnReader(_) => copy::<BoolType>(col, sides, def, rep, &mut outs),
                ColumnReader::Int32ColumnReader(_) => copy::<Int32Type>(col, sides, def, rep, &mut outs),
                ColumnReader::Int64ColumnReader(_) => copy::<Int64Type>(col, sides, def, rep, &mut outs),
                ColumnReader::Int96ColumnReader(_) => copy::<Int96Type>(col, sides, def, rep, &mut outs),
                ColumnReader::FloatColumnReader(_) => copy::<FloatType>(col, sides, def, rep, &mut outs),
                ColumnReader::DoubleColumnReader(_) => copy::<DoubleType>(col, sides, def, rep, &mut outs),
                ColumnReader::ByteArrayColumnReader(_) => {
                    copy::<ByteArrayType>(col, sides, def, rep, &mut outs)
                }
                ColumnReader::FixedLenByteArrayColumnReader(_) => {
                    copy::<FixedLenByteArrayType>(col, sides, def, rep, &mut outs)
                }
            };
            r.map_err(|e| {
                Error::Unsupported(format!("{}: row group {g}, column {}: {e}", path.display(), d.path()))
            })?;
        }
        for o in outs.into_iter().flatten() {
            o.close().map_err(err)?;
        }
    }
    let mut ready: [Option<Ready>; 2] = [None, None];
    for side in 0..2 {
        if let (Some(w), Some(s)) = (writers[side].take(), staged[side].take()) {
            w.close().map_err(err)?;
            ready[side] = Some(s.finish()?);
        }
    }
    Ok(ready)
}

/// One leaf column of one row group: read it whole, write each row's levels
/// and values to its side.
fn copy<T: DataType>(
    col: ColumnReader,
    sides: &[bool],
    max_def: i16,
    max_rep: i16,
    outs: &mut [Option<RowGroupWriter<'_>>; 2],
) -> std::result::Result<(), ParquetError> {
    let rows = sides.len();
    let mut r = get_typed_column_reader::<T>(col);
    let (mut def, mut rep, mut vals) = (Vec::new(), Vec::new(), Vec::new());
    let mut got = 0;
    while got < rows {
        let (recs, _, _) = r.read_records(rows - got, Some(&mut def), Some(&mut rep), &mut vals)?;
        if recs == 0 {
            break;
        }
        got += recs;
    }
    if got != rows {
        return Err(ParquetError::General(format!("{got} rows read, the row group has {rows}")));
    }
    let levels = if max_rep > 0 {
        rep.len()
    } else if max_def > 0 {
        def.len()
    } else {
        vals.len()
    };
    let mut split: [Leaf<T>; 2] = Default::default();
    let (mut row, mut v) = (usize::MAX, 0usize);
    for i in 0..levels {
        if max_rep == 0 || rep[i] == 0 {
            row = row.wrapping_add(1);
        }
        let s = &mut split[usize::from(!sides[row])];
        if max_def > 0 {
            s.1.push(def[i]);
        }
        if max_rep > 0 {
            s.2.push(rep[i]);
        }
        if max_def == 0 || def[i] == max_def {
            s.0.push(vals[v].clone());
            v += 1;
        }
    }
    for (out, (vals, def, rep)) in outs.iter_mut().zip(split) {
        let Some(out) = out.as_mut() else { continue };
        let mut cw = out.next_column()?.ok_or_else(|| ParquetError::General("missing column".into()))?;
        let def = (max_def > 0).then_some(&def[..]);
        let rep = (max_rep > 0).then_some(&rep[..]);
        cw.typed::<T>().write_batch(&vals, def, rep)?;
        cw.close()?;
    }
    Ok(())
}

//! `recofinement export-events`: the event log as JSON Lines or CSV, in id order.
//!
//! Memory stays constant whatever the log's size: each event table is read in id order by its own
//! cursor and the cursors are merged (no sort, no buffering). All cursors run inside one read
//! transaction, so the export is one consistent snapshot even while the server writes.

use rusqlite::Connection;
use rusqlite::types::Value;
use std::io::Write;

pub use crate::events::TABLES as EVENT_TABLES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line
    Jsonl,
    /// A header line, then one row per event (columns: the union of all tables' columns)
    Csv,
}

#[derive(Debug, Clone)]
pub struct Selection {
    /// Only events with an id greater than this.
    pub since: Option<i64>,
    /// Only events with an id up to and including this.
    pub until: Option<i64>,
    /// Only these tables (all when empty).
    pub kinds: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown event kind {0:?}; known kinds: {kinds}", kinds = EVENT_TABLES.join(", "))]
    UnknownKind(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

/// Writes the selected events to `out`; returns how many. `progress` hears the count now and then.
pub fn export(
    conn: &mut Connection,
    selection: &Selection,
    format: Format,
    out: &mut dyn Write,
    progress: &dyn Fn(u64),
) -> Result<u64, ExportError> {
    for kind in &selection.kinds {
        if !EVENT_TABLES.contains(&kind.as_str()) {
            return Err(ExportError::UnknownKind(kind.clone()));
        }
    }
    let tables: Vec<&str> = EVENT_TABLES
        .iter()
        .copied()
        .filter(|t| selection.kinds.is_empty() || selection.kinds.iter().any(|k| k == t))
        .collect();
    let tx = conn.transaction()?;
    let mut statements = Vec::with_capacity(tables.len());
    let mut columns: Vec<Vec<String>> = Vec::with_capacity(tables.len());
    for table in &tables {
        // Table names come from the fixed list above.
        let stmt = tx.prepare(&format!(
            "SELECT * FROM {table} WHERE id > ?1 AND id <= ?2 ORDER BY id"
        ))?;
        columns.push(stmt.column_names().iter().map(|c| c.to_string()).collect());
        statements.push(stmt);
    }
    let (since, until) = (
        selection.since.unwrap_or(i64::MIN),
        selection.until.unwrap_or(i64::MAX),
    );
    let mut cursors = Vec::with_capacity(statements.len());
    for stmt in statements.iter_mut() {
        cursors.push(stmt.query([since, until])?);
    }
    // The CSV header: the union of all columns, id and kind first.
    let mut header: Vec<String> = vec!["id".into(), "kind".into()];
    for list in &columns {
        for column in list {
            if !header.contains(column) {
                header.push(column.clone());
            }
        }
    }
    // Where each table's columns go in a CSV record.
    let positions: Vec<Vec<usize>> = columns
        .iter()
        .map(|list| {
            list.iter()
                .map(|c| header.iter().position(|h| h == c).unwrap_or(0))
                .collect()
        })
        .collect();
    let mut sink = match format {
        Format::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(out);
            writer.write_record(&header)?;
            Sink::Csv(Box::new(writer), vec![String::new(); header.len()])
        }
        Format::Jsonl => Sink::Json(out, String::with_capacity(512)),
    };

    // Each cursor's current row; always write the one with the smallest id.
    let mut heads: Vec<Option<Vec<Value>>> = Vec::with_capacity(cursors.len());
    for cursor in cursors.iter_mut() {
        heads.push(advance(cursor)?);
    }
    let mut written = 0u64;
    loop {
        let next = heads
            .iter()
            .enumerate()
            .filter_map(|(i, head)| head.as_ref().and_then(|row| id_of(row).map(|id| (i, id))))
            .min_by_key(|(_, id)| *id);
        let Some((index, _)) = next else { break };
        if let Some(row) = heads[index].as_ref() {
            sink.write(tables[index], &columns[index], &positions[index], row)?;
        }
        written += 1;
        if written.is_multiple_of(65_536) {
            progress(written);
        }
        heads[index] = advance(&mut cursors[index])?;
    }
    sink.finish()?;
    Ok(written)
}

enum Sink<'a> {
    Json(&'a mut dyn Write, String),
    Csv(Box<csv::Writer<&'a mut dyn Write>>, Vec<String>),
}

impl Sink<'_> {
    fn write(
        &mut self,
        kind: &str,
        columns: &[String],
        positions: &[usize],
        row: &[Value],
    ) -> Result<(), ExportError> {
        match self {
            Sink::Json(out, line) => {
                line.clear();
                line.push_str("{\"kind\":");
                line.push_str(&serde_json::to_string(kind).unwrap_or_default());
                for (column, value) in columns.iter().zip(row) {
                    line.push(',');
                    line.push_str(&serde_json::to_string(column).unwrap_or_default());
                    line.push(':');
                    push_json(line, value);
                }
                line.push_str("}\n");
                out.write_all(line.as_bytes())?;
            }
            Sink::Csv(writer, record) => {
                for cell in record.iter_mut() {
                    cell.clear();
                }
                record[1].push_str(kind);
                for (position, value) in positions.iter().zip(row) {
                    record[*position] = text(value);
                }
                writer.write_record(record.iter())?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), ExportError> {
        match self {
            Sink::Json(out, _) => out.flush()?,
            Sink::Csv(mut writer, _) => writer.flush()?,
        }
        Ok(())
    }
}

fn id_of(row: &[Value]) -> Option<i64> {
    match row.first() {
        Some(Value::Integer(id)) => Some(*id),
        _ => None,
    }
}

/// Steps a cursor; its new current row (all columns), or `None` at the end.
fn advance(cursor: &mut rusqlite::Rows<'_>) -> rusqlite::Result<Option<Vec<Value>>> {
    match cursor.next()? {
        Some(row) => {
            let width = row.as_ref().column_count();
            (0..width)
                .map(|i| row.get::<_, Value>(i))
                .collect::<rusqlite::Result<Vec<_>>>()
                .map(Some)
        }
        None => Ok(None),
    }
}

fn push_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Integer(i) => out.push_str(&i.to_string()),
        Value::Real(f) => {
            out.push_str(&serde_json::Number::from_f64(*f).map_or("null".into(), |n| n.to_string()))
        }
        Value::Text(t) => out.push_str(&serde_json::to_string(t).unwrap_or_default()),
        Value::Blob(b) => {
            out.push_str(&serde_json::to_string(&String::from_utf8_lossy(b)).unwrap_or_default())
        }
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

//! Groups, as far as other aggregates refer to them.

use rusqlite::Row;
use serde::Serialize;

/// The reference's GroupBase shape.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupBase {
    pub group_id: i64,
    pub name: String,
}

impl GroupBase {
    pub fn from_row(row: &Row<'_>) -> rusqlite::Result<GroupBase> {
        Ok(GroupBase {
            group_id: row.get(0)?,
            name: row.get(1)?,
        })
    }
}

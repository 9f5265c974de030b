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

use super::users::User;
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, Clone)]
pub struct Group {
    pub group_id: i64,
    pub name: String,
    pub owner_id: Option<i64>,
}

pub fn find(conn: &Connection, group_id: i64) -> rusqlite::Result<Option<Group>> {
    conn.prepare_cached(r#"SELECT group_id, name, owner_id FROM "group" WHERE group_id = ?1"#)?
        .query_row([group_id], |r| {
            Ok(Group {
                group_id: r.get(0)?,
                name: r.get(1)?,
                owner_id: r.get(2)?,
            })
        })
        .optional()
}

pub fn create(conn: &Connection, name: &str, owner_id: i64) -> rusqlite::Result<i64> {
    conn.prepare_cached(r#"INSERT INTO "group" (name, owner_id) VALUES (?1, ?2)"#)?
        .execute(params![name, owner_id])?;
    Ok(conn.last_insert_rowid())
}

/// Deletes a group; members, invitations and group recommendations cascade.
pub fn delete(conn: &Connection, group_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(r#"DELETE FROM "group" WHERE group_id = ?1"#)?
        .execute([group_id])?;
    Ok(())
}

fn users_of(conn: &Connection, sql: &str, group_id: i64) -> rusqlite::Result<Vec<User>> {
    let uuids: Vec<String> = conn
        .prepare_cached(sql)?
        .query_map([group_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(uuids.len());
    for uuid in uuids {
        if let Some(user) = super::users::find_by_uuid(conn, &uuid)? {
            out.push(user);
        }
    }
    Ok(out)
}

pub fn members(conn: &Connection, group_id: i64) -> rusqlite::Result<Vec<User>> {
    users_of(
        conn,
        r#"SELECT u.uuid FROM group_members m JOIN "user" u ON u.user_id = m.user_id WHERE m.group_id = ?1 ORDER BY u.user_id"#,
        group_id,
    )
}

pub fn invited(conn: &Connection, group_id: i64) -> rusqlite::Result<Vec<User>> {
    users_of(
        conn,
        r#"SELECT u.uuid FROM invitations i JOIN "user" u ON u.user_id = i.user_id WHERE i.group_id = ?1 ORDER BY u.user_id"#,
        group_id,
    )
}

pub fn is_member(conn: &Connection, group_id: i64, user_id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = ?1 AND user_id = ?2)",
    )?
    .query_row([group_id, user_id], |r| r.get(0))
}

pub fn is_invited(conn: &Connection, group_id: i64, user_id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM invitations WHERE group_id = ?1 AND user_id = ?2)",
    )?
    .query_row([group_id, user_id], |r| r.get(0))
}

pub fn invite(conn: &Connection, group_id: i64, user_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO invitations (user_id, group_id) VALUES (?1, ?2)")?
        .execute([user_id, group_id])?;
    Ok(())
}

pub fn uninvite(conn: &Connection, group_id: i64, user_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM invitations WHERE user_id = ?1 AND group_id = ?2")?
        .execute([user_id, group_id])?;
    Ok(())
}

/// Turns an invitation into a membership.
pub fn accept(conn: &Connection, group_id: i64, user_id: i64) -> rusqlite::Result<()> {
    uninvite(conn, group_id, user_id)?;
    conn.prepare_cached("INSERT OR IGNORE INTO group_members (user_id, group_id) VALUES (?1, ?2)")?
        .execute([user_id, group_id])?;
    Ok(())
}

pub fn leave(conn: &Connection, group_id: i64, user_id: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM group_members WHERE user_id = ?1 AND group_id = ?2")?
        .execute([user_id, group_id])?;
    Ok(())
}

/// The three group lists of a UserObject.
pub struct Memberships {
    pub groups: Vec<GroupBase>,
    pub invitations: Vec<GroupBase>,
    pub owned_groups: Vec<GroupBase>,
}

pub fn memberships(conn: &Connection, user_id: i64) -> rusqlite::Result<Memberships> {
    let list = |sql: &str| -> rusqlite::Result<Vec<GroupBase>> {
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([user_id], GroupBase::from_row)?;
        rows.collect()
    };
    Ok(Memberships {
        groups: list(
            r#"SELECT g.group_id, g.name FROM group_members m JOIN "group" g ON g.group_id = m.group_id
               WHERE m.user_id = ?1 ORDER BY g.group_id"#,
        )?,
        invitations: list(
            r#"SELECT g.group_id, g.name FROM invitations i JOIN "group" g ON g.group_id = i.group_id
               WHERE i.user_id = ?1 ORDER BY g.group_id"#,
        )?,
        owned_groups: list(
            r#"SELECT group_id, name FROM "group" WHERE owner_id = ?1 ORDER BY group_id"#,
        )?,
    })
}

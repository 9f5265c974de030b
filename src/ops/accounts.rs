//! `recofinement user …`: account administration from the command line, with the API's field rules.

use crate::auth::password;
use crate::db::users::{self, NewUser, User};
use crate::db::{self, is_unique_violation};
use crate::rules::{self, PasswordPolicy};
use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{}", .0.join(" "))]
    Invalid(Vec<String>),
    #[error("no user with e-mail or uuid {0:?}")]
    NoSuchUser(String),
    #[error("no role named {0:?} (roles: {1})")]
    NoSuchRole(String, String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

fn checked(errors: Vec<String>) -> Result<(), AccountError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AccountError::Invalid(errors))
    }
}

/// Finds a user by e-mail (exact) or uuid.
pub fn find(conn: &Connection, who: &str) -> Result<User, AccountError> {
    let user = match users::find_by_email(conn, who)? {
        Some(user) => Some(user),
        None => users::find_by_uuid(conn, &who.to_ascii_lowercase())?,
    };
    user.ok_or_else(|| AccountError::NoSuchUser(who.to_owned()))
}

/// Creates an account with the registration rules; `admin` adds the admin role.
pub fn create(
    conn: &mut Connection,
    email: &str,
    username: &str,
    password: &str,
    admin: bool,
    cost: u32,
) -> Result<User, AccountError> {
    let mut errors = Vec::new();
    rules::check_email(email, &mut errors);
    rules::check_username(username, &mut errors);
    rules::check_password(password, PasswordPolicy::Register, &mut errors);
    checked(errors)?;
    let hash =
        password::hash_blocking(password, cost).map_err(|e| AccountError::Hash(e.to_string()))?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let tx = db::write_transaction(conn)?;
    if users::email_taken(&tx, email, None)? {
        return Err(AccountError::Invalid(vec![rules::EMAIL_TAKEN.into()]));
    }
    match users::insert(
        &tx,
        &NewUser {
            uuid: &uuid,
            email,
            username,
            password_hash: &hash,
        },
    ) {
        Err(e) if is_unique_violation(&e) => {
            return Err(AccountError::Invalid(vec![rules::EMAIL_TAKEN.into()]));
        }
        other => other?,
    };
    let user =
        users::find_by_uuid(&tx, &uuid)?.ok_or_else(|| AccountError::NoSuchUser(uuid.clone()))?;
    users::attach_role(&tx, user.user_id, "user")?;
    if admin {
        users::attach_role(&tx, user.user_id, "admin")?;
    }
    tx.commit()?;
    Ok(user)
}

#[derive(Debug)]
pub struct Listed {
    pub user: User,
    pub roles: Vec<String>,
}

pub fn list(conn: &Connection) -> Result<Vec<Listed>, AccountError> {
    let mut stmt = conn.prepare(
        r#"SELECT u.uuid, coalesce(group_concat(r.name, ','), '') FROM "user" u
           LEFT JOIN user_role ur ON ur.user_id = u.user_id LEFT JOIN role r ON r.role_id = ur.role_id
           GROUP BY u.user_id ORDER BY u.user_id"#,
    )?;
    let rows: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (uuid, roles) in rows {
        if let Some(user) = users::find_by_uuid(conn, &uuid)? {
            out.push(Listed {
                user,
                roles: roles
                    .split(',')
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect(),
            });
        }
    }
    Ok(out)
}

fn role_names(conn: &Connection) -> Result<String, AccountError> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM role ORDER BY role_id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names.join(", "))
}

/// Grants (`grant = true`) or revokes a role. Tokens issued before keep their permissions until they
/// expire, as in the reference: the claims are computed at login.
pub fn set_role(
    conn: &Connection,
    who: &str,
    role: &str,
    grant: bool,
) -> Result<bool, AccountError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM role WHERE name = ?1)",
        [role],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(AccountError::NoSuchRole(role.to_owned(), role_names(conn)?));
    }
    let user = find(conn, who)?;
    Ok(if grant {
        users::attach_role(conn, user.user_id, role)?
    } else {
        users::detach_role(conn, user.user_id, role)?
    })
}

pub fn set_password(
    conn: &Connection,
    who: &str,
    password: &str,
    cost: u32,
) -> Result<(), AccountError> {
    let mut errors = Vec::new();
    rules::check_password(password, PasswordPolicy::ResetOrUpdate, &mut errors);
    checked(errors)?;
    let user = find(conn, who)?;
    let hash =
        password::hash_blocking(password, cost).map_err(|e| AccountError::Hash(e.to_string()))?;
    users::set_password_hash(conn, user.user_id, &hash)?;
    // Every session of the account ends with it (decisions F20).
    crate::db::tokens::void_all(conn, user.user_id, None)?;
    Ok(())
}

/// Deletes an account and everything that belongs to it (the schema's cascades).
pub fn delete(conn: &Connection, who: &str) -> Result<User, AccountError> {
    let user = find(conn, who)?;
    users::delete(conn, user.user_id)?;
    Ok(user)
}

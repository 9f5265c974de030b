//! Rendered catalogue pages (issue 12): the popular lists, search pages and genre lists are the same
//! for every caller and change only when the database does, so their rendered bodies are kept and
//! served again until any transaction that wrote commits.
//!
//! Coherence: a page is tagged with the database's version ([`crate::db::Db::version`], SQLite's
//! `data_version` on a connection that never writes) read *before* the page was read, so a page is
//! never older than its tag; a request reads the version first and takes only a page with that tag.
//! A write acknowledged to a client has committed, so the client's next request sees a newer version
//! and a fresh page — whoever wrote it: our routes, the engine, the CLI, or SQL from another process.
//!
//! The same holds for the callers checked at a version (token not revoked, account present): a
//! logout or a deleted account is a write, and the next request checks again.

use super::reply::Reply;
use super::{AppState, caller_in};
use crate::auth::{self, Bearer};
use crate::error::ApiResult;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bodies kept at most (all are dropped past it): search terms are the caller's to choose.
const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Callers noted at most per version (past it, they are checked every time).
const MAX_CALLERS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageKey {
    Popular {
        medium: &'static str,
        page: i64,
    },
    Search {
        medium: &'static str,
        term: String,
        page: i64,
    },
    Genres {
        medium: &'static str,
    },
}

#[derive(Default)]
pub struct PageCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    version: Option<i64>,
    bytes: usize,
    pages: HashMap<PageKey, Arc<[u8]>>,
    /// Tokens (their `jti`, else their identity) whose caller was found valid at `version`, with
    /// the caller's permissions then.
    callers: HashMap<String, Arc<[String]>>,
}

impl State {
    /// Moves to `version`, dropping every page of another one.
    fn at(&mut self, version: i64) {
        if self.version != Some(version) {
            self.version = Some(version);
            self.pages.clear();
            self.bytes = 0;
            self.callers.clear();
        }
    }
}

impl PageCache {
    /// The page rendered at `version`, if kept.
    pub fn get(&self, version: i64, key: &PageKey) -> Option<Arc<[u8]>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.at(version);
        state.pages.get(key).cloned()
    }

    /// The permissions of this token's caller, if it was found valid at `version`.
    pub fn checked_caller(&self, version: i64, token: &str) -> Option<Arc<[String]>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.at(version);
        state.callers.get(token).cloned()
    }

    /// Notes a caller found valid, with its permissions, by reads made after `version` was read.
    pub fn note_caller(&self, version: i64, token: &str, permissions: &[String]) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.version == Some(version) && state.callers.len() < MAX_CALLERS {
            state.callers.insert(token.to_owned(), permissions.into());
        }
    }

    /// Keeps a page read after `version` was read — unless the database has moved on since.
    pub fn put(&self, version: i64, key: PageKey, body: Arc<[u8]>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.version != Some(version) {
            return;
        }
        if state.bytes + body.len() > MAX_BYTES {
            state.pages.clear();
            state.bytes = 0;
        }
        state.bytes += body.len();
        if let Some(old) = state.pages.insert(key, body) {
            state.bytes -= old.len();
        }
    }
}

/// A catalogue page, the same for every caller: the token's revocation and the caller are checked
/// in the same visit to the database as the page, and both the checked callers and the page are
/// kept while the database has not changed.
pub async fn catalogue_page(
    state: &AppState,
    bearer: &Bearer,
    key: PageKey,
    permission: Option<&'static str>,
    render: impl FnOnce(&rusqlite::Connection) -> ApiResult<Reply> + Send + 'static,
) -> ApiResult<Reply> {
    let token = state.auth.decode(bearer)?;
    let (db, pages) = (state.db.clone(), state.pages.clone());
    let seen = token.jti.clone().unwrap_or_else(|| token.identity.clone());
    // A kept page for a caller already checked at the current version: no trip to the database.
    if let Some(version) = db.version_now()
        && let Some(permissions) = pages.checked_caller(version, &seen)
        && permission.is_none_or(|p| permissions.iter().any(|has| has == p))
        && let Some(page) = pages.get(version, &key)
    {
        return Ok(Reply::Rendered(page));
    }
    let body = state
        .db
        .run(move |conn| {
            let version = db.version()?;
            let token = auth::current(conn, token)?;
            caller_in(conn, &token)?;
            pages.note_caller(version, &seen, &token.permissions);
            if let Some(permission) = permission {
                auth::require(&token, permission)?;
            }
            if let Some(page) = pages.get(version, &key) {
                return Ok(page);
            }
            let body: std::sync::Arc<[u8]> = render(conn)?.body_bytes().into();
            pages.put(version, key, body.clone());
            Ok(body)
        })
        .await?;
    Ok(Reply::Rendered(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(page: i64) -> PageKey {
        PageKey::Popular {
            medium: "movie",
            page,
        }
    }

    #[test]
    fn pages_live_as_long_as_their_version() {
        let cache = PageCache::default();
        assert_eq!(cache.get(1, &key(1)), None);
        cache.put(1, key(1), Arc::from(&b"one"[..]));
        assert_eq!(cache.get(1, &key(1)).as_deref(), Some(&b"one"[..]));
        // The database moved on: the page is gone, and a page read before the move is not kept.
        assert_eq!(cache.get(2, &key(1)), None);
        cache.put(1, key(1), Arc::from(&b"stale"[..]));
        assert_eq!(cache.get(2, &key(1)), None);
        cache.put(2, key(1), Arc::from(&b"two"[..]));
        assert_eq!(cache.get(2, &key(1)).as_deref(), Some(&b"two"[..]));
    }
}

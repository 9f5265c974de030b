//! Import runs (api-reference.md 5.7, decisions F25): in the background after a link and after each
//! login, one at a time per user and service. A run opens the link's tokens, lets the provider module
//! refresh them and read the user's library, then writes what it found through the catalogue's and
//! the interactions' writers (so every new content and interaction has its events and the engine
//! picks them up), in batches, each with its share of the run's tally in `external_import`.
//!
//! Idempotent by construction: contents are matched by their provider keys before one is added, and
//! an interaction only moves forward — a rating that differs, a first view or consumption, plays
//! newer than the last one counted.

use super::found::{End, Item, Wanted};
use super::vault::{Unreadable, Vault, place};
use super::{Providers, Service, Tokens, gbooks, spotify, tmdb};
use crate::db::catalogue::{self, NewContent};
use crate::db::meta::{self, Amount, Interaction};
use crate::db::{self, Db, links};
use crate::engine::EngineSignal;
use crate::error::ApiResult;
use crate::events::EventContext;
use crate::util::time::now_text;
use rusqlite::{Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Items written per transaction: the writers' turn is held for a few milliseconds at a time.
const ITEMS_PER_TRANSACTION: usize = 100;

/// Starts imports; shared by the routes (after a link, after a login).
#[derive(Clone)]
pub struct Imports(Arc<Inner>);

struct Inner {
    db: Db,
    vault: Vault,
    providers: Providers,
    engine: EngineSignal,
    running: Mutex<HashSet<(i64, Service)>>,
}

impl Imports {
    pub fn new(db: Db, vault: Vault, providers: Providers, engine: EngineSignal) -> Imports {
        Imports(Arc::new(Inner {
            db,
            vault,
            providers,
            engine,
            running: Mutex::default(),
        }))
    }

    pub fn providers(&self) -> &Providers {
        &self.0.providers
    }

    pub fn vault(&self) -> &Vault {
        &self.0.vault
    }

    /// Imports every service the user has linked (and the server can reach); returns at once.
    pub fn after_login(&self, user_id: i64) {
        let imports = self.clone();
        rocket::tokio::spawn(async move {
            let names = imports
                .0
                .db
                .run(move |conn| Ok(links::linked(conn, user_id)?))
                .await;
            match names {
                Ok(names) => {
                    for service in names.iter().filter_map(|n| Service::from_name(n)) {
                        imports.start(user_id, service);
                    }
                }
                Err(e) => tracing::warn!("imports after login: {e}"),
            }
        });
    }

    /// Starts one run unless the server lacks the provider's settings or one is running already.
    pub fn start(&self, user_id: i64, service: Service) {
        if !self.0.providers.configured(service) {
            return;
        }
        let fresh = match self.0.running.lock() {
            Ok(mut running) => running.insert((user_id, service)),
            Err(_) => false,
        };
        if !fresh {
            return;
        }
        let imports = self.clone();
        rocket::tokio::spawn(async move {
            imports.run(user_id, service).await;
            if let Ok(mut running) = imports.0.running.lock() {
                running.remove(&(user_id, service));
            }
        });
    }

    async fn run(&self, user_id: i64, service: Service) {
        let db = &self.0.db;
        let started = db
            .write(move |conn| {
                Ok(links::start_import(
                    conn,
                    user_id,
                    service.name(),
                    &now_text(),
                )?)
            })
            .await;
        let import_id = match started {
            Ok(id) => id,
            Err(e) => return tracing::warn!("{service} import for user {user_id}: {e}"),
        };
        let outcome = match self.import(user_id, service, import_id).await {
            Ok(tally) => {
                tracing::info!(
                    "{service} import for user {user_id}: {} contents added, {} interactions changed",
                    tally.contents_added,
                    tally.interactions_changed
                );
                "imported".to_owned()
            }
            Err(End::Revoked) => {
                tracing::info!(
                    "{service} import for user {user_id}: access was revoked at {service}; link removed"
                );
                let removed = db
                    .write(move |conn| Ok(links::delete(conn, user_id, service.name())?))
                    .await;
                if let Err(e) = removed {
                    tracing::warn!("{service} link of user {user_id}: {e}");
                }
                "revoked".to_owned()
            }
            Err(End::Failed(why)) => {
                tracing::warn!("{service} import for user {user_id} ended: {why}");
                format!("failed: {why}")
            }
        };
        let finished = db
            .write(move |conn| {
                Ok(links::finish_import(
                    conn,
                    import_id,
                    &outcome,
                    &now_text(),
                )?)
            })
            .await;
        if let Err(e) = finished {
            tracing::warn!("{service} import for user {user_id}: {e}");
        }
    }

    async fn import(
        &self,
        user_id: i64,
        service: Service,
        import_id: i64,
    ) -> Result<links::ImportTally, End> {
        let providers = &self.0.providers;
        let Some((service_id, tokens)) = self.tokens(user_id, service).await? else {
            return Err(End::Failed("the link is gone".into()));
        };
        let tokens = match service {
            Service::Spotify => spotify::refresh(providers, &tokens).await?,
            Service::GBooks => gbooks::refresh(providers, &tokens).await?,
            Service::Tmdb => tokens,
        };
        if service != Service::Tmdb {
            self.store_tokens(user_id, service, service_id, &tokens)
                .await?;
        }
        let items = match service {
            Service::Spotify => spotify::fetch(providers, &tokens).await?,
            Service::Tmdb => tmdb::fetch(providers, &tokens).await?,
            Service::GBooks => gbooks::fetch(providers, &tokens).await?,
        };
        let mut tally = links::ImportTally::default();
        for batch in merged(items).chunks(ITEMS_PER_TRANSACTION) {
            let batch = batch.to_vec();
            let written = self
                .0
                .db
                .write(move |conn| write_batch(conn, user_id, import_id, &batch))
                .await
                .map_err(End::failed)?;
            tally.contents_added += written.contents_added;
            tally.interactions_changed += written.interactions_changed;
            if written.interactions_changed > 0 {
                self.0.engine.wake();
            }
        }
        Ok(tally)
    }

    /// The link's tokens in clear, or `None` when there is no link.
    async fn tokens(&self, user_id: i64, service: Service) -> Result<Option<(i64, Tokens)>, End> {
        let link = self
            .0
            .db
            .run(move |conn| Ok(links::find(conn, user_id, service.name())?))
            .await
            .map_err(End::failed)?;
        let Some(link) = link else { return Ok(None) };
        let open = |column: &str, value: &Option<String>| -> Result<Option<String>, Unreadable> {
            value
                .as_deref()
                .map(|v| {
                    self.0
                        .vault
                        .open(v, &place(user_id, service.name(), column))
                })
                .transpose()
        };
        let access = open("access_token", &link.access_token).map_err(End::failed)?;
        let refresh = open("refresh_token", &link.refresh_token).map_err(End::failed)?;
        Ok(Some((
            link.service_id,
            Tokens {
                access: access.unwrap_or_default(),
                refresh,
            },
        )))
    }

    async fn store_tokens(
        &self,
        user_id: i64,
        service: Service,
        service_id: i64,
        tokens: &Tokens,
    ) -> Result<(), End> {
        let (access, refresh) = seal(&self.0.vault, user_id, service, tokens);
        let kept = self
            .0
            .db
            .write(move |conn| {
                Ok(links::update_tokens(
                    conn,
                    service_id,
                    &access,
                    refresh.as_deref(),
                )?)
            })
            .await
            .map_err(End::failed)?;
        if kept {
            Ok(())
        } else {
            Err(End::Failed("the link was removed during the import".into()))
        }
    }
}

/// A link's tokens as stored: sealed, each bound to its row and column.
pub fn seal(
    vault: &Vault,
    user_id: i64,
    service: Service,
    tokens: &Tokens,
) -> (String, Option<String>) {
    let access = vault.seal(
        &tokens.access,
        &place(user_id, service.name(), "access_token"),
    );
    let refresh = tokens
        .refresh
        .as_deref()
        .map(|r| vault.seal(r, &place(user_id, service.name(), "refresh_token")));
    (access, refresh)
}

/// One item per content: what several lists said about the same content, together.
fn merged(items: Vec<Item>) -> Vec<Item> {
    let mut index: HashMap<(&'static str, String), usize> = HashMap::new();
    let mut out: Vec<Item> = Vec::new();
    for item in items {
        let Some(key) = item.keys.iter().find(|k| k.is_usable()) else {
            continue;
        };
        let id = (item.medium.table.name, format!("{:?}", key.0));
        match index.get(&id) {
            Some(&at) => out[at].wanted.merge(item.wanted),
            None => {
                index.insert(id, out.len());
                out.push(item);
            }
        }
    }
    out
}

fn write_batch(
    conn: &mut Connection,
    user_id: i64,
    import_id: i64,
    items: &[Item],
) -> ApiResult<links::ImportTally> {
    let tx = db::write_transaction(conn)?;
    let now = EventContext::now(Some(user_id));
    let mut tally = links::ImportTally::default();
    for item in items {
        let content_id = match find(&tx, item)? {
            Some(id) => id,
            None => {
                tally.contents_added += 1;
                add(&tx, &now, item)?
            }
        };
        if apply(&tx, &now, user_id, content_id, &item.wanted)? {
            tally.interactions_changed += 1;
        }
    }
    links::count_import(&tx, import_id, &tally)?;
    tx.commit()?;
    Ok(tally)
}

/// The catalogue's content for an item, by the first of its keys that matches.
fn find(conn: &Connection, item: &Item) -> rusqlite::Result<Option<i64>> {
    let table = &item.medium.table;
    for key in item.keys.iter().filter(|k| k.is_usable()) {
        // Column names come from the provider modules' constants, checked against the table.
        let mut terms = Vec::new();
        let mut values = Vec::new();
        for (name, value) in &key.0 {
            let Some(column) = table.column(name) else {
                continue;
            };
            terms.push(format!("{} = ?", column.name));
            values.push(catalogue::column_value(column.kind, value));
        }
        if terms.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT content_id FROM {} WHERE {} ORDER BY content_id LIMIT 1",
            table.name,
            terms.join(" AND ")
        );
        let found = conn
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(values), |r| r.get(0))
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

fn add(conn: &Connection, ctx: &EventContext, item: &Item) -> rusqlite::Result<i64> {
    let table = &item.medium.table;
    let values = table
        .columns
        .iter()
        .map(|column| {
            item.columns
                .iter()
                .find(|(name, _)| *name == column.name)
                .map_or(rusqlite::types::Value::Null, |(_, v)| {
                    catalogue::column_value(column.kind, v)
                })
        })
        .collect();
    let mut genres = Vec::new();
    for name in &item.genres {
        let id: Option<i64> = conn
            .prepare_cached(
                "SELECT genre_id FROM genre WHERE content_type = ?1 AND name = ?2 COLLATE NOCASE
                 ORDER BY genre_id LIMIT 1",
            )?
            .query_row([table.content_type, name.as_str()], |r| r.get(0))
            .optional()?;
        genres.extend(id.filter(|id| !genres.contains(id)));
    }
    catalogue::add(conn, ctx, table, &NewContent { values, genres })
}

/// Moves the user's interaction forward to what the provider showed; whether anything changed.
fn apply(
    conn: &Connection,
    now: &EventContext,
    user_id: i64,
    content_id: i64,
    wanted: &Wanted,
) -> ApiResult<bool> {
    let existing = meta::find(conn, user_id, content_id)?.unwrap_or_default();
    let counted_until = existing.last_count_increment.clone().unwrap_or_default();
    let mut plays: Vec<&String> = wanted
        .plays
        .iter()
        .filter(|at| **at > counted_until)
        .collect();
    plays.sort();
    plays.dedup();
    let mut interaction = Interaction {
        view: wanted.viewed && existing.review_see_count == 0,
        rating: wanted.rating.filter(|r| existing.rating != Some(*r)),
        consumption: None,
    };
    // Plays are dated when they happened, so that the next import counts only later ones.
    let ctx = match plays.last() {
        Some(last) => {
            interaction.consumption = Some(Amount::Int(plays.len() as i64));
            EventContext {
                at: (*last).clone(),
                by: now.by,
            }
        }
        None => {
            if wanted.consumed && existing.count == 0 {
                interaction.consumption = Some(Amount::Int(1));
            }
            now.clone()
        }
    };
    if interaction == Interaction::default() {
        return Ok(false);
    }
    meta::interact(conn, &ctx, user_id, content_id, interaction).map_err(|e| match e {
        meta::MetaWriteError::Sqlite(e) => e.into(),
        other => crate::error::ApiError::internal(other),
    })?;
    Ok(true)
}

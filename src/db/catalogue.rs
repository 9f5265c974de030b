//! The catalogue aggregate: contents of the six media (and episodes), their genres, lists, search,
//! and the only functions that add, change or delete media rows — each writes its events in the same
//! transaction (`crate::events`).

use crate::events::{self, EventContext};
use crate::media::{Kind, MediaTable, Medium, PopularOrder};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::{Map, Value as Json};

/// What a serialized content carries besides its columns (api-reference.md 2.0).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    pub genres: bool,
    pub categorie: bool,
    /// Episodes have no `popularity_score`.
    pub popularity: bool,
}

impl Shape {
    pub fn base(medium: &Medium) -> Shape {
        Shape {
            genres: false,
            categorie: medium.with_categorie,
            popularity: true,
        }
    }
    pub fn object(medium: &Medium) -> Shape {
        Shape {
            genres: true,
            ..Shape::base(medium)
        }
    }
    pub fn with_genres(medium: &Medium, genres: bool) -> Shape {
        if genres {
            Shape::object(medium)
        } else {
            Shape::base(medium)
        }
    }
    pub fn episode() -> Shape {
        Shape {
            genres: false,
            categorie: false,
            popularity: false,
        }
    }
}

pub fn json_of(value: ValueRef<'_>) -> Json {
    match value {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(i) => Json::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        ValueRef::Text(t) => Json::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The contents `ids` of one media table, serialized, in the order of `ids` (unknown ids are skipped).
pub fn load(
    conn: &Connection,
    table: &MediaTable,
    ids: &[i64],
    shape: Shape,
) -> rusqlite::Result<Vec<Map<String, Json>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("m.{}", c.name))
        .collect();
    let sql = format!(
        "SELECT c.content_id, c.rating, c.rating_count, c.popularity_score, {} FROM content c
         JOIN {} m ON m.content_id = c.content_id WHERE c.content_id IN ({})",
        columns.join(", "),
        table.name,
        placeholders(ids.len())
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(ids))?;
    let mut by_id = std::collections::HashMap::with_capacity(ids.len());
    while let Some(row) = rows.next()? {
        let content_id: i64 = row.get(0)?;
        let mut item = Map::new();
        item.insert("content_id".into(), content_id.into());
        if let Some(alias) = table.alias {
            item.insert(alias.into(), content_id.into());
        }
        for (i, column) in table.columns.iter().enumerate() {
            item.insert(column.name.into(), json_of(row.get_ref(4 + i)?));
        }
        item.insert("rating".into(), json_of(row.get_ref(1)?));
        item.insert("rating_count".into(), json_of(row.get_ref(2)?));
        if shape.popularity {
            item.insert("popularity_score".into(), json_of(row.get_ref(3)?));
        }
        by_id.insert(content_id, item);
    }
    if shape.genres || shape.categorie {
        let mut genres = genres_of(conn, ids)?;
        for (id, item) in by_id.iter_mut() {
            let list = genres.remove(id).unwrap_or_default();
            if shape.categorie {
                item.insert(
                    "categorie".into(),
                    list.first().cloned().unwrap_or(Json::Null),
                );
            }
            if shape.genres {
                item.insert("genres".into(), Json::Array(list));
            }
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Genres of each content, in the order they were linked.
fn genres_of(
    conn: &Connection,
    ids: &[i64],
) -> rusqlite::Result<std::collections::HashMap<i64, Vec<Json>>> {
    let sql = format!(
        "SELECT cg.content_id, g.genre_id, g.name, g.count FROM content_genres cg JOIN genre g ON g.genre_id = cg.genre_id
         WHERE cg.content_id IN ({}) ORDER BY cg.rowid",
        placeholders(ids.len())
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(ids))?;
    let mut out: std::collections::HashMap<i64, Vec<Json>> = std::collections::HashMap::new();
    while let Some(row) = rows.next()? {
        let genre = serde_json::json!({"genre_id": row.get::<_, i64>(1)?, "name": json_of(row.get_ref(2)?), "count": json_of(row.get_ref(3)?)});
        out.entry(row.get(0)?).or_default().push(genre);
    }
    Ok(out)
}

/// One page of a medium's popular list: content ids in order, and the medium's total. Each ordering
/// walks an index (see migration V4), so a page costs its offset in index steps, not a sort.
pub fn popular(
    conn: &Connection,
    medium: &Medium,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<i64>, i64)> {
    let (table, content_type, order) = (
        medium.table.name,
        medium.table.content_type,
        medium.popular_order.sql(),
    );
    let page_sql = match medium.popular_order {
        // Games order by their own column: walk game's index and join content for the tiebreak.
        PopularOrder::Recommendations => format!(
            "SELECT m.content_id FROM {table} m JOIN content c ON c.content_id = m.content_id
             WHERE ?1 IS NOT NULL ORDER BY {order} LIMIT ?2 OFFSET ?3"
        ),
        _ => format!(
            "SELECT c.content_id FROM content c WHERE c.content_type = ?1 ORDER BY {order} LIMIT ?2 OFFSET ?3"
        ),
    };
    let total = count_of(conn, content_type)?;
    if limit == 0 {
        return Ok((Vec::new(), total));
    }
    let ids = conn
        .prepare_cached(&page_sql)?
        .query_map(params![content_type, limit, offset], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((ids, total))
}

/// How many contents of a type there are, from the counter the triggers of migration V5 keep.
pub fn count_of(conn: &Connection, content_type: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT coalesce((SELECT n FROM content_type_count WHERE content_type = ?1), 0)",
    )?
    .query_row([content_type], |r| r.get(0))
}

/// Above this many matches, sorting every match by popularity costs more than walking the popularity
/// index and keeping what matches (measured: 258k matches sort in 200 ms, the walk takes < 1 ms).
const SORT_AT_MOST: i64 = 2_000;

/// Case-insensitive literal substring search on the medium's search column (decisions F10): exact
/// matches first, then prefixes, then the rest, each in the medium's popular order, then `content_id`.
///
/// Membership and the total come from the FTS5 trigram index (terms of 3 characters or more) or a
/// scan (shorter terms). Then: few matches are sorted; many are read group by group, exact and prefix
/// matches through a NOCASE index on the column, the rest by walking the popularity index.
pub fn search(
    conn: &Connection,
    medium: &Medium,
    term: &str,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<i64>, i64)> {
    let (table, column, order) = (
        medium.table.name,
        medium.search_column,
        medium.popular_order.sql(),
    );
    let trigram = term.chars().count() >= 3;
    let (hits, key) = if trigram {
        // An FTS5 phrase: the term in double quotes, inner quotes doubled, matched as a substring.
        (
            format!("SELECT rowid AS content_id FROM {table}_search WHERE {table}_search MATCH ?1"),
            format!("\"{}\"", term.replace('"', "\"\"")),
        )
    } else {
        (
            format!("SELECT content_id FROM {table} WHERE instr(lower({column}), lower(?1)) > 0"),
            term.to_owned(),
        )
    };
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM ({hits})"))?
        .query_row([&key], |r| r.get(0))?;
    if limit == 0 || total == 0 || offset >= total {
        return Ok((Vec::new(), total));
    }
    if total <= SORT_AT_MOST || !trigram {
        let sql = format!(
            "WITH hits AS ({hits})
             SELECT c.content_id FROM hits JOIN {table} m ON m.content_id = hits.content_id
             JOIN content c ON c.content_id = hits.content_id
             ORDER BY lower(m.{column}) = lower(?2) DESC, substr(lower(m.{column}), 1, length(?2)) = lower(?2) DESC, {order}
             LIMIT ?3 OFFSET ?4"
        );
        let ids = conn
            .prepare_cached(&sql)?
            .query_map(params![key, term, limit, offset], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        return Ok((ids, total));
    }

    // Many matches: three groups (exact, prefix, the rest), each in popular order; a page may span
    // them. A small group is read through the NOCASE index and sorted; a large one by walking the
    // popularity index and keeping what matches.
    let upper = format!("{term}\u{10FFFF}");
    // Each filter uses both ?1 (the term) and ?2 (just past every string that starts with it).
    let within = format!("m.{column} >= ?1 COLLATE NOCASE AND m.{column} < ?2 COLLATE NOCASE");
    let exact = format!("{within} AND m.{column} = ?1 COLLATE NOCASE");
    let prefix = format!("{within} AND m.{column} != ?1 COLLATE NOCASE");
    let rest = format!("NOT ({within}) AND instr(lower(m.{column}), lower(?1)) > 0");
    let count = |filter: &str| -> rusqlite::Result<i64> {
        conn.prepare_cached(&format!("SELECT count(*) FROM {table} m WHERE {filter}"))?
            .query_row(params![term, upper], |r| r.get(0))
    };
    let (exact_size, prefix_size) = (count(&exact)?, count(&prefix)?);
    let groups = [
        (exact, exact_size),
        (prefix, prefix_size),
        (rest, total - exact_size - prefix_size),
    ];
    let (mut ids, mut skip, mut want) = (Vec::new(), offset, limit);
    for (filter, size) in groups {
        if want == 0 {
            break;
        }
        if skip >= size && size <= SORT_AT_MOST {
            skip -= size;
            continue;
        }
        let part = if size <= SORT_AT_MOST {
            let members: Vec<i64> = conn
                .prepare_cached(&format!(
                    "SELECT m.content_id FROM {table} m WHERE {filter}"
                ))?
                .query_map(params![term, upper], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let sql = format!(
                "SELECT c.content_id FROM content c JOIN {table} m ON m.content_id = c.content_id
                 WHERE c.content_id IN ({}) ORDER BY {order} LIMIT ? OFFSET ?",
                placeholders(members.len())
            );
            let mut values: Vec<i64> = members;
            values.extend([want, skip]);
            conn.prepare(&sql)?
                .query_map(params_from_iter(values), |r| r.get(0))?
                .collect::<Result<Vec<i64>, _>>()?
        } else {
            let from = match medium.popular_order {
                PopularOrder::Recommendations => {
                    format!("{table} m JOIN content c ON c.content_id = m.content_id")
                }
                _ => format!("content c JOIN {table} m ON m.content_id = c.content_id"),
            };
            let sql = format!(
                "SELECT c.content_id FROM {from} WHERE c.content_type = ?3 AND {filter} ORDER BY {order} LIMIT ?4 OFFSET ?5"
            );
            conn.prepare_cached(&sql)?
                .query_map(
                    params![term, upper, medium.table.content_type, want, skip],
                    |r| r.get(0),
                )?
                .collect::<Result<Vec<i64>, _>>()?
        };
        // A walked group's size is an estimate (case folding differs slightly between FTS5 and SQLite),
        // so the offset left for the next group is what this one could not use.
        skip = (skip - size).max(0);
        want -= part.len() as i64;
        ids.extend(part);
    }
    Ok((ids, total))
}

/// Whether any content has this id (the meta routes do not check the medium, as in the reference).
pub fn content_exists(conn: &Connection, content_id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM content WHERE content_id = ?1)")?
        .query_row([content_id], |r| r.get(0))
}

/// Whether this content is of this medium.
pub fn is_of(conn: &Connection, table: &MediaTable, content_id: i64) -> rusqlite::Result<bool> {
    conn.prepare_cached(&format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE content_id = ?1)",
        table.name
    ))?
    .query_row([content_id], |r| r.get(0))
}

/// Episodes of a serie, by season and number.
pub fn episode_ids(conn: &Connection, serie_id: i64) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached("SELECT content_id FROM episode WHERE serie_id = ?1 ORDER BY season_number, episode_number, content_id")?
        .query_map([serie_id], |r| r.get(0))?
        .collect()
}

/// A recommendation row: which content, from which engine, with which score.
#[derive(Debug, Clone)]
pub struct Recommendation {
    pub content_id: i64,
    pub engine: Option<String>,
    pub score: Option<f64>,
}

/// Whose recommendations to read: a user's own, or those of every group the user owns or belongs to
/// (decisions F2; a content recommended to several groups shows once, with its best score).
#[derive(Debug, Clone, Copy)]
pub enum Audience {
    User(i64),
    GroupsOf(i64),
}

pub fn recommendations(
    conn: &Connection,
    medium: &Medium,
    audience: Audience,
    engine: Option<&str>,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<Recommendation>, i64)> {
    let source = match audience {
        Audience::User(_) => {
            "SELECT content_id, engine, score FROM recommended_content WHERE user_id = ?1"
                .to_owned()
        }
        Audience::GroupsOf(_) => {
            r#"SELECT content_id, engine, max(score) AS score FROM recommended_content_for_group
               WHERE group_id IN (SELECT group_id FROM "group" WHERE owner_id = ?1
                                  UNION SELECT group_id FROM group_members WHERE user_id = ?1)
                 AND (?2 IS NULL OR engine = ?2)
               GROUP BY content_id"#
                .to_owned()
        }
    };
    let user_id = match audience {
        Audience::User(id) | Audience::GroupsOf(id) => id,
    };
    let from = format!(
        "FROM ({source}) r JOIN {table} m ON m.content_id = r.content_id JOIN content c ON c.content_id = r.content_id
         WHERE (?2 IS NULL OR r.engine = ?2)",
        table = medium.table.name
    );
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) {from}"))?
        .query_row(params![user_id, engine], |r| r.get(0))?;
    if limit == 0 {
        return Ok((Vec::new(), total));
    }
    let sql = format!(
        "SELECT r.content_id, r.engine, r.score {from} ORDER BY r.score DESC, {} LIMIT ?3 OFFSET ?4",
        medium.popular_order.sql()
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params![user_id, engine, limit, offset], |r| {
            Ok(Recommendation {
                content_id: r.get(0)?,
                engine: r.get(1)?,
                score: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

/// The caller's played tracks, most recent first: (content id, last play) pairs and the total.
pub fn track_history(
    conn: &Connection,
    user_id: i64,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<(Vec<(i64, String)>, i64)> {
    let from = "FROM meta_user_content mu JOIN track t ON t.content_id = mu.content_id
                WHERE mu.user_id = ?1 AND mu.last_count_increment IS NOT NULL";
    let total = conn
        .prepare_cached(&format!("SELECT count(*) {from}"))?
        .query_row([user_id], |r| r.get(0))?;
    if limit == 0 {
        return Ok((Vec::new(), total));
    }
    let rows = conn
        .prepare_cached(&format!(
            "SELECT mu.content_id, mu.last_count_increment {from} ORDER BY mu.last_count_increment DESC, mu.content_id LIMIT ?2 OFFSET ?3"
        ))?
        .query_map(params![user_id, limit, offset], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok((rows, total))
}

// ---- Writes: every change of a media row goes through here, with its events. -------------------------

/// A media row to add: its column values in table order, its genres, and (episodes) its serie.
#[derive(Debug, Clone)]
pub struct NewContent {
    pub values: Vec<Value>,
    pub genres: Vec<i64>,
}

/// Adds a content of `table` with its genres; writes `<table>_added_event`. Returns the content id.
pub fn add(
    conn: &Connection,
    ctx: &EventContext,
    table: &MediaTable,
    content: &NewContent,
) -> rusqlite::Result<i64> {
    // The type is set before the media row: the trigger of V12 that logs contents added by others
    // (and types them) leaves a typed content alone, since its writer logs it, as here.
    conn.prepare_cached("INSERT INTO content (rating, rating_count, popularity_score, content_type) VALUES (NULL, 0, 0, ?1)")?
        .execute([table.content_type])?;
    let content_id = conn.last_insert_rowid();
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let sql = format!(
        "INSERT INTO {} (content_id, {}) VALUES (?, {})",
        table.name,
        columns.join(", "),
        placeholders(columns.len())
    );
    let head = [Value::Integer(content_id)];
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(head.iter().chain(content.values.iter())))?;
    let mut link = conn.prepare_cached(
        "INSERT OR IGNORE INTO content_genres (content_id, genre_id) VALUES (?1, ?2)",
    )?;
    for genre_id in &content.genres {
        link.execute([content_id, *genre_id])?;
    }
    events::media_added(conn, ctx, table, content_id, &content.values)?;
    Ok(content_id)
}

/// The current values of one content's columns, in table order.
pub fn values(
    conn: &Connection,
    table: &MediaTable,
    content_id: i64,
) -> rusqlite::Result<Option<Vec<Value>>> {
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE content_id = ?1",
        columns.join(", "),
        table.name
    );
    conn.prepare_cached(&sql)?
        .query_row([content_id], |row| {
            (0..columns.len()).map(|i| row.get::<_, Value>(i)).collect()
        })
        .optional()
}

/// Sets columns of one content (`changes`: column name → new value); writes one `changed_event` per
/// column whose value actually changed, in table order. Returns the changed column names.
pub fn modify(
    conn: &Connection,
    ctx: &EventContext,
    table: &MediaTable,
    content_id: i64,
    changes: &[(&'static str, Value)],
) -> rusqlite::Result<Vec<&'static str>> {
    let Some(current) = values(conn, table, content_id)? else {
        return Ok(Vec::new());
    };
    let mut changed = Vec::new();
    for (column, old) in table.columns.iter().zip(current.iter()) {
        let Some((_, new)) = changes.iter().find(|(name, _)| *name == column.name) else {
            continue;
        };
        if new == old {
            continue;
        }
        conn.prepare_cached(&format!(
            "UPDATE {} SET {} = ?1 WHERE content_id = ?2",
            table.name, column.name
        ))?
        .execute(params![new, content_id])?;
        events::changed(
            conn,
            ctx,
            content_id,
            table.name,
            column.name,
            &events::value_text(new),
        )?;
        changed.push(column.name);
    }
    Ok(changed)
}

/// Replaces a content's genres; writes a `changed_event` (attribute `genres`, the new id list) when
/// they differ. Returns whether they did.
pub fn set_genres(
    conn: &Connection,
    ctx: &EventContext,
    table: &MediaTable,
    content_id: i64,
    genres: &[i64],
) -> rusqlite::Result<bool> {
    let current: Vec<i64> = conn
        .prepare_cached("SELECT genre_id FROM content_genres WHERE content_id = ?1 ORDER BY rowid")?
        .query_map([content_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut wanted: Vec<i64> = Vec::new();
    for g in genres {
        if !wanted.contains(g) {
            wanted.push(*g);
        }
    }
    if current == wanted {
        return Ok(false);
    }
    conn.prepare_cached("DELETE FROM content_genres WHERE content_id = ?1")?
        .execute([content_id])?;
    let mut link =
        conn.prepare_cached("INSERT INTO content_genres (content_id, genre_id) VALUES (?1, ?2)")?;
    for genre_id in &wanted {
        link.execute([content_id, *genre_id])?;
    }
    let text = format!(
        "[{}]",
        wanted
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    events::changed(conn, ctx, content_id, table.name, "genres", &text)?;
    Ok(true)
}

/// Deletes a content with everything that depends on it; a serie takes its episodes along. Writes a
/// `deletion_event` per deleted media row.
pub fn delete(
    conn: &Connection,
    ctx: &EventContext,
    table: &MediaTable,
    content_id: i64,
) -> rusqlite::Result<()> {
    if table.name == "serie" {
        for episode_id in episode_ids(conn, content_id)? {
            delete(conn, ctx, &crate::media::EPISODE, episode_id)?;
        }
    }
    // The event comes first: it tells the trigger of V12, which logs deletions made by others,
    // that this one is logged.
    events::deletion(conn, ctx, content_id, table.name)?;
    // These links do not cascade in the reference schema (they would block the delete). Lists
    // naming the content as a neighbour or a recommendation are the engine's to clean (V11).
    conn.prepare_cached("DELETE FROM content_genres WHERE content_id = ?1")?
        .execute([content_id])?;
    conn.prepare_cached("DELETE FROM similars_content WHERE content_id0 = ?1")?
        .execute([content_id])?;
    // The media row, metas, reports and launch copies cascade from content.
    conn.prepare_cached("DELETE FROM content WHERE content_id = ?1")?
        .execute([content_id])?;
    Ok(())
}

/// A JSON body value as the column's storage value (the body schema has already checked the type).
pub fn column_value(kind: Kind, value: &Json) -> Value {
    match (kind, value) {
        (_, Json::Null) => Value::Null,
        (Kind::Integer, Json::Number(n)) => n.as_i64().map_or(Value::Null, Value::Integer),
        (Kind::Text, Json::String(s)) => Value::Text(s.clone()),
        (Kind::Text, Json::Number(n)) => Value::Text(n.to_string()),
        (_, other) => Value::Text(other.to_string()),
    }
}

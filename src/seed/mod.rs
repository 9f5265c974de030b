//! `recofinement seed`: a realistic, deterministic catalogue with users and their activity.
//!
//! Movies are the real CC0 catalogue embedded in the binary; the other media are generated with every
//! column filled, people and publishers shared between items. Users get tastes in a latent space
//! shared with the genres (and books' hidden categories); each interaction picks a medium and a genre
//! the user likes, then an item with a long-tailed popularity, and rates it by affinity — so a
//! recommender has real signal to find. Every content and interaction is written through the same
//! functions as the API (`db::catalogue::add`, `db::meta::insert`), so the event log of a seeded
//! database is what the API would have written. All of it is one transaction: a seed lands whole or
//! not at all.

mod movies;
mod people;
mod rng;
mod vocab;

use crate::db::catalogue::{self, NewContent};
use crate::db::meta::{self, Meta};
use crate::db::{self, users};
use crate::events::EventContext;
use crate::media::EPISODE;
use crate::util::time;
use chrono::{Duration, NaiveDate};
use indicatif::{ProgressBar, ProgressStyle};
use rng::Rng;
use rusqlite::Connection;
use rusqlite::types::Value;
use std::collections::HashSet;
use std::time::Instant;

use people::{seed_groups, seed_interactions, seed_users};

/// The password of every seeded account (documented in README.md).
pub const DEMO_PASSWORD: &str = "Demo1234!";
/// Dimensions of the latent taste space.
const K: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// ≈5,000 contents, 200 users, 20,000 interactions (seconds)
    Small,
    /// ≈100,000 contents, 10,000 users, 1,000,000 interactions
    Medium,
    /// ≈1,000,000 contents, 100,000 users, 10,000,000 interactions
    Large,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    /// Contents of the six media (episodes come on top, a handful per serie).
    pub contents: usize,
    pub users: usize,
    pub interactions: usize,
    /// Add to a database that already has data (otherwise refused).
    pub append: bool,
    /// bcrypt cost of the demo password's hash (one hash, shared by every seeded account).
    pub bcrypt_cost: u32,
    pub show_progress: bool,
}

impl Plan {
    pub fn sized(size: Size, seed: u64) -> Plan {
        let (contents, users, interactions) = match size {
            Size::Small => (5_000, 200, 20_000),
            Size::Medium => (100_000, 10_000, 1_000_000),
            Size::Large => (1_000_000, 100_000, 10_000_000),
        };
        Plan {
            seed,
            contents,
            users,
            interactions,
            append: false,
            bcrypt_cost: 12,
            show_progress: false,
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub contents: usize,
    pub episodes: usize,
    pub users: usize,
    pub groups: usize,
    pub interactions: usize,
    pub events: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the database already has {0}; pass --append to add to it")]
    NotEmpty(&'static str),
    #[error("nothing to seed: give at least one content")]
    NoContent,
    #[error("cannot read the embedded movie catalogue: {0}")]
    Movies(#[from] csv::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot hash the demo password: {0}")]
    Hash(String),
}

/// How many contents of each medium, in the order of `crate::media::MEDIA`.
fn mix(total: usize, real_movies: usize) -> [usize; 6] {
    let share = |percent: usize| total * percent / 100;
    let movies = share(20).min(real_movies);
    let (applications, books, games, series) = (
        share(10),
        share(28),
        share(8),
        share(2).max(usize::from(total >= 10)),
    );
    let tracks = total.saturating_sub(movies + applications + books + games + series);
    [applications, books, games, movies, series, tracks]
}

/// One generated item: where it sits in the latent space.
struct Item {
    content_id: i64,
    medium: usize,
    vector: [f32; K],
}

/// The items of one genre (or book category), in popularity order (head first).
struct Pool {
    medium: usize,
    /// The genre behind the pool; `None` for a hidden book category.
    genre_id: Option<i64>,
    vector: [f32; K],
    items: Vec<u32>,
}

fn random_vector(rng: &mut Rng) -> [f32; K] {
    let mut v = [0f32; K];
    for x in v.iter_mut() {
        *x = rng.normal() as f32;
    }
    v
}

fn dot(a: &[f32; K], b: &[f32; K]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn person(rng: &mut Rng) -> String {
    format!(
        "{} {}",
        rng.pick(vocab::FIRST_NAMES),
        rng.pick(vocab::LAST_NAMES)
    )
}

fn people(rng: &mut Rng, pool: &[String], n: usize) -> String {
    (0..n)
        .map(|_| rng.pick(pool).clone())
        .collect::<Vec<_>>()
        .join(", ")
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn title(rng: &mut Rng) -> String {
    let a = capitalized(rng.word(vocab::TITLE_WORDS));
    let b = capitalized(rng.word(vocab::TITLE_WORDS));
    match rng.below(4) {
        0 => a,
        1 => format!("{a} {b}"),
        2 => format!(
            "The {a} {} {b}",
            rng.pick(vocab::CONNECTORS)
                .trim_start_matches("the ")
                .replace(" the", "")
        ),
        _ => format!("{a} {} {b}", rng.pick(vocab::CONNECTORS)),
    }
}

/// A valid ISBN-13 (978 prefix and check digit) from a number.
fn isbn13(n: u64) -> String {
    let body = format!("978{:09}", n % 1_000_000_000);
    let sum: u32 = body
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap_or(0) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A version-4 UUID from the generator (deterministic, unlike `Uuid::new_v4`).
fn random_uuid(rng: &mut Rng) -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn progress(show: bool, len: usize, label: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>12} [{bar:40}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_owned());
    bar
}

/// Seeds `conn` according to `plan`, in one transaction.
pub fn run(conn: &mut Connection, plan: &Plan) -> Result<Report, SeedError> {
    if plan.contents == 0 {
        return Err(SeedError::NoContent);
    }
    if !plan.append {
        let has = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, bool>(0));
        if has("SELECT EXISTS (SELECT 1 FROM content)")? {
            return Err(SeedError::NotEmpty("contents"));
        }
        if has(r#"SELECT EXISTS (SELECT 1 FROM "user")"#)? {
            return Err(SeedError::NotEmpty("users"));
        }
    }
    let films = movies::load()?;
    let demo_hash = bcrypt::hash(DEMO_PASSWORD, plan.bcrypt_cost)
        .map_err(|e| SeedError::Hash(e.to_string()))?;
    conn.execute_batch("PRAGMA cache_size = -65536")?;
    let started = Instant::now();
    let tx = db::write_transaction(conn)?;
    let events_before: i64 =
        tx.query_row("SELECT last_id FROM event_sequence", [], |r| r.get(0))?;
    let root = Rng::new(plan.seed);
    // Numbers that keep appended rows unique (names, ISBNs, e-mails).
    let offset = tx.query_row(
        "SELECT coalesce(max(content_id), 0) FROM content",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64;
    // Seeded accounts are user1@example.com, user2@example.com, …: appended ones continue the series.
    let user_offset = tx.query_row(
        r#"SELECT coalesce(max(CAST(substr(email, 5, length(email) - 16) AS INTEGER)), 0) FROM "user"
           WHERE email GLOB 'user[0-9]*@example.com'"#,
        [],
        |r| r.get::<_, i64>(0),
    )?
    .max(0) as u64;

    let mut report = Report::default();
    let (items, pools) = seed_catalogue(&tx, plan, &root, &films, offset, &mut report)?;
    let user_ids = seed_users(
        &tx,
        plan,
        &root,
        &demo_hash,
        user_offset,
        &pools,
        &mut report,
    )?;
    seed_groups(&tx, &root, &user_ids, &mut report)?;
    seed_interactions(&tx, plan, &root, &user_ids, &items, &pools, &mut report)?;
    refresh_aggregates(&tx)?;
    let events_after: i64 = tx.query_row("SELECT last_id FROM event_sequence", [], |r| r.get(0))?;
    report.events = events_after - events_before;
    tx.commit()?;
    tracing::info!(?report, seconds = started.elapsed().as_secs_f64(), "seeded");
    Ok(report)
}

/// A genre per (medium, name), created if missing; returns their ids and latent vectors.
fn ensure_genres(
    conn: &Connection,
    rng: &mut Rng,
    content_type: &str,
    names: &[&str],
) -> rusqlite::Result<Vec<(i64, [f32; K])>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let existing: Option<i64> = conn
            .query_row(
                "SELECT genre_id FROM genre WHERE name = ?1 AND content_type = ?2",
                [name, &content_type],
                |r| r.get(0),
            )
            .ok();
        let id = match existing {
            Some(id) => id,
            None => {
                conn.execute(
                    "INSERT INTO genre (name, count, content_type) VALUES (?1, 0, ?2)",
                    [name, &content_type],
                )?;
                conn.last_insert_rowid()
            }
        };
        out.push((id, random_vector(rng)));
    }
    Ok(out)
}

fn seed_catalogue(
    conn: &Connection,
    plan: &Plan,
    root: &Rng,
    films: &[movies::Film],
    offset: u64,
    report: &mut Report,
) -> Result<(Vec<Item>, Vec<Pool>), SeedError> {
    let counts = mix(plan.contents, films.len());
    let mut rng = root.fork(1);
    let mut movie_genre_names: Vec<&str> = films.iter().flat_map(|f| f.genre_names()).collect();
    movie_genre_names.sort_unstable();
    movie_genre_names.dedup();
    let genre_names: [&[&str]; 6] = [
        vocab::APPLICATION_GENRES,
        &[],
        vocab::GAME_GENRES,
        &movie_genre_names,
        vocab::SERIE_GENRES,
        vocab::TRACK_GENRES,
    ];

    // Pools: one per genre of each medium, and the hidden book categories.
    let mut pools: Vec<Pool> = Vec::new();
    // For each medium, its pools' indexes in `pools`.
    let mut genre_pool: Vec<Vec<usize>> = vec![Vec::new(); 6];
    for (m, medium) in crate::media::MEDIA.iter().enumerate() {
        if m == 1 {
            for _ in 0..vocab::BOOK_CATEGORIES {
                genre_pool[m].push(pools.len());
                pools.push(Pool {
                    medium: m,
                    genre_id: None,
                    vector: random_vector(&mut rng),
                    items: Vec::new(),
                });
            }
            continue;
        }
        for (genre_id, vector) in
            ensure_genres(conn, &mut rng, medium.table.content_type, genre_names[m])?
        {
            genre_pool[m].push(pools.len());
            pools.push(Pool {
                medium: m,
                genre_id: Some(genre_id),
                vector,
                items: Vec::new(),
            });
        }
    }

    // Shared people and companies: a few hundred to a few thousand, so that items share them.
    let pool_size = (plan.contents / 40).clamp(50, 20_000);
    let persons: Vec<String> = (0..pool_size).map(|_| person(&mut rng)).collect();
    let companies: Vec<String> = (0..(pool_size / 10).max(10))
        .map(|_| {
            format!(
                "{} {}",
                capitalized(rng.word(vocab::TITLE_WORDS)),
                rng.pick(vocab::COMPANY_SUFFIXES)
            )
        })
        .collect();
    let artists: Vec<String> = (0..pool_size)
        .map(|_| {
            format!(
                "The {} {}s",
                capitalized(rng.word(vocab::TITLE_WORDS)),
                capitalized(rng.word(vocab::TITLE_WORDS))
            )
        })
        .collect();

    let total: usize = counts.iter().sum();
    let bar = progress(plan.show_progress, total, "contents");
    let base = NaiveDate::from_ymd_opt(2025, 6, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let mut items: Vec<Item> = Vec::with_capacity(total);
    let mut sequence = 0u64;
    for (m, medium) in crate::media::MEDIA.iter().enumerate() {
        for i in 0..counts[m] {
            sequence += 1;
            let n = offset + sequence;
            let at = time::to_db_text(base + Duration::seconds(sequence as i64));
            let ctx = EventContext { at, by: None };
            // Pick 1–3 genres (pools) for the item; movies use their real genres.
            let mut chosen: Vec<usize> = Vec::new();
            if m == 3 {
                for name in films[i].genre_names() {
                    if let Some(pos) = genre_names[3].iter().position(|g| *g == name) {
                        chosen.push(pos);
                    }
                }
            }
            if chosen.is_empty() {
                let available = genre_pool[m].len();
                for _ in 0..(if m == 1 { 1 } else { 1 + rng.below(3) as usize }) {
                    let pick = rng.long_tail(available, 1.6);
                    if !chosen.contains(&pick) {
                        chosen.push(pick);
                    }
                }
            }
            let mut vector = [0f32; K];
            for &c in &chosen {
                let pool_vector = pools[genre_pool[m][c]].vector;
                for (v, p) in vector.iter_mut().zip(pool_vector) {
                    *v += p / chosen.len() as f32;
                }
            }
            for v in vector.iter_mut() {
                *v += 0.4 * rng.normal() as f32;
            }
            let category = chosen[0];
            let values = generate_fields(
                m, i, n, &mut rng, films, &persons, &companies, &artists, category,
            );
            let genres: Vec<i64> = chosen
                .iter()
                .filter_map(|&c| pools[genre_pool[m][c]].genre_id)
                .collect();
            let content_id =
                catalogue::add(conn, &ctx, &medium.table, &NewContent { values, genres })?;
            let index = items.len() as u32;
            for &c in &chosen {
                pools[genre_pool[m][c]].items.push(index);
            }
            items.push(Item {
                content_id,
                medium: m,
                vector,
            });
            if m == 4 {
                report.episodes += seed_episodes(conn, &ctx, &mut rng, content_id, n)?;
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    // Popularity order inside each pool: a random permutation, so that popular items are not simply
    // the oldest ones.
    for pool in pools.iter_mut() {
        for i in (1..pool.items.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            pool.items.swap(i, j);
        }
    }
    report.contents = items.len();
    Ok((items, pools))
}

#[allow(clippy::too_many_arguments)]
fn generate_fields(
    medium: usize,
    index: usize,
    n: u64,
    rng: &mut Rng,
    films: &[movies::Film],
    persons: &[String],
    companies: &[String],
    artists: &[String],
    category: usize,
) -> Vec<Value> {
    let year = rng.range(1960, 2025);
    match medium {
        0 => vec![
            text(format!("{} {n}", title(rng))),
            text(format!("{}M", rng.range(2, 250))),
            text(format!(
                "{}+",
                [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000][rng.long_tail(6, 1.5)]
            )),
            text(if rng.chance(0.8) { "Free" } else { "Paid" }),
            text(if rng.chance(0.8) {
                "0".to_owned()
            } else {
                format!("${}.99", rng.range(0, 19))
            }),
            text(*rng.pick(&["Everyone", "Teen", "Mature 17+", "Everyone 10+"])),
            text(format!(
                "{}-{:02}-{:02}",
                rng.range(2015, 2025),
                rng.range(1, 12),
                rng.range(1, 28)
            )),
            text(format!(
                "{}.{}.{}",
                rng.range(1, 9),
                rng.range(0, 20),
                rng.range(0, 99)
            )),
            text(format!("{}.0 and up", rng.range(4, 12))),
            text(format!(
                "https://covers.recofinement.test/application/{n}.png"
            )),
        ],
        1 => {
            // Authors and publishers follow the hidden category, so they carry taste.
            let per = (persons.len() / vocab::BOOK_CATEGORIES).max(1);
            let author =
                &persons[(category * per + rng.below(per as u64) as usize) % persons.len()];
            vec![
                text(isbn13(n)),
                text(title(rng)),
                text(author.clone()),
                Value::Integer(year),
                text(
                    companies[(category + rng.below(3) as usize * vocab::BOOK_CATEGORIES)
                        % companies.len()]
                    .clone(),
                ),
                text(format!("https://covers.recofinement.test/book/{n}-s.jpg")),
                text(format!("https://covers.recofinement.test/book/{n}-m.jpg")),
                text(format!("https://covers.recofinement.test/book/{n}-l.jpg")),
            ]
        }
        2 => vec![
            Value::Integer(100_000 + n as i64),
            text(title(rng)),
            text(format!(
                "A {} game about the {}.",
                rng.pick(&["fast", "quiet", "strange", "epic", "cosy"]),
                rng.pick(vocab::TITLE_WORDS)
            )),
            text(format!("https://covers.recofinement.test/game/{n}.jpg")),
            text(format!("https://games.recofinement.test/{n}")),
            text(rng.pick(companies).clone()),
            text(rng.pick(companies).clone()),
            text(if rng.chance(0.3) {
                "Free".to_owned()
            } else {
                format!("{}.99", rng.range(1, 59))
            }),
            Value::Integer((100_000.0 * rng.unit().powi(6)) as i64),
            text(format!(
                "{} {}, {}",
                rng.range(1, 28),
                rng.pick(&["Jan", "Mar", "May", "Jul", "Sep", "Nov"]),
                rng.range(2000, 2025)
            )),
        ],
        3 => {
            let film = &films[index];
            let or_null = |s: &str| if s.is_empty() { Value::Null } else { text(s) };
            vec![
                text(film.title.clone()),
                or_null(&film.language),
                or_null(&film.cast),
                or_null(&film.year),
                text(people(rng, persons, 2)),
                or_null(&film.director),
                or_null(&film.writer),
                text(film.imdbid.clone()),
                text((10_000 + n).to_string()),
                text(format!(
                    "https://covers.recofinement.test/movie/{}.jpg",
                    film.imdbid
                )),
                text(format!(
                    "A {} film{}{}.",
                    film.genres.to_lowercase().replace(", ", " and "),
                    if film.director.is_empty() {
                        String::new()
                    } else {
                        format!(" by {}", film.director)
                    },
                    if film.country.is_empty() {
                        String::new()
                    } else {
                        format!(" from {}", film.country)
                    }
                )),
            ]
        }
        4 => {
            let start = rng.range(1990, 2023);
            vec![
                text(format!("tt{:07}", 9_000_000 + n)),
                text(title(rng)),
                Value::Integer(start),
                Value::Integer(start + rng.range(0, 8)),
                text(people(rng, persons, 2)),
                text(people(rng, persons, 1)),
                text(people(rng, persons, 4)),
                text(format!("https://covers.recofinement.test/serie/{n}.jpg")),
                text(format!(
                    "A series about {} and {}.",
                    rng.pick(vocab::TITLE_WORDS),
                    rng.pick(vocab::TITLE_WORDS)
                )),
            ]
        }
        _ => {
            let mbid = random_uuid(rng);
            const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
            let spotify: String = (0..22)
                .map(|_| BASE62[rng.below(62) as usize] as char)
                .collect();
            vec![
                text(title(rng)),
                Value::Integer(year),
                text(rng.pick(artists).clone()),
                text(title(rng)),
                text(format!("MM{n:08}")),
                text(mbid.to_string()),
                text(spotify),
                text(format!("https://covers.recofinement.test/track/{n}.jpg")),
            ]
        }
    }
}

fn seed_episodes(
    conn: &Connection,
    ctx: &EventContext,
    rng: &mut Rng,
    serie_id: i64,
    n: u64,
) -> rusqlite::Result<usize> {
    let seasons = rng.range(1, 3);
    let mut added = 0;
    for season in 1..=seasons {
        for episode in 1..=rng.range(2, 4) {
            let values = vec![
                text(format!("tt{:07}{season}{episode}", 9_000_000 + n)),
                text(format!(
                    "Episode {episode}: {}",
                    capitalized(rng.word(vocab::TITLE_WORDS))
                )),
                Value::Integer(rng.range(1990, 2025)),
                Value::Integer(season),
                Value::Integer(episode),
                Value::Integer(serie_id),
            ];
            catalogue::add(
                conn,
                ctx,
                &EPISODE,
                &NewContent {
                    values,
                    genres: Vec::new(),
                },
            )?;
            added += 1;
        }
    }
    Ok(added)
}

/// Content averages and genre counts, from what was seeded.
fn refresh_aggregates(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "UPDATE content SET rating = agg.average, rating_count = agg.n
         FROM (SELECT content_id, avg(rating) AS average, count(rating) AS n FROM meta_user_content
               WHERE rating IS NOT NULL GROUP BY content_id) AS agg
         WHERE content.content_id = agg.content_id;
         UPDATE genre SET count = (SELECT count(*) FROM content_genres cg WHERE cg.genre_id = genre.genre_id);",
    )
}

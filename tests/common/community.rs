//! A small catalogue with two tastes in every medium, and a community of fans of each, for the
//! engine's tests; and how to read lists back through the API.
#![allow(dead_code)]

use super::{TestApp, User};
use recofinement::engine;
use serde_json::json;
use std::collections::BTreeMap;

pub const MEDIA: [(&str, &str); 6] = [
    ("application", "APPLICATION"),
    ("book", "BOOK"),
    ("game", "GAME"),
    ("movie", "MOVIE"),
    ("serie", "SERIE"),
    ("track", "TRACK"),
];

/// Per medium: six "alpha" contents (one genre) and six "beta" contents (another genre).
pub struct Catalogue {
    pub alpha: BTreeMap<&'static str, Vec<i64>>,
    pub beta: BTreeMap<&'static str, Vec<i64>>,
    pub alpha_genre: BTreeMap<&'static str, i64>,
    pub beta_genre: BTreeMap<&'static str, i64>,
}

pub fn catalogue(app: &TestApp) -> Catalogue {
    build(app, false)
}

/// The same catalogue with its contents created in turns, one medium's after the other's, so that
/// the media's ids interleave (as in a catalogue that grew through the API) instead of coming in a
/// block per medium (as an import writes them).
pub fn catalogue_in_turns(app: &TestApp) -> Catalogue {
    build(app, true)
}

fn build(app: &TestApp, in_turns: bool) -> Catalogue {
    let mut out = Catalogue {
        alpha: BTreeMap::new(),
        beta: BTreeMap::new(),
        alpha_genre: BTreeMap::new(),
        beta_genre: BTreeMap::new(),
    };
    let words = ["one", "two", "three", "four", "five", "six"];
    let add = |medium: &str, prefix: &str, genre: i64, word: &str| -> i64 {
        let title = format!("{prefix} {word}");
        app.add_content(
            medium,
            json!({"title": title, "name": title, "isbn": format!("{medium}-{title}")}),
            &[genre],
        )
    };
    for (medium, content_type) in MEDIA {
        out.alpha_genre.insert(
            medium,
            app.add_genre(&format!("Alpha {medium}"), content_type),
        );
        out.beta_genre.insert(
            medium,
            app.add_genre(&format!("Beta {medium}"), content_type),
        );
        if !in_turns {
            for (side, prefix, genre) in [
                (&mut out.alpha, "Alpha", out.alpha_genre[medium]),
                (&mut out.beta, "Beta", out.beta_genre[medium]),
            ] {
                let ids = words
                    .iter()
                    .map(|w| add(medium, prefix, genre, w))
                    .collect();
                side.insert(medium, ids);
            }
        }
    }
    if in_turns {
        for word in words {
            for (medium, _) in MEDIA {
                let alpha = add(medium, "Alpha", out.alpha_genre[medium], word);
                out.alpha.entry(medium).or_default().push(alpha);
                let beta = add(medium, "Beta", out.beta_genre[medium], word);
                out.beta.entry(medium).or_default().push(beta);
            }
        }
    }
    out
}

pub fn consume(app: &TestApp, user: &User, medium: &str, id: i64, rating: i64) {
    let reply = app.request(
        "PATCH",
        &format!("/api/{medium}/{id}/meta"),
        Some(&user.token),
        Some(&json!({"rating": rating, "additional_count": 1})),
    );
    assert_eq!(reply.status.code, 201, "{}", reply.text);
}

/// Four alpha fans, four beta fans (everything of their side, in every medium), and the target user,
/// who consumed alpha 0 and 1 everywhere.
pub fn community(app: &TestApp, cat: &Catalogue) -> (User, Vec<User>) {
    let mut fans = Vec::new();
    for i in 0..8 {
        let fan = app.register(&format!("fan{i}@example.com"), &format!("fan{i}"));
        for (medium, _) in MEDIA {
            let side = if i < 4 { &cat.alpha } else { &cat.beta };
            for id in &side[medium] {
                consume(app, &fan, medium, *id, 5);
            }
        }
        fans.push(fan);
    }
    let target = app.register("target@example.com", "target");
    for (medium, _) in MEDIA {
        for id in &cat.alpha[medium][..2] {
            consume(app, &target, medium, *id, 5);
        }
    }
    (target, fans)
}

/// What `/api/{m}/user` lists, in order: (content id, engine).
pub fn listed(app: &TestApp, user: &User, medium: &str) -> Vec<(i64, String)> {
    let reply = app.get(&format!("/api/{medium}/user"), &user.token);
    assert_eq!(reply.status.code, 200, "{}", reply.text);
    reply.json()["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["content_id"].as_i64().unwrap(),
                c["reco_engine"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub fn run_everything(app: &TestApp) {
    let mut conn = app.db();
    engine::run_all(&mut conn, false).unwrap();
}

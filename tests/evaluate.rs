//! `recofinement evaluate` (issues 6 and 16): on a generated file with planted tastes our engines
//! rank above the baselines, every row has the same keys, `--engine` picks engines, and a seeded
//! database's medium evaluates as a table.

use std::collections::{BTreeMap, BTreeSet};

fn binary(args: &[&str], db: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_recofinement"))
        .arg("--database")
        .arg(db)
        .args(["--bcrypt-cost", "4"])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// A MovieLens-shaped file with planted tastes: each user lives in one of 8 clusters of 40 items and
/// mostly consumes there, plus a few globally popular items.
fn planted_ratings(path: &std::path::Path) {
    let mut state = 7u64;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut lines = vec!["user_id:token\titem_id:token\trating:float\ttimestamp:float".to_owned()];
    for user in 0..240u64 {
        let cluster = user % 8;
        let mut seen = BTreeSet::new();
        for t in 0..30u64 {
            let item = if next(10) < 8 {
                cluster * 40 + next(40)
            } else {
                320 + next(10)
            };
            if seen.insert(item) {
                lines.push(format!(
                    "{user}\t{item}\t{}\t{}",
                    3 + next(3),
                    1_000_000 + user * 100 + t
                ));
            }
        }
    }
    std::fs::write(path, lines.join("\n")).unwrap();
}

#[test]
fn evaluate_scores_the_engines_against_the_baselines() {
    let dir = tempfile::tempdir().unwrap();
    let ratings = dir.path().join("ratings.tsv");
    planted_ratings(&ratings);
    let db = dir.path().join("unused.db");
    let out = binary(&["evaluate", ratings.to_str().unwrap(), "--json"], &db);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let by_engine: BTreeMap<String, &serde_json::Value> = rows
        .iter()
        .map(|r| (r["engine"].as_str().unwrap().to_owned(), r))
        .collect();
    assert_eq!(
        by_engine.keys().cloned().collect::<Vec<_>>(),
        [
            "CollaborativeFiltering",
            "ItemCosine",
            "NeighbourhoodEASE",
            "ease",
            "most-popular",
            "most-popular-count",
            "reference-als"
        ]
    );
    for row in &rows {
        let keys: BTreeSet<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "coverage",
                "engine",
                "head_share",
                "ndcg@10",
                "precision@10",
                "recall@10",
                "seconds"
            ]
            .into_iter()
            .collect()
        );
        for key in [
            "precision@10",
            "recall@10",
            "ndcg@10",
            "coverage",
            "head_share",
        ] {
            assert!((0.0..=1.0).contains(&row[key].as_f64().unwrap()), "{row}");
        }
    }
    let ndcg = |engine: &str| by_engine[engine]["ndcg@10"].as_f64().unwrap();
    assert!(
        ndcg("CollaborativeFiltering") >= 1.3 * ndcg("most-popular"),
        "{rows:?}"
    );
    assert!(
        ndcg("CollaborativeFiltering") >= ndcg("reference-als"),
        "{rows:?}"
    );
    // Plain popularity is the stronger baseline; planted tastes are still found above it.
    assert!(
        ndcg("CollaborativeFiltering") > ndcg("most-popular-count"),
        "{rows:?}"
    );
    assert!(
        ndcg("most-popular-count") >= ndcg("most-popular"),
        "{rows:?}"
    );
    assert!(
        ndcg("NeighbourhoodEASE") > ndcg("most-popular-count"),
        "{rows:?}"
    );
    // What the server ships is one of the two models, chosen on the training part alone and then
    // trained on all of it: its row is exactly one of theirs.
    let same = |a: &str, b: &str| {
        [
            "precision@10",
            "recall@10",
            "ndcg@10",
            "coverage",
            "head_share",
        ]
        .iter()
        .all(|key| by_engine[a][*key] == by_engine[b][*key])
    };
    assert!(
        same("CollaborativeFiltering", "ItemCosine")
            || same("CollaborativeFiltering", "NeighbourhoodEASE"),
        "{rows:?}"
    );

    // --engine runs only the engines named.
    let out = binary(
        &[
            "evaluate",
            ratings.to_str().unwrap(),
            "--json",
            "--engine",
            "NeighbourhoodEASE",
            "--engine",
            "most-popular-count",
        ],
        &db,
    );
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let engines: Vec<&str> = rows.iter().map(|r| r["engine"].as_str().unwrap()).collect();
    assert_eq!(engines, ["NeighbourhoodEASE", "most-popular-count"]);
    assert!(
        !binary(
            &["evaluate", ratings.to_str().unwrap(), "--engine", "nope"],
            &db
        )
        .status
        .success()
    );

    // A seeded database, one medium, as a table.
    assert!(
        binary(
            &[
                "seed",
                "--contents",
                "400",
                "--users",
                "40",
                "--interactions",
                "2000"
            ],
            &db
        )
        .status
        .success()
    );
    assert!(binary(&["recommend"], &db).status.success());
    let out = binary(&["evaluate", "--medium", "book"], &db);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    for engine in [
        "CollaborativeFiltering",
        "FromSimilarContent",
        "FromProfile",
        "most-popular",
        "reference-als",
    ] {
        assert!(table.contains(engine), "{table}");
    }
    let out = binary(&["evaluate", "--medium", "vinyl"], &db);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown medium"));
}

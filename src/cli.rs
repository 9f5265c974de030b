//! The command line: `recofinement [serve]`, `recofinement migrate`.

use crate::api;
use crate::config::Settings;
use crate::db;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "recofinement",
    version,
    about = "RecoFinement server: a self-hosted, single-binary media-recommendation backend.",
    long_about = "RecoFinement server: a self-hosted, single-binary media-recommendation backend.\n\n\
        Everything lives in one SQLite file (--database). With no subcommand it serves the HTTP API.\n\
        Server address and port come from Rocket.toml and ROCKET_* variables (default 127.0.0.1:4040);\n\
        the JWT secret from SECRET_KEY, or a generated file next to the database."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default). Migrates the database first.
    #[command(long_about = "Serve the HTTP API (what runs with no subcommand).\n\n\
        Creates and migrates the database if needed, then listens on ROCKET_ADDRESS:ROCKET_PORT \
        (default 127.0.0.1:4040). Swagger UI at /api/, the OpenAPI document at /api/swagger.json.")]
    Serve,
    /// Create or upgrade the database schema, then exit.
    #[command(long_about = "Create or upgrade the database schema, then exit.\n\n\
        Applies the migrations embedded in this binary that the database does not have yet, prints \
        each one applied, and checks foreign keys afterwards. Safe to run again: it does nothing when \
        the schema is current.")]
    Migrate,
    /// Fill the database with a realistic catalogue, users and activity (deterministic).
    #[command(
        long_about = "Fill the database with a realistic catalogue, users and their activity.\n\n\
        Movies are the real CC0 Wikidata catalogue embedded in this binary (17,472 films); applications, \
        books, games, series (with episodes) and tracks are generated with every field filled. Users have \
        tastes, and their interactions (views, ratings, plays) follow them, with long-tailed popularity. \
        The same --seed gives the same data. Every content and interaction is written through the same \
        event path as the API, in one transaction: the seed lands whole or not at all.\n\n\
        Every seeded account logs in with the password Demo1234! (admin@example.com is an admin; the others \
        are user1@example.com, user2@example.com, ...). A database that already has contents or users is \
        refused unless --append is given."
    )]
    Seed(SeedArgs),
    /// Write the event log to stdout or a file, as JSON Lines or CSV.
    #[command(
        name = "export-events",
        long_about = "Write the event log to stdout or a file, in id order.\n\n\
        One object (JSON Lines) or row (CSV) per event, with its kind (the event table), its id and every \
        column. Ids are one sequence across all kinds, so --since N resumes exactly after event N. Memory \
        stays constant whatever the log's size, and the export is one consistent snapshot: it is safe \
        while the server runs."
    )]
    ExportEvents(ExportArgs),
    /// Administer accounts: create, list, grant or revoke roles, set passwords, delete.
    #[command(subcommand)]
    User(UserCommand),
    /// Copy the live database to a file, consistently, while the server keeps serving.
    #[command(
        long_about = "Copy the live database to a file, consistently, while the server keeps serving.\n\n\
        Uses SQLite's online backup: writers are paused only for short steps, and a write during the copy \
        restarts it, so the file is one consistent snapshot. The copy passes PRAGMA integrity_check before \
        it takes the output's name; a failed backup leaves nothing behind. The output must not exist."
    )]
    Backup(BackupArgs),
    /// Check that a database file is whole: integrity, foreign keys, the event log, interactions.
    #[command(
        long_about = "Check that a database file is whole — run it after a restore (Litestream, a backup, a \
        copied disk) before serving from it.\n\n\
        Checks, read-only: SQLite's integrity_check; foreign_key_check; that the event log's ids are exactly \
        1..=the event sequence's counter, each once; and that every interaction row (meta_user_content) equals \
        the replay of its events. Rows written by other tools without events are counted, not failed. Exits \
        with status 1 and lists the problems when a check fails."
    )]
    Verify {
        /// The database file to check (default: --database).
        file: Option<std::path::PathBuf>,
    },
    /// Run the recommendation engine's stages on the events since their last run (or all, with --full).
    #[command(long_about = "Run the recommendation engine's stages now.\n\n\
        Each stage consumes the events since its watermark and commits its outputs with the new watermark \
        in one transaction; a stage with no relevant new events does nothing. --full recomputes from \
        scratch. The server runs the same stages in the background a few seconds after new events.")]
    Recommend {
        /// Recompute everything, ignoring the watermarks.
        #[arg(long)]
        full: bool,
    },
    /// Measure the recommendation engines offline: precision, recall and NDCG at 10, coverage, time.
    #[command(long_about = "Measure the recommendation engines offline.\n\n\
        Reads a ratings file (`user item rating timestamp` per line, tab- or space-separated: MovieLens \
        100K's u.data, or RecBole's ml-100k.inter) or, without one, one medium of the database. Each user's \
        latest interactions (--test-fraction) are hidden, the engines learn from the rest and recommend 10 \
        contents per user, and are scored on the hidden ones: precision@10, recall@10, NDCG@10, catalogue \
        coverage, share of the 10 % most popular items, seconds. Engines: CollaborativeFiltering (the server's), \
        NeighbourhoodEASE (EASE restricted to each item's cosine candidates), FromSimilarContent and FromProfile \
        (with a database). Baselines: most-popular (the reference's IMDB weighted rating), most-popular-count, \
        ease (dense EASE, up to 20,000 items) and reference-als (the reference's rank-10 explicit ALS). \
        Prints a table, or a JSON array with --json.")]
    Evaluate(EvaluateArgs),
}

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// A ratings file; without it, the database's interactions of --medium are evaluated.
    pub ratings: Option<std::path::PathBuf>,
    /// The medium to evaluate from the database (application, book, game, movie, serie, track).
    #[arg(long, default_value = "movie")]
    pub medium: String,
    /// Share of each user's latest interactions hidden for testing.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Print a JSON array of {engine, precision@10, recall@10, ndcg@10, coverage, head_share, seconds}.
    #[arg(long)]
    pub json: bool,
    /// Score on a validation split instead: the same cut applied to the training part (choose
    /// hyper-parameters here, then report once on the test part).
    #[arg(long)]
    pub validation: bool,
    /// λ of the `ease` baseline (its L2 regularisation; skipped above 20,000 items).
    #[arg(long, default_value_t = crate::engine::ease::DEFAULT_LAMBDA)]
    pub ease_lambda: f64,
    /// Only this engine (repeatable; default: every engine the dataset supports).
    #[arg(long = "engine", value_parser = clap::builder::PossibleValuesParser::new(crate::engine::evaluate::ENGINES))]
    pub engines: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Write to this file instead of stdout (created; an existing file is replaced).
    #[arg(long, short)]
    pub output: Option<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: crate::ops::export::Format,
    /// Only events after this id (resume after the last one you have).
    #[arg(long)]
    pub since: Option<i64>,
    /// Only events up to and including this id.
    #[arg(long)]
    pub until: Option<i64>,
    /// Only these kinds (event table names, e.g. meta_added_event); repeat for several.
    #[arg(long = "kind")]
    pub kinds: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from a prompt, or from the first line of stdin when it
    /// is not a terminal — never from the command line.
    Create {
        /// E-mail address (the login).
        #[arg(long)]
        email: String,
        /// Display name (4..15 letters, digits, _ and inner dots).
        #[arg(long)]
        username: String,
        /// Also give the admin role (access_sandbox, modify/validate/delete content).
        #[arg(long)]
        admin: bool,
    },
    /// List accounts with their roles.
    List,
    /// Give a role (user, admin) to an account, by e-mail or uuid. Takes effect at once, on existing sessions too.
    Grant { who: String, role: String },
    /// Take a role away from an account, by e-mail or uuid. Takes effect at once, on existing sessions too.
    Revoke { who: String, role: String },
    /// Set an account's password (prompt or stdin, as for create).
    SetPassword { who: String },
    /// Delete an account and everything that belongs to it.
    Delete { who: String },
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist).
    #[arg(long, short)]
    pub output: std::path::PathBuf,
    /// Also run `verify` on the copy (event log and interactions, beyond the integrity check).
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// Random seed: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Preset size: small (≈5k contents, seconds), medium (≈100k), large (≈1M contents, 10M interactions).
    #[arg(long, value_enum, default_value = "small")]
    pub size: crate::seed::Size,
    /// Number of contents (overrides the size's).
    #[arg(long)]
    pub contents: Option<usize>,
    /// Number of users (overrides the size's).
    #[arg(long)]
    pub users: Option<usize>,
    /// Number of user↔content interactions (overrides the size's).
    #[arg(long)]
    pub interactions: Option<usize>,
    /// Add to a database that already has data.
    #[arg(long)]
    pub append: bool,
}

pub fn run(cli: Cli) -> ExitCode {
    db::set_wal_external(cli.settings.wal_external);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.settings),
        Command::Migrate => migrate(&cli.settings),
        Command::Seed(args) => seed(&cli.settings, &args),
        Command::ExportEvents(args) => export_events(&cli.settings, &args),
        Command::User(command) => user(&cli.settings, command),
        Command::Backup(args) => backup(&cli.settings, &args),
        Command::Verify { file } => verify(file.as_deref().unwrap_or(&cli.settings.database)),
        Command::Recommend { full } => recommend(&cli.settings, full),
        Command::Evaluate(args) => evaluate(&cli.settings, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: &Settings) -> Result<(), String> {
    let app = api::build(settings).map_err(|e| e.to_string())?;
    if settings.wal_external {
        tracing::info!("WAL checkpoints left to an external replicator (--wal-external)");
    } else if db::open_connection(&settings.database)
        .and_then(|conn| Ok(db::replicated_by_litestream(&conn)?))
        .unwrap_or(false)
    {
        tracing::warn!(
            "this database has been replicated by Litestream: while it is, run with \
             --wal-external (RECOFINEMENT_WAL_EXTERNAL=1) so that checkpoints are left to it"
        );
    }
    rocket::execute(app.launch())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn migrate(settings: &Settings) -> Result<(), String> {
    let mut conn = db::open_connection(&settings.database).map_err(|e| e.to_string())?;
    let applied = db::migrate(&mut conn).map_err(|e| e.to_string())?;
    let version = db::schema_version(&conn).map_err(|e| e.to_string())?;
    if applied.is_empty() {
        println!(
            "{}: schema is current (version {version})",
            settings.database.display()
        );
    } else {
        for migration in &applied {
            println!("applied {migration}");
        }
        println!(
            "{}: schema now at version {version}",
            settings.database.display()
        );
    }
    Ok(())
}

fn seed(settings: &Settings, args: &SeedArgs) -> Result<(), String> {
    let mut plan = crate::seed::Plan::sized(args.size, args.seed);
    plan.contents = args.contents.unwrap_or(plan.contents);
    plan.users = args.users.unwrap_or(plan.users);
    plan.interactions = args.interactions.unwrap_or(plan.interactions);
    plan.append = args.append;
    plan.bcrypt_cost = settings.bcrypt_cost;
    plan.show_progress = true;
    let mut conn = db::open_connection(&settings.database).map_err(|e| e.to_string())?;
    db::migrate(&mut conn).map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let report = crate::seed::run(&mut conn, &plan).map_err(|e| e.to_string())?;
    println!(
        "seeded {}: {} contents (+{} episodes), {} users, {} groups, {} interactions, {} events in {:.1} s",
        settings.database.display(),
        report.contents,
        report.episodes,
        report.users,
        report.groups,
        report.interactions,
        report.events,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Opens an existing database for an operator command (never creates one by accident).
fn existing(settings: &Settings) -> Result<rusqlite::Connection, String> {
    if !settings.database.exists() {
        return Err(format!("{} does not exist", settings.database.display()));
    }
    let mut conn = db::open_connection(&settings.database).map_err(|e| e.to_string())?;
    db::migrate(&mut conn).map_err(|e| e.to_string())?;
    Ok(conn)
}

fn export_events(settings: &Settings, args: &ExportArgs) -> Result<(), String> {
    use crate::ops::export::{self, Selection};
    let mut conn = existing(settings)?;
    let selection = Selection {
        since: args.since,
        until: args.until,
        kinds: args.kinds.clone(),
    };
    let started = std::time::Instant::now();
    let spinner = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {human_pos} events ({per_sec})")
    {
        spinner.set_style(style);
    }
    let progress = |n: u64| spinner.set_position(n);
    let written = match &args.output {
        Some(path) => {
            let mut partial = path.as_os_str().to_owned();
            partial.push(".partial");
            let partial = std::path::PathBuf::from(partial);
            let file = std::fs::File::create(&partial)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            match export::export(&mut conn, &selection, args.format, &mut out, &progress) {
                Ok(n) => {
                    drop(out);
                    std::fs::rename(&partial, path)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    n
                }
                Err(e) => {
                    drop(out);
                    let _ = std::fs::remove_file(&partial);
                    return Err(e.to_string());
                }
            }
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            export::export(&mut conn, &selection, args.format, &mut out, &progress)
                .map_err(|e| e.to_string())?
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "exported {written} events in {seconds:.2} s ({:.0} events/s)",
        written as f64 / seconds.max(1e-9)
    );
    Ok(())
}

/// A password from an interactive prompt, or the first line of stdin when it is not a terminal.
fn read_password(prompt: &str) -> Result<String, String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt).map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line.trim_end_matches(['\n', '\r']).to_owned())
    }
}

fn user(settings: &Settings, command: UserCommand) -> Result<(), String> {
    use crate::ops::accounts;
    let mut conn = existing(settings)?;
    let cost = settings.bcrypt_cost;
    match command {
        UserCommand::Create {
            email,
            username,
            admin,
        } => {
            let password = read_password("Password: ")?;
            let user = accounts::create(&mut conn, &email, &username, &password, admin, cost)
                .map_err(|e| e.to_string())?;
            println!(
                "created {} ({}){}",
                email,
                user.uuid,
                if admin { " with the admin role" } else { "" }
            );
        }
        UserCommand::List => {
            println!("{:<36}  {:<32}  {:<15}  roles", "uuid", "email", "username");
            for listed in accounts::list(&conn).map_err(|e| e.to_string())? {
                let user = listed.user;
                println!(
                    "{:<36}  {:<32}  {:<15}  {}",
                    user.uuid,
                    user.email.unwrap_or_default(),
                    user.username,
                    listed.roles.join(",")
                );
            }
        }
        UserCommand::Grant { who, role } => {
            let changed =
                accounts::set_role(&conn, &who, &role, true).map_err(|e| e.to_string())?;
            println!(
                "{}",
                if changed {
                    format!("granted {role} to {who}")
                } else {
                    format!("{who} already has {role}")
                }
            );
        }
        UserCommand::Revoke { who, role } => {
            let changed =
                accounts::set_role(&conn, &who, &role, false).map_err(|e| e.to_string())?;
            println!(
                "{}",
                if changed {
                    format!("revoked {role} from {who}")
                } else {
                    format!("{who} did not have {role}")
                }
            );
        }
        UserCommand::SetPassword { who } => {
            let password = read_password("New password: ")?;
            accounts::set_password(&conn, &who, &password, cost).map_err(|e| e.to_string())?;
            println!("password of {who} changed");
        }
        UserCommand::Delete { who } => {
            let user = accounts::delete(&conn, &who).map_err(|e| e.to_string())?;
            println!("deleted {} ({})", user.email.unwrap_or_default(), user.uuid);
        }
    }
    Ok(())
}

fn backup(settings: &Settings, args: &BackupArgs) -> Result<(), String> {
    let conn = existing(settings)?;
    let bar = indicatif::ProgressBar::new(0);
    let started = std::time::Instant::now();
    let pages = crate::ops::backup::backup(&conn, &args.output, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!(
        "backed up {} to {} ({pages} pages, integrity ok) in {:.1} s",
        settings.database.display(),
        args.output.display(),
        started.elapsed().as_secs_f64()
    );
    if args.verify {
        verify(&args.output)?;
    }
    Ok(())
}

fn verify(file: &std::path::Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    let report = crate::ops::verify::verify_file(file).map_err(|e| e.to_string())?;
    for problem in &report.problems {
        println!("FAILED {problem}");
    }
    let unlogged = match report.unlogged_interactions {
        0 => String::new(),
        n => format!(", {n} written without events by other tools"),
    };
    let summary = format!(
        "{}: {} events, {} interactions{unlogged}; in {:.1} s",
        file.display(),
        report.events,
        report.interactions,
        started.elapsed().as_secs_f64()
    );
    if report.problems.is_empty() {
        println!("verified {summary}: integrity, foreign keys, event sequence and interactions ok");
        Ok(())
    } else {
        Err(format!("{} problem(s) in {summary}", report.problems.len()))
    }
}

fn recommend(settings: &Settings, full: bool) -> Result<(), String> {
    let mut conn = existing(settings)?;
    let started = std::time::Instant::now();
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner.set_message(crate::engine::STAGES[0]);
    let mut timings = Vec::new();
    let outcomes = crate::engine::run_all_reporting(&mut conn, full, |stage, seconds| {
        timings.push((seconds, crate::util::memory::peak_resident_bytes()));
        let next = crate::engine::STAGES
            .iter()
            .skip_while(|s| **s != stage)
            .nth(1);
        spinner.set_message(next.copied().unwrap_or("done"));
    })
    .map_err(|e| e.to_string())?;
    spinner.finish_and_clear();
    for ((stage, outcome), (seconds, peak)) in outcomes.iter().zip(timings) {
        match peak {
            Some(bytes) => println!(
                "{stage}: {outcome:?} in {seconds:.1} s (peak memory so far {} MB)",
                bytes >> 20
            ),
            None => println!("{stage}: {outcome:?} in {seconds:.1} s"),
        }
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn evaluate(settings: &Settings, args: &EvaluateArgs) -> Result<(), String> {
    use crate::engine::evaluate;
    if !(0.0..1.0).contains(&args.test_fraction) || args.test_fraction == 0.0 {
        return Err("--test-fraction must be between 0 and 1 (exclusive)".into());
    }
    let dataset = match &args.ratings {
        Some(path) => evaluate::read_ratings(path).map_err(|e| e.to_string())?,
        None => {
            let medium = crate::media::Medium::by_name(&args.medium)
                .ok_or_else(|| format!("unknown medium {:?}", args.medium))?;
            let conn = existing(settings)?;
            evaluate::read_database(&conn, medium).map_err(|e| e.to_string())?
        }
    };
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let options = evaluate::Options {
        test_fraction: args.test_fraction,
        validation: args.validation,
        ease_lambda: args.ease_lambda,
        engines: args.engines.clone(),
    };
    let scores = evaluate::evaluate(&dataset, &options, |engine| {
        spinner.set_message(format!(
            "{engine} on {} users × {} items ({} interactions)",
            dataset.users,
            dataset.items,
            dataset.events.len()
        ))
    });
    spinner.finish_and_clear();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&scores).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    println!(
        "{} users, {} items, {} interactions; latest {:.0}% of each user's hidden",
        dataset.users,
        dataset.items,
        dataset.events.len(),
        args.test_fraction * 100.0
    );
    println!(
        "{:<24} {:>12} {:>10} {:>8} {:>9} {:>10} {:>8}",
        "engine", "precision@10", "recall@10", "ndcg@10", "coverage", "head_share", "seconds"
    );
    for s in &scores {
        println!(
            "{:<24} {:>12.4} {:>10.4} {:>8.4} {:>9.4} {:>10.4} {:>8.2}",
            s.engine, s.precision, s.recall, s.ndcg, s.coverage, s.head_share, s.seconds
        );
    }
    Ok(())
}

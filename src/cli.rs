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
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.settings),
        Command::Migrate => migrate(&cli.settings),
        Command::Seed(args) => seed(&cli.settings, &args),
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

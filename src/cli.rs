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
}

pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.settings),
        Command::Migrate => migrate(&cli.settings),
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

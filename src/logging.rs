//! Logging: to stderr (commands that write data to stdout stay clean), filtered by `RUST_LOG`, with
//! two rules no filter can lift:
//! * Rocket's notes that a route's guard forwarded (one warning for every request that tries a route
//!   before the one that serves it, or none) are debug notes, shown only at debug level;
//! * Rocket's notes on each request (`rocket::server`: request lines, route matches and misses, and
//!   at debug whole requests) are never written: URLs can carry a reset token (the mail's link
//!   `/app/reset/<token>`), requests carry the `Authorization` header, and no bearer token may reach a
//!   log line. (An access log belongs to a reverse proxy, which can drop what it must.)

use std::io::IsTerminal;
use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::prelude::*;

pub const DEFAULT_FILTER: &str = "info,rocket=warn,rocket::server=off";

/// Whether the filter lets anything through at debug level.
static DEBUG_ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| DEFAULT_FILTER.into());
    let _ = DEBUG_ON.set(
        filter
            .max_level_hint()
            .is_none_or(|most| most >= LevelFilter::DEBUG),
    );
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter).with_filter(filter_fn(allowed)))
        .init();
}

fn allowed(meta: &tracing::Metadata<'_>) -> bool {
    let target = meta.target();
    if target.starts_with("rocket::server") {
        return false;
    }
    // Rocket's generated route handlers log from a module named `_`.
    if target.ends_with("::_") && *meta.level() > Level::ERROR {
        return DEBUG_ON.get().copied().unwrap_or(false);
    }
    true
}

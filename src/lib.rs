//! RecoFinement server. Layers, each depending only on those below it:
//! `cli` → `api` → `auth`, `mail`, `external` → `db` → `rules`, `error`, `config`, `util`.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod engine;
pub mod error;
pub mod events;
pub mod external;
pub mod logging;
pub mod mail;
pub mod media;
pub mod ops;
pub mod realtime;
pub mod rules;
pub mod seed;
pub mod util;

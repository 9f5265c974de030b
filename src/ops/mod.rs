//! Operator commands behind the CLI: event export, account administration, online backup.
//! Each works on a database file directly and never needs the server (which may keep running).

pub mod accounts;
pub mod backup;
pub mod export;

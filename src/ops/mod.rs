//! Operator commands behind the CLI: event export, account administration, online backup, verifying
//! a restored file.
//! Each works on a database file directly and never needs the server (which may keep running).

pub mod accounts;
pub mod backup;
pub mod export;
pub mod verify;

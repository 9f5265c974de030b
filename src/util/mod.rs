//! Small leaf helpers with no knowledge of the application: time text forms, a fast hasher for ids,
//! the process's peak memory, background threads' priority, and Python-compatible JSON/repr rendering (the reference API is a
//! Python service and its exact texts are part of the wire format).

pub mod idhash;
pub mod memory;
pub mod priority;
pub mod pyjson;
pub mod time;

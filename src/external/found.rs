//! What the provider modules find: contents with the keys that recognise them in the catalogue,
//! and what the user did with them there; and how a run ends early. `import` writes these.

use super::http::CallError;
use crate::media::Medium;
use serde_json::Value;

/// One content found at a provider and what the user did with it there.
#[derive(Debug, Clone)]
pub struct Item {
    pub medium: &'static Medium,
    /// Ways to recognise the content in the catalogue, tried in order.
    pub keys: Vec<Key>,
    /// Its columns when it has to be added (names of `medium`'s table).
    pub columns: Vec<(&'static str, Value)>,
    /// Genre names, linked when the medium has a genre of that name.
    pub genres: Vec<String>,
    pub wanted: Wanted,
}

/// Columns that together identify a content (each must be a column of the item's table).
#[derive(Debug, Clone, PartialEq)]
pub struct Key(pub Vec<(&'static str, Value)>);

impl Key {
    pub fn of(columns: &[(&'static str, Value)]) -> Key {
        Key(columns.to_vec())
    }
    pub fn is_usable(&self) -> bool {
        !self.0.is_empty() && self.0.iter().all(|(_, v)| !v.is_null())
    }
}

/// What the user's interaction with a content should at least show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wanted {
    pub rating: Option<i64>,
    pub viewed: bool,
    pub consumed: bool,
    /// Times of plays (database text form); those after the last counted one are added.
    pub plays: Vec<String>,
}

impl Wanted {
    pub fn merge(&mut self, other: Wanted) {
        self.rating = other.rating.or(self.rating);
        self.viewed |= other.viewed;
        self.consumed |= other.consumed;
        self.plays.extend(other.plays);
    }
}

/// How a run ended early.
#[derive(Debug)]
pub enum End {
    /// The provider refused the user's grant: the link is deleted (5.7).
    Revoked,
    Failed(String),
}

impl End {
    pub fn failed(error: impl std::fmt::Display) -> End {
        End::Failed(error.to_string())
    }
}

impl From<CallError> for End {
    fn from(error: CallError) -> Self {
        End::failed(error)
    }
}

impl From<super::LinkError> for End {
    fn from(error: super::LinkError) -> Self {
        End::failed(error)
    }
}

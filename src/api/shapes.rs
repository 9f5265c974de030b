//! The reference's serialized user shapes (api-reference.md 2.0).

use crate::db::genres::Genre;
use crate::db::groups::GroupBase;
use crate::db::users::{self, BadRecommendation, ExportedMeta, LinkedService, User};
use serde::Serialize;
use utoipa::ToSchema;

/// UserBase. `role` is always `{}` in the reference (roles are never exposed), and clients read it so.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBase {
    pub uuid: String,
    pub email: Option<String>,
    pub username: String,
    pub preferences_defined: bool,
    #[schema(value_type = Object)]
    pub role: serde_json::Map<String, serde_json::Value>,
}

impl From<&User> for UserBase {
    fn from(user: &User) -> Self {
        UserBase {
            uuid: user.uuid.clone(),
            email: user.email.clone(),
            username: user.username.clone(),
            preferences_defined: user.preferences_defined,
            role: serde_json::Map::new(),
        }
    }
}

/// UserObject: the groups the user is a member of, its pending invitations and the groups it owns.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserObject {
    pub uuid: String,
    pub email: Option<String>,
    pub username: String,
    pub preferences_defined: bool,
    pub groups: Vec<GroupBase>,
    pub invitations: Vec<GroupBase>,
    pub owned_groups: Vec<GroupBase>,
}

impl UserObject {
    pub fn load(conn: &rusqlite::Connection, user: &User) -> rusqlite::Result<UserObject> {
        let m = users::memberships(conn, user.user_id)?;
        Ok(UserObject {
            uuid: user.uuid.clone(),
            email: user.email.clone(),
            username: user.username.clone(),
            preferences_defined: user.preferences_defined,
            groups: m.groups,
            invitations: m.invitations,
            owned_groups: m.owned_groups,
        })
    }
}

/// UserExport: UserObject plus liked genres and linked services, and (decisions F9) the user's metas
/// and bad-recommendation reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserExport {
    #[serde(flatten)]
    pub user: UserObject,
    pub liked_genres: Vec<Genre>,
    pub linked_services: Vec<LinkedService>,
    pub meta_user_content: Vec<ExportedMeta>,
    pub bad_recommendations: Vec<BadRecommendation>,
}

impl UserExport {
    pub fn load(conn: &rusqlite::Connection, user: &User) -> rusqlite::Result<UserExport> {
        Ok(UserExport {
            user: UserObject::load(conn, user)?,
            liked_genres: users::liked_genres(conn, user.user_id)?,
            linked_services: users::linked_services(conn, user.user_id)?,
            meta_user_content: users::metas(conn, user.user_id)?,
            bad_recommendations: users::bad_recommendations(conn, user.user_id)?,
        })
    }
}

//! The reference's serialized user shapes (api-reference.md 2.0).

use crate::db::genres::Genre;
use crate::db::groups;
use crate::db::groups::GroupBase;
use crate::db::links::{self, LinkedService};
use crate::db::users::{self, BadRecommendation, ExportedMeta, User};
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

/// A user's e-mail address as `viewer` (a user uuid) may see it: its own only (decisions F23).
fn email_for(user: &User, viewer: &str) -> Option<String> {
    user.email.clone().filter(|_| user.uuid == viewer)
}

impl UserBase {
    /// The shape of `user` as the user `viewer` (a uuid) sees it.
    pub fn seen_by(user: &User, viewer: &str) -> Self {
        UserBase {
            uuid: user.uuid.clone(),
            email: email_for(user, viewer),
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
    /// `user` as the user `viewer` (a uuid) sees it.
    pub fn load(
        conn: &rusqlite::Connection,
        user: &User,
        viewer: &str,
    ) -> rusqlite::Result<UserObject> {
        let m = groups::memberships(conn, user.user_id)?;
        Ok(UserObject {
            uuid: user.uuid.clone(),
            email: email_for(user, viewer),
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
            user: UserObject::load(conn, user, &user.uuid)?,
            liked_genres: users::liked_genres(conn, user.user_id)?,
            linked_services: links::linked_services(conn, user.user_id)?,
            meta_user_content: users::metas(conn, user.user_id)?,
            bad_recommendations: users::bad_recommendations(conn, user.user_id)?,
        })
    }
}

/// GroupObject: the owner is not listed among the members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GroupObject {
    pub group_id: i64,
    pub name: String,
    pub owner: Option<UserBase>,
    pub members: Vec<UserBase>,
    pub invitations: Vec<UserBase>,
}

/// A group as the user `viewer` (a uuid) sees it: others' e-mail addresses hidden (decisions F23).
pub fn group_object(
    conn: &rusqlite::Connection,
    group: &crate::db::groups::Group,
    viewer: &str,
) -> crate::error::ApiResult<serde_json::Value> {
    let seen = |user: &users::User| UserBase::seen_by(user, viewer);
    let owner = group
        .owner_id
        .map(|id| users::find_by_id(conn, id))
        .transpose()?
        .flatten();
    let object = GroupObject {
        group_id: group.group_id,
        name: group.name.clone(),
        owner: owner.as_ref().map(seen),
        members: crate::db::groups::members(conn, group.group_id)?
            .iter()
            .map(seen)
            .collect(),
        invitations: crate::db::groups::invited(conn, group.group_id)?
            .iter()
            .map(seen)
            .collect(),
    };
    Ok(super::reply::to_value(&object))
}

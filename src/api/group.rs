//! `/api/group`: groups and invitations (api-reference.md 2.4, 5.5; decisions F5).

use super::body::{Body, Field, Rule, Schema, Ty, text, unknown_fields};
use super::params::IntId;
use super::reply::Reply;
use super::schemas;
use super::shapes::group_object;
use super::{AppState, caller_in};
use crate::auth::Bearer;
use crate::db::groups::{self, Group};
use crate::db::{self, users};
use crate::error::{ApiError, ApiResult};
use crate::rules;
use rocket::http::{ContentType, Status};
use rocket::{Route, State, delete, get, post, put, routes};

pub fn routes() -> Vec<Route> {
    routes![
        create_group,
        get_group,
        leave_group,
        invite,
        accept_invitation,
        delete_invitation
    ]
}

const GROUP_NOT_FOUND: &str = "Group not found!";
const MEMBER_NOT_FOUND: &str = "Member not found!";

fn existing(conn: &rusqlite::Connection, group_id: i64) -> ApiResult<Group> {
    groups::find(conn, group_id)?.ok_or_else(|| ApiError::not_found(GROUP_NOT_FOUND))
}

pub static CREATE: Schema =
    Schema(&[Field::required("name", Ty::String).checked(Rule::Text(&rules::GROUP_NAME))]);

/// Create a group owned by the caller.
#[utoipa::path(post, path = "/api/group", tag = "group", security(("bearer" = [])), request_body = schemas::GroupBody,
    responses((status = 201, description = "\"Group data created\"", body = schemas::GroupReply),
              (status = 400, description = "Validation error (3..45 characters, letters, digits, _ and inner dots)", body = schemas::ValidationErrors),
              (status = 404, description = "\"User not found!\"", body = schemas::MessageReply)))]
#[post("/", data = "<body>")]
async fn create_group(state: &State<AppState>, bearer: Bearer, body: Body) -> ApiResult<Reply> {
    let input = body.validate(&CREATE)?;
    let token = state.auth.verify(&bearer).await?;
    let name = text(&input, "name").unwrap_or_default().to_owned();
    let mut errors = Vec::new();
    unknown_fields(&input, &CREATE, &mut errors);
    rules::check_group_name(&name, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let group = state
        .db
        .write(move |conn| {
            let me = caller_in(conn, &token)?;
            let group_id = groups::create(conn, &name, me.user_id)?;
            group_object(conn, &existing(conn, group_id)?, &me.uuid)
        })
        .await?;
    // A group's lists follow its people (queued by the triggers of V13).
    state.engine_signal.wake();
    Ok(Reply::with(
        Status::Created,
        "Group data created",
        &[("group", group)],
    ))
}

/// Any group's data (the reference lets any valid token read any group).
#[utoipa::path(get, path = "/api/group/{group_id}", tag = "group", security(("bearer" = [])), params(("group_id" = i64, Path)),
    responses((status = 200, description = "\"Group data sent\"", body = schemas::GroupReply),
              (status = 404, description = "\"Group not found!\"", body = schemas::MessageReply)))]
#[get("/<group_id>")]
async fn get_group(state: &State<AppState>, bearer: Bearer, group_id: IntId) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let group = state
        .db
        .run(move |conn| group_object(conn, &existing(conn, group_id.0)?, &token.identity))
        .await?;
    Ok(Reply::with(
        Status::Ok,
        "Group data sent",
        &[("group", group)],
    ))
}

/// Leave a group; the owner's leave deletes it (members, invitations, recommendations).
#[utoipa::path(delete, path = "/api/group/{group_id}", tag = "group", security(("bearer" = [])), params(("group_id" = i64, Path)),
    responses((status = 204, description = "Left (or deleted) — empty body"),
              (status = 404, description = "\"Group not found!\", \"User not found!\" or \"Member not found!\"", body = schemas::MessageReply)))]
#[delete("/<group_id>")]
async fn leave_group(state: &State<AppState>, bearer: Bearer, group_id: IntId) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    state
        .db
        .write(move |conn| {
            let group = existing(conn, group_id.0)?;
            let me = caller_in(conn, &token)?;
            let tx = db::write_transaction(conn)?;
            if group.owner_id == Some(me.user_id) {
                groups::delete(&tx, group.group_id)?;
            } else if groups::is_member(&tx, group.group_id, me.user_id)? {
                groups::leave(&tx, group.group_id, me.user_id)?;
            } else {
                // decisions F5 (the reference answered 500).
                return Err(ApiError::not_found(MEMBER_NOT_FOUND));
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    state.engine_signal.wake();
    Ok(Reply::empty(Status::NoContent, ContentType::JSON))
}

pub static INVITE: Schema =
    Schema(&[Field::required("uuid", Ty::String).checked(Rule::Text(&rules::UUID))]);

/// Invite a user (by uuid) to a group the caller owns.
#[utoipa::path(post, path = "/api/group/{group_id}/invitations", tag = "group", security(("bearer" = [])),
    params(("group_id" = i64, Path)), request_body = schemas::InviteBody,
    responses((status = 200, description = "\"User invited to group\"", body = schemas::GroupReply),
              (status = 400, description = "\"Not a valid UUID.\", \"Invitation already sended !\", \"User is already a member of this group !\", \"You can not invite yourself to your group !\"", body = schemas::MessageReply),
              (status = 403, description = "\"Unable to invite member to a not owned group\"", body = schemas::MessageReply),
              (status = 404, description = "\"Group not found!\" or \"Member not found!\"", body = schemas::MessageReply)))]
#[post("/<group_id>/invitations", data = "<body>")]
async fn invite(
    state: &State<AppState>,
    bearer: Bearer,
    group_id: IntId,
    body: Body,
) -> ApiResult<Reply> {
    let input = body.validate(&INVITE)?;
    let token = state.auth.verify(&bearer).await?;
    let mut errors = Vec::new();
    unknown_fields(&input, &INVITE, &mut errors);
    // marshmallow's UUID field takes every form Python's uuid.UUID parses (hex, braces, urn:uuid:).
    let invitee =
        uuid::Uuid::parse_str(text(&input, "uuid").unwrap_or_default()).map(|u| u.to_string());
    if invitee.is_err() {
        errors.push("Not a valid UUID.".into());
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let invitee = invitee.unwrap_or_default();
    let group = state
        .db
        .write(move |conn| {
            let group = existing(conn, group_id.0)?;
            // The reference compares the token's identity with the owner; it never looks the caller up.
            let owner = users::find_by_uuid(conn, &token.identity)?;
            if owner.is_none() || owner.as_ref().map(|o| o.user_id) != group.owner_id {
                return Err(ApiError::forbidden(
                    "Unable to invite member to a not owned group",
                ));
            }
            let invited = users::find_by_uuid(conn, &invitee)?
                .ok_or_else(|| ApiError::not_found(MEMBER_NOT_FOUND))?;
            let tx = db::write_transaction(conn)?;
            if groups::is_invited(&tx, group.group_id, invited.user_id)? {
                return Err(ApiError::bad_request("Invitation already sended !"));
            }
            if groups::is_member(&tx, group.group_id, invited.user_id)? {
                return Err(ApiError::bad_request(
                    "User is already a member of this group !",
                ));
            }
            if group.owner_id == Some(invited.user_id) {
                return Err(ApiError::bad_request(
                    "You can not invite yourself to your group !",
                ));
            }
            groups::invite(&tx, group.group_id, invited.user_id)?;
            tx.commit()?;
            group_object(conn, &group, &token.identity)
        })
        .await?;
    Ok(Reply::with(
        Status::Ok,
        "User invited to group",
        &[("group", group)],
    ))
}

/// The path user of an invitation route: an unknown or malformed uuid is an unknown member.
fn path_user(conn: &rusqlite::Connection, user_uuid: &str) -> ApiResult<users::User> {
    let uuid = uuid::Uuid::parse_str(user_uuid)
        .map(|u| u.to_string())
        .unwrap_or_default();
    users::find_by_uuid(conn, &uuid)?.ok_or_else(|| ApiError::not_found(MEMBER_NOT_FOUND))
}

/// Accept one's own invitation.
#[utoipa::path(put, path = "/api/group/{group_id}/invitations/{user_uuid}", tag = "group", security(("bearer" = [])),
    params(("group_id" = i64, Path), ("user_uuid" = String, Path)),
    responses((status = 200, description = "\"Member add to group\"", body = schemas::GroupReply),
              (status = 403, description = "\"Unable to accept an invitation that is not intended to you\"", body = schemas::MessageReply),
              (status = 404, description = "\"Group not found!\", \"Member not found!\" or \"Invitation not found !\"", body = schemas::MessageReply)))]
#[put("/<group_id>/invitations/<user_uuid>")]
async fn accept_invitation(
    state: &State<AppState>,
    bearer: Bearer,
    group_id: IntId,
    user_uuid: String,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    let group = state
        .db
        .write(move |conn| {
            let group = existing(conn, group_id.0)?;
            let invitee = path_user(conn, &user_uuid)?;
            let me = users::find_by_uuid(conn, &token.identity)?
                .ok_or_else(|| ApiError::not_found(MEMBER_NOT_FOUND))?;
            if me.user_id != invitee.user_id {
                return Err(ApiError::forbidden(
                    "Unable to accept an invitation that is not intended to you",
                ));
            }
            let tx = db::write_transaction(conn)?;
            if !groups::is_invited(&tx, group.group_id, me.user_id)? {
                return Err(ApiError::not_found("Invitation not found !"));
            }
            groups::accept(&tx, group.group_id, me.user_id)?;
            tx.commit()?;
            group_object(conn, &group, &token.identity)
        })
        .await?;
    state.engine_signal.wake();
    Ok(Reply::with(
        Status::Ok,
        "Member add to group",
        &[("group", group)],
    ))
}

/// Decline one's invitation, or (owner) revoke one.
#[utoipa::path(delete, path = "/api/group/{group_id}/invitations/{user_uuid}", tag = "group", security(("bearer" = [])),
    params(("group_id" = i64, Path), ("user_uuid" = String, Path)),
    responses((status = 204, description = "Removed — empty body"),
              (status = 403, description = "\"Unable to delete an invitation that is not intended to you if you are not the group owner\"", body = schemas::MessageReply),
              (status = 404, description = "\"Group not found!\", \"Member not found!\" or \"Invitation not found !\"", body = schemas::MessageReply)))]
#[delete("/<group_id>/invitations/<user_uuid>")]
async fn delete_invitation(
    state: &State<AppState>,
    bearer: Bearer,
    group_id: IntId,
    user_uuid: String,
) -> ApiResult<Reply> {
    let token = state.auth.verify(&bearer).await?;
    state
        .db
        .write(move |conn| {
            let group = existing(conn, group_id.0)?;
            let invitee = path_user(conn, &user_uuid)?;
            let me = users::find_by_uuid(conn, &token.identity)?.ok_or_else(|| ApiError::not_found(MEMBER_NOT_FOUND))?;
            if me.user_id != invitee.user_id && group.owner_id != Some(me.user_id) {
                return Err(ApiError::forbidden(
                    "Unable to delete an invitation that is not intended to you if you are not the group owner",
                ));
            }
            let tx = db::write_transaction(conn)?;
            if !groups::is_invited(&tx, group.group_id, invitee.user_id)? {
                return Err(ApiError::not_found("Invitation not found !"));
            }
            groups::uninvite(&tx, group.group_id, invitee.user_id)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(Reply::empty(Status::NoContent, ContentType::JSON))
}

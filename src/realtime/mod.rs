//! Socket.IO namespace `/recommend` (api-reference.md 2.12; decisions F12, F18): the sandbox's
//! recommendation launcher, served on the API's own port by socketioxide (Engine.IO v4, Socket.IO
//! protocol v5) behind a few Rocket routes (`transport`).
//!
//! Every client event re-checks the handshake's `token` header, in the reference's order and with its
//! texts; revoked tokens are refused too (F12). A refusal at connect is a CONNECT_ERROR carrying
//! `{"message": <text>}`; on a later event nothing is emitted.

mod transport;

use crate::auth::Auth;
use crate::auth::jwt::AccessToken;
use crate::db::{Db, profiles, users};
use crate::error::ApiError;
use rocket::tokio::sync::watch;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use std::sync::Arc;
use std::time::Duration;

pub use transport::{Engine, routes};

pub const NAMESPACE: &str = "/recommend";
/// Every answer of the server goes out under this event name.
const EVENT: &str = "server_response";
const SANDBOX: &str = "access_sandbox";
/// Largest polling body or websocket message accepted (the reference's events are tiny).
const MAX_PAYLOAD: u64 = 64 * 1024;

/// What the namespace's handlers reach.
#[derive(Clone)]
struct Context {
    db: Db,
    auth: Arc<Auth>,
}

/// Engine.IO's keep-alive: a ping every `interval`, and a client that answers none within `timeout`
/// more is gone.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    pub interval: Duration,
    pub timeout: Duration,
}

/// Builds the Socket.IO server with its `/recommend` namespace.
pub fn start(db: Db, auth: Arc<Auth>, heartbeat: Heartbeat) -> Engine {
    let (service, io) = SocketIo::builder()
        .ping_interval(heartbeat.interval)
        .ping_timeout(heartbeat.timeout)
        .max_payload(MAX_PAYLOAD)
        .ws_max_message_size(MAX_PAYLOAD as usize)
        .with_state(Context { db, auth })
        .build_svc();
    io.ns(NAMESPACE, on_connect.with(admit));
    Engine::new(service, MAX_PAYLOAD)
}

/// Why a client is refused, with the reference's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Token not found !")]
    NoToken,
    #[error("Unauthorized!")]
    Unauthorized,
    #[error("User not found!")]
    UnknownUser,
    #[error("Permission missing!")]
    PermissionMissing,
    /// The database did not answer: not the client's fault, but no identity either.
    #[error("Error 500, Error during the process!")]
    Unavailable,
}

/// The caller behind a socket, checked now from its handshake's `token` header (the raw JWT).
async fn identify(
    socket: &SocketRef,
    ctx: &Context,
) -> Result<(users::User, AccessToken), Refusal> {
    let header = socket
        .req_parts()
        .headers
        .get("token")
        .ok_or(Refusal::NoToken)?;
    let text = header.to_str().map_err(|_| Refusal::Unauthorized)?;
    let token = ctx
        .auth
        .keys
        .decode(text)
        .map_err(|_| Refusal::Unauthorized)?;
    // Revocation, and the caller's permissions as they are now (F12, F21).
    let token = ctx.auth.current(token).await.map_err(|e| match e {
        ApiError::Token { .. } => Refusal::Unauthorized,
        _ => Refusal::Unavailable,
    })?;
    let identity = token.identity.clone();
    let user = ctx
        .db
        .run(move |conn| Ok(users::find_by_uuid(conn, &identity)?))
        .await
        .map_err(|_| Refusal::Unavailable)?
        .ok_or(Refusal::UnknownUser)?;
    if !token.has_permission(SANDBOX) {
        return Err(Refusal::PermissionMissing);
    }
    Ok((user, token))
}

/// Connect middleware: a refusal becomes the CONNECT_ERROR `{"message": <text>}`. An admitted
/// socket gets its event handlers here, before the CONNECT packet goes out: the client emits `join`
/// as soon as it is connected, and an event that arrives before its handler is dropped. The
/// handlers wait for the `connect` answer to be sent, so that it comes first, as in the reference.
async fn admit(socket: SocketRef, State(ctx): State<Context>) -> Result<(), Refusal> {
    identify(&socket, &ctx).await?;
    let (greeted, greeting) = watch::channel(false);
    socket.extensions.insert(Greeted(Arc::new(greeted)));
    on_event(&socket, "join", &greeting, |s, ctx, data| {
        membership(s, ctx, data, true)
    });
    on_event(&socket, "leave", &greeting, |s, ctx, data| {
        membership(s, ctx, data, false)
    });
    on_event(&socket, "recommend", &greeting, on_recommend);
    Ok(())
}

/// Set once the socket's `connect` answer is sent.
#[derive(Clone)]
struct Greeted(Arc<watch::Sender<bool>>);

type Payload = Result<Value, socketioxide::ParserError>;

/// Registers `handle` for `event`, to run once `greeting` says the socket was greeted.
fn on_event<F, Fut>(
    socket: &SocketRef,
    event: &'static str,
    greeting: &watch::Receiver<bool>,
    handle: F,
) where
    F: Fn(SocketRef, Context, Payload) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let greeting = greeting.clone();
    socket.on(
        event,
        move |s: SocketRef, State(ctx): State<Context>, TryData(data): TryData<Value>| {
            let (mut greeting, handle) = (greeting.clone(), handle.clone());
            async move {
                if greeting.wait_for(|greeted| *greeted).await.is_ok() {
                    handle(s, ctx, data).await;
                }
            }
        },
    );
}

/// The caller of an event, or `None` (logged, nothing emitted) as the reference's handlers raise.
async fn caller(socket: &SocketRef, ctx: &Context, event: &str) -> Option<users::User> {
    match identify(socket, ctx).await {
        Ok((user, _)) => Some(user),
        Err(refusal) => {
            tracing::info!(socket = %socket.id, event, "socket event refused: {refusal}");
            None
        }
    }
}

fn room_of(user: &users::User) -> String {
    format!("user{}", user.uuid)
}

async fn on_connect(socket: SocketRef, Extension(greeted): Extension<Greeted>) {
    emit_to(
        &socket,
        json!({"on": "connect", "action": "connect", "message": "Connected"}),
    );
    greeted.0.send_replace(true);
}

/// An event that the reference's handler takes without arguments fails there when given some.
fn without_payload(data: &Payload) -> bool {
    matches!(data, Ok(Value::Null)) || data.is_err()
}

/// `join` or `leave` the caller's room, and tell the room — after a leave, the leaver is no longer in
/// it, so it does not hear its own leave.
async fn membership(socket: SocketRef, ctx: Context, data: Payload, join: bool) {
    let (event, message) = if join {
        ("join", "Room successfully joined")
    } else {
        ("leave", "Room successfully leaved")
    };
    if !without_payload(&data) {
        return;
    }
    let Some(user) = caller(&socket, &ctx, event).await else {
        return;
    };
    let room = room_of(&user);
    if join {
        socket.join(room.clone());
    } else {
        socket.leave(room.clone());
    }
    emit_within(
        &socket,
        &room,
        json!({"on": event, "action": event, "message": message,
               "user_uuid": user.uuid, "room": room}),
    )
    .await;
}

async fn on_recommend(socket: SocketRef, ctx: Context, data: Payload) {
    let Some(user) = caller(&socket, &ctx, "recommend").await else {
        return;
    };
    let Some(given) = data.ok().and_then(|d| d.get("profile_uuid").cloned()) else {
        emit_to(
            &socket,
            json!({"on": "recommend", "message": "Error 400, data must contain 'profile_uuid' attr!"}),
        );
        return;
    };
    let Some(profile_uuid) = given.as_str().and_then(uuid4_as_python_reads_it) else {
        emit_to(
            &socket,
            json!({"on": "recommend", "message": "Error 400, 'profile_uuid' not valid uuid4!"}),
        );
        return;
    };
    let room = room_of(&user);
    socket.join(room.clone());
    emit_within(
        &socket,
        &room,
        json!({"on": "recommend", "action": "join", "message": "Room joined",
               "user_uuid": user.uuid, "room": room}),
    )
    .await;

    let user_id = user.user_id;
    let outcome = ctx
        .db
        .write(move |conn: &mut rusqlite::Connection| {
            let Some(profile) = profiles::owned(conn, &profile_uuid, user_id)? else {
                return Ok(None);
            };
            let launched = crate::engine::launch::launch(conn, profile.profile_id)?;
            Ok(Some((profile.base, launched.computed)))
        })
        .await;
    let (profile, computed) = match outcome {
        Ok(Some(done)) => done,
        // Another user's profile does not exist for the caller (F18).
        Ok(None) => {
            emit_to(
                &socket,
                json!({"on": "recommend", "message": "Error 404, Profile not found!"}),
            );
            return;
        }
        Err(e) => {
            tracing::error!("socket recommend: {e}");
            emit_within(
                &socket,
                &room,
                json!({"on": "recommend", "action": "recommend",
                       "message": "Error 500, Error during the process!"}),
            )
            .await;
            return;
        }
    };
    let message = if computed {
        "200, Recommendation complete for this profile!"
    } else {
        "Error 500, Error during the process!"
    };
    emit_within(
        &socket,
        &room,
        json!({"on": "recommend", "action": "recommend", "message": message,
               "profile": {"uuid": profile.uuid, "profilename": profile.profilename}}),
    )
    .await;
}

fn emit_to(socket: &SocketRef, payload: Value) {
    if let Err(e) = socket.emit(EVENT, &payload) {
        tracing::debug!(socket = %socket.id, "socket emit: {e}");
    }
}

/// To every socket in `room`, the sender included when it is there (python-socketio's `room=`).
async fn emit_within(socket: &SocketRef, room: &str, payload: Value) {
    if let Err(e) = socket.within(room.to_owned()).emit(EVENT, &payload).await {
        tracing::debug!(socket = %socket.id, "socket emit to {room}: {e}");
    }
}

/// What Python's `str(uuid.UUID(text, version=4))` gives: `urn:`/`uuid:` prefixes, braces and
/// hyphens dropped, 32 hex digits, then the variant and version bits forced to RFC 4122 version 4.
fn uuid4_as_python_reads_it(text: &str) -> Option<String> {
    let hex: String = text
        .replace("urn:", "")
        .replace("uuid:", "")
        .trim_matches(|c| c == '{' || c == '}')
        .replace('-', "");
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut value = u128::from_str_radix(&hex, 16).ok()?;
    value &= !(0xc000_u128 << 48);
    value |= 0x8000_u128 << 48;
    value &= !(0xf000_u128 << 64);
    value |= 4_u128 << 76;
    Some(uuid::Uuid::from_u128(value).hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::uuid4_as_python_reads_it as read;

    #[test]
    fn profile_uuids_read_as_python_reads_them() {
        let canonical = "6d43749e-d519-45dc-bdb8-4e9c3f9bcb69";
        for given in [
            canonical,
            "6D43749E-D519-45DC-BDB8-4E9C3F9BCB69",
            "6d43749ed51945dcbdb84e9c3f9bcb69",
            "{6d43749e-d519-45dc-bdb8-4e9c3f9bcb69}",
            "urn:uuid:6d43749e-d519-45dc-bdb8-4e9c3f9bcb69",
        ] {
            assert_eq!(read(given).as_deref(), Some(canonical), "{given}");
        }
        // Version 1 and a foreign variant are forced to version 4, RFC 4122.
        assert_eq!(
            read("6d43749e-d519-15dc-fdb8-4e9c3f9bcb69").as_deref(),
            Some(canonical)
        );
        for bad in [
            "",
            "abc",
            "6d43749e-d519-45dc-bdb8-4e9c3f9bcb6",
            "zz43749ed51945dcbdb84e9c3f9bcb69",
        ] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }
}

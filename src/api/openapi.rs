//! What every operation of the API document has in common, added to what the handlers' annotations
//! say: the answers no handler writes itself (token errors, the two validation shapes, malformed and
//! oversized bodies, a busy or full store, a path that names nothing), the shapes of path parameters,
//! and the request bodies generated from the very models (and `rules`) the handlers validate with.

use super::body::Schema;
use super::{auth, group, media, profile, user};
use serde_json::{Map, Value, json};

/// The request-body components and the body models behind them; `true` where the handler refuses
/// unknown keys.
fn bodies() -> [(&'static str, &'static Schema, bool); 11] {
    [
        ("LoginBody", &auth::LOGIN, true),
        ("RegisterBody", &auth::REGISTER, true),
        ("ForgetBody", &auth::FORGET, true),
        ("ResetBody", &auth::RESET, true),
        ("UserPatchBody", &user::USER_PATCH, true),
        ("GroupBody", &group::CREATE, true),
        ("InviteBody", &group::INVITE, true),
        ("MetaPatchBody", &media::META_PATCH, false),
        ("ProfileBody", &profile::CREATE, false),
        ("ProfileRenameBody", &profile::RENAME, false),
        ("ProfileMetaBody", &profile::META, false),
    ]
}

const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// Completes the generated document in place.
pub fn complete(doc: &mut Value) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, model, closed) in bodies() {
            let mut generated = model.json_schema(closed);
            // Keep the descriptions written beside the component's fields.
            if let (Some(old), Some(new)) = (
                schemas
                    .get(name)
                    .and_then(|s| s.get("properties"))
                    .and_then(Value::as_object),
                generated
                    .get_mut("properties")
                    .and_then(Value::as_object_mut),
            ) {
                for (field, schema) in new.iter_mut() {
                    if let Some(description) = old.get(field).and_then(|p| p.get("description")) {
                        schema["description"] = description.clone();
                    }
                }
            }
            schemas.insert(name.to_owned(), generated);
        }
        schemas.insert(
            "Medium".into(),
            json!({"type": "string", "enum": crate::media::MEDIA.iter().map(|m| m.table.name).collect::<Vec<_>>()}),
        );
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            complete_operation(path, method, operation);
        }
    }
}

fn complete_operation(path: &str, method: &str, operation: &mut Value) {
    let secured = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let has_body = operation.get("requestBody").is_some();
    let mut path_params = false;
    let mut strict_query = false;
    if let Some(params) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        for param in params.iter_mut() {
            let name = param["name"].as_str().unwrap_or_default().to_owned();
            match param["in"].as_str() {
                Some("path") => {
                    path_params = true;
                    if let Some(schema) = path_schema(&name) {
                        param["schema"] = schema;
                    }
                }
                Some("query") if name == "page" => {
                    strict_query |= param.pointer("/schema/$ref").and_then(Value::as_str)
                        == Some("#/components/schemas/StrictPage");
                }
                _ => {}
            }
        }
    }
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if secured {
        add(
            responses,
            "401",
            "No, or a revoked, token: `{\"msg\": ...}`; an expired one: `{\"status\": false, \"message\": \"The token has expired\"}`",
            &["TokenErrorBody", "MessageReply"],
        );
        add(
            responses,
            "422",
            "A token that does not decode, or a bad Authorization header",
            &["TokenErrorBody"],
        );
    }
    if has_body {
        add(
            responses,
            "400",
            "Layer A (`errors` by field), Layer B (`errors` list) or a body that is not JSON",
            &["PayloadErrors", "ValidationErrors", "MalformedBody"],
        );
        add(
            responses,
            "413",
            "A body over the limit (1 MiB)",
            &["MessageReply"],
        );
    } else if strict_query {
        add(
            responses,
            "400",
            "`page` is not an integer, or a JSON body that does not parse",
            &["PayloadErrors", "MalformedBody"],
        );
    }
    if path_params {
        add(
            responses,
            "404",
            "A path segment that names nothing (\"Resource not found\")",
            &["MessageReply"],
        );
    }
    if path == "/api/auth/login" && method == "post" {
        add(
            responses,
            "429",
            "Too many failed logins (Retry-After says when to try again)",
            &["MessageReply"],
        );
        retry_after(responses, "429");
    }
    add(
        responses,
        "500",
        "\"Something went wrong during the process!\"",
        &["MessageReply"],
    );
    add(
        responses,
        "503",
        "The database is unavailable, busy (Retry-After) or its storage full",
        &["MessageReply"],
    );
    retry_after(responses, "503");
}

fn path_schema(name: &str) -> Option<Value> {
    Some(if name == "medium" {
        schema_ref("Medium")
    } else if name.contains("uuid") {
        json!({"type": "string", "format": "uuid", "pattern": UUID_PATTERN})
    } else if name == "id" || name.ends_with("_id") {
        json!({"type": "integer", "format": "int64", "minimum": 0})
    } else {
        return None;
    })
}

/// Adds an answer, or widens an existing one to these shapes too.
fn add(responses: &mut Map<String, Value>, status: &str, description: &str, shapes: &[&str]) {
    let response = responses
        .entry(status)
        .or_insert_with(|| json!({"description": description}));
    let schema = response
        .pointer_mut("/content/application~1json/schema")
        .map(std::mem::take);
    let mut all: Vec<Value> = match schema {
        Some(Value::Object(mut s)) if s.contains_key("anyOf") => s
            .remove("anyOf")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    };
    for shape in shapes {
        let shape = schema_ref(shape);
        if !all.contains(&shape) {
            all.push(shape);
        }
    }
    let schema = if all.len() == 1 {
        all.remove(0)
    } else {
        json!({"anyOf": all})
    };
    response["content"] = json!({"application/json": {"schema": schema}});
}

fn retry_after(responses: &mut Map<String, Value>, status: &str) {
    if let Some(response) = responses.get_mut(status) {
        response["headers"] = json!({"Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "integer", "minimum": 1}
        }});
    }
}

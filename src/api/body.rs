//! Request bodies and "Layer A" validation (api-reference.md 1.3.1): the JSON-Schema checks that the
//! reference's framework runs before anything else, the token included.
//!
//! [`Body`] never fails as a data guard; it keeps what arrived, so that the handler decides when the
//! body is judged (first) and when the token is (second).

use crate::error::{ApiError, ApiResult};
use crate::rules;
use crate::util::pyjson;
use rocket::Request;
use rocket::data::{ByteUnit, Data, FromData, Outcome};
use serde_json::{Map, Value};

/// Bodies over this size are refused with 413 (override with `limits.json` in Rocket's settings).
pub const DEFAULT_LIMIT: ByteUnit = ByteUnit::Mebibyte(1);

#[derive(Debug)]
pub struct Body {
    is_json: bool,
    bytes: Vec<u8>,
    too_large: Option<u64>,
}

#[rocket::async_trait]
impl<'r> FromData<'r> for Body {
    type Error = std::convert::Infallible;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        let is_json = request.content_type().is_some_and(|ct| {
            ct.is_json() || (ct.top() == "application" && ct.sub().as_str().ends_with("+json"))
        });
        let limit = request.limits().get("json").unwrap_or(DEFAULT_LIMIT);
        let (bytes, too_large) = match data.open(limit).into_bytes().await {
            Ok(capped) if capped.is_complete() => (capped.into_inner(), None),
            Ok(_) => (Vec::new(), Some(limit.as_u64())),
            Err(_) => (Vec::new(), None),
        };
        Outcome::Success(Body {
            is_json,
            bytes,
            too_large,
        })
    }
}

impl Body {
    /// The body as the reference's framework sees it: parsed JSON for a JSON content type (malformed
    /// → 400), `null` for anything else.
    pub fn json(&self) -> ApiResult<Value> {
        if let Some(limit) = self.too_large {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        if !self.is_json {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.bytes).map_err(|_| ApiError::MalformedBody)
    }

    /// Parses and validates against `schema`; returns the object on success.
    pub fn validate(&self, schema: &Schema) -> ApiResult<Map<String, Value>> {
        let value = self.json()?;
        schema.check(value)
    }
}

/// JSON-Schema (Draft 4) types as flask-restx declares them.
#[derive(Debug)]
pub enum Ty {
    String,
    Integer,
    Number,
    Boolean,
    Array(&'static Ty),
    Object(&'static [Field]),
}

impl Ty {
    /// The type as JSON Schema.
    pub fn json_schema(&self) -> Value {
        match self {
            Ty::Array(item) => serde_json::json!({"type": "array", "items": item.json_schema()}),
            Ty::Object(fields) => Schema(fields).json_schema(false),
            other => serde_json::json!({"type": other.name()}),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Ty::String => "string",
            Ty::Integer => "integer",
            Ty::Number => "number",
            Ty::Boolean => "boolean",
            Ty::Array(_) => "array",
            Ty::Object(_) => "object",
        }
    }

    fn admits(&self, value: &Value) -> bool {
        match (self, value) {
            (Ty::String, Value::String(_)) | (Ty::Boolean, Value::Bool(_)) => true,
            (Ty::Array(_), Value::Array(_)) | (Ty::Object(_), Value::Object(_)) => true,
            // Draft 4: 3.0 is not an integer, and booleans are never numbers.
            (Ty::Integer, Value::Number(n)) => !n.is_f64(),
            (Ty::Number, Value::Number(_)) => true,
            _ => false,
        }
    }
}

/// One declared property.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// Inclusive numeric bounds with the text the reference prints for them (`0` vs `0.0`).
    pub minimum: Option<(f64, &'static str)>,
    pub maximum: Option<(f64, &'static str)>,
    /// String length bounds (characters), with Draft 4's "is too short/long" messages.
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    /// The field rule its handler checks after this schema (Layer B), shown in the API document.
    pub rule: Option<Rule>,
}

/// A Layer-B rule of `crate::rules`, named where the field is declared.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    Text(&'static rules::TextRule),
    Password(rules::PasswordPolicy),
}

impl Field {
    pub const fn required(name: &'static str, ty: Ty) -> Field {
        Field {
            name,
            ty,
            required: true,
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
            rule: None,
        }
    }
    pub const fn optional(name: &'static str, ty: Ty) -> Field {
        Field {
            name,
            ty,
            required: false,
            minimum: None,
            maximum: None,
            min_length: None,
            max_length: None,
            rule: None,
        }
    }
    pub const fn min(mut self, bound: f64, text: &'static str) -> Field {
        self.minimum = Some((bound, text));
        self
    }
    pub const fn length(mut self, min: usize, max: usize) -> Field {
        self.min_length = Some(min);
        self.max_length = Some(max);
        self
    }
    pub const fn max(mut self, bound: f64, text: &'static str) -> Field {
        self.maximum = Some((bound, text));
        self
    }
    pub const fn checked(mut self, rule: Rule) -> Field {
        self.rule = Some(rule);
        self
    }

    /// The field as JSON Schema: its type and bounds (Layer A) and its rule (Layer B).
    pub fn json_schema(&self) -> Value {
        let mut schema = self.ty.json_schema();
        let mut set = |key: &str, value: Value| {
            if let Value::Object(map) = &mut schema {
                map.insert(key.into(), value);
            }
        };
        if let Some((bound, _)) = self.minimum {
            set("minimum", number(bound));
        }
        if let Some((bound, _)) = self.maximum {
            set("maximum", number(bound));
        }
        let text = match self.rule {
            Some(Rule::Text(rule)) => Some((
                rule.min_chars,
                rule.max_chars,
                rule.pattern.map(str::to_owned),
                rule.format,
            )),
            Some(Rule::Password(policy)) => {
                let (rule, pattern) = rules::password_rule(policy);
                Some((rule.min_chars, rule.max_chars, Some(pattern), None))
            }
            None => None,
        };
        let (min, max) = match text {
            Some((min, max, _, _)) => (
                Some(min.max(self.min_length.unwrap_or(0))),
                max.or(self.max_length),
            ),
            None => (self.min_length, self.max_length),
        };
        if let Some(min) = min.filter(|m| *m > 0) {
            set("minLength", min.into());
        }
        if let Some(max) = max {
            set("maxLength", max.into());
        }
        if let Some((_, _, pattern, format)) = text {
            if let Some(pattern) = pattern {
                set("pattern", pattern.into());
            }
            if let Some(format) = format {
                set("format", format.into());
            }
        }
        schema
    }
}

fn number(value: f64) -> Value {
    if value.fract() == 0.0 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

/// A body model: the body must be an object with these properties (extra keys allowed).
#[derive(Debug)]
pub struct Schema(pub &'static [Field]);

impl Schema {
    /// The body model as JSON Schema; `closed` when the handler refuses unknown keys.
    pub fn json_schema(&self, closed: bool) -> Value {
        let properties: Map<String, Value> = self
            .0
            .iter()
            .map(|f| (f.name.to_owned(), f.json_schema()))
            .collect();
        let required: Vec<&str> = self
            .0
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        let mut schema = serde_json::json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            schema["required"] = required.into();
        }
        if closed {
            schema["additionalProperties"] = false.into();
        }
        schema
    }

    pub fn check(&self, value: Value) -> ApiResult<Map<String, Value>> {
        let mut errors = Map::new();
        let Value::Object(object) = value else {
            errors.insert(String::new(), type_error(&value, "object"));
            return Err(ApiError::PayloadInvalid(errors));
        };
        check_object(&object, self.0, "", &mut errors);
        if errors.is_empty() {
            Ok(object)
        } else {
            Err(ApiError::PayloadInvalid(errors))
        }
    }

    pub fn fields(&self) -> impl Iterator<Item = &'static Field> {
        self.0.iter()
    }
}

fn type_error(value: &Value, type_name: &str) -> Value {
    Value::String(format!(
        "{} is not of type '{type_name}'",
        pyjson::repr(value)
    ))
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn check_object(
    object: &Map<String, Value>,
    fields: &[Field],
    prefix: &str,
    errors: &mut Map<String, Value>,
) {
    for field in fields {
        match object.get(field.name) {
            None if field.required => {
                errors.insert(
                    join(prefix, field.name),
                    Value::String(format!("'{}' is a required property", field.name)),
                );
            }
            None => {}
            Some(value) => check_value(value, field, &join(prefix, field.name), errors),
        }
    }
}

fn check_value(value: &Value, field: &Field, path: &str, errors: &mut Map<String, Value>) {
    check_typed(value, &field.ty, path, errors);
    if let Value::String(text) = value {
        let length = text.chars().count();
        if field.min_length.is_some_and(|min| length < min) {
            errors.insert(
                path.into(),
                Value::String(format!("{} is too short", pyjson::repr(value))),
            );
        }
        if field.max_length.is_some_and(|max| length > max) {
            errors.insert(
                path.into(),
                Value::String(format!("{} is too long", pyjson::repr(value))),
            );
        }
    }
    if let (Some(number), true) = (value.as_f64(), field.ty.admits(value)) {
        if let Some((_, text)) = field.minimum.filter(|(bound, _)| number < *bound) {
            errors.insert(
                path.into(),
                Value::String(format!(
                    "{} is less than the minimum of {text}",
                    pyjson::repr(value)
                )),
            );
        }
        if let Some((_, text)) = field.maximum.filter(|(bound, _)| number > *bound) {
            errors.insert(
                path.into(),
                Value::String(format!(
                    "{} is greater than the maximum of {text}",
                    pyjson::repr(value)
                )),
            );
        }
    }
}

fn check_typed(value: &Value, ty: &Ty, path: &str, errors: &mut Map<String, Value>) {
    if !ty.admits(value) {
        errors.insert(path.into(), type_error(value, ty.name()));
        return;
    }
    match (ty, value) {
        (Ty::Array(item_ty), Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                check_typed(item, item_ty, &join(path, &index.to_string()), errors);
            }
        }
        (Ty::Object(fields), Value::Object(object)) => check_object(object, fields, path, errors),
        _ => {}
    }
}

/// Layer B's `"Unknown field."`, once per key the schema does not declare (1.3.2).
pub fn unknown_fields(object: &Map<String, Value>, schema: &Schema, errors: &mut Vec<String>) {
    for key in object.keys() {
        if !schema.fields().any(|f| f.name == key) {
            errors.push(crate::rules::UNKNOWN_FIELD.into());
        }
    }
}

/// A string property (present and typed, once the schema passed).
pub fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    static SCHEMA: Schema = Schema(&[
        Field::required("email", Ty::String),
        Field::optional("rating", Ty::Integer)
            .min(0.0, "0")
            .max(5.0, "5"),
        Field::optional("count", Ty::Number).min(0.0, "0.0"),
        Field::optional("genres", Ty::Array(&Ty::Integer)),
    ]);

    fn errors(value: Value) -> Value {
        match SCHEMA.check(value) {
            Err(ApiError::PayloadInvalid(e)) => Value::Object(e),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reports_every_violation_with_python_texts() {
        assert_eq!(
            errors(Value::Null),
            json!({"": "None is not of type 'object'"})
        );
        assert_eq!(
            errors(json!([1])),
            json!({"": "[1] is not of type 'object'"})
        );
        assert_eq!(
            errors(json!({"rating": 6, "count": -1, "genres": [1, "2", 3.0]})),
            json!({
                "email": "'email' is a required property",
                "rating": "6 is greater than the maximum of 5",
                "count": "-1 is less than the minimum of 0.0",
                "genres.1": "'2' is not of type 'integer'",
                "genres.2": "3.0 is not of type 'integer'",
            })
        );
        assert_eq!(
            errors(json!({"email": 5, "rating": true})),
            json!({
                "email": "5 is not of type 'string'",
                "rating": "True is not of type 'integer'",
            })
        );
        assert!(SCHEMA.check(json!({"email": "a", "extra": null})).is_ok());
    }
}

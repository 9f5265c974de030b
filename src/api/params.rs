//! Path segments with the reference's converters: `<int:...>` takes unsigned decimal digits only,
//! `<uuid:...>` only canonical UUID text. Anything else matches no route, hence 404 (1.1).

use rocket::request::FromParam;

/// An unsigned decimal id (`-1`, `+1`, `1.0`, `abc` do not match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntId(pub i64);

impl IntId {
    /// Digits only, and small enough to be an id of ours.
    pub fn parse(text: &str) -> Option<IntId> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().map(IntId)
    }
}

impl<'a> FromParam<'a> for IntId {
    type Error = &'a str;

    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        IntId::parse(param).ok_or(param)
    }
}

/// A canonical 8-4-4-4-12 hexadecimal UUID, normalised to lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuidParam(pub String);

pub fn is_canonical_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

impl<'a> FromParam<'a> for UuidParam {
    type Error = &'a str;

    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        if is_canonical_uuid(param) {
            Ok(UuidParam(param.to_ascii_lowercase()))
        } else {
            Err(param)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converters() {
        assert_eq!(IntId::from_param("42"), Ok(IntId(42)));
        for bad in ["", "-1", "+1", "1.0", "abc", "99999999999999999999"] {
            assert!(IntId::from_param(bad).is_err(), "{bad}");
        }
        assert!(UuidParam::from_param("6D43749E-d519-45dc-bdb8-4e9c3f9bcb69").is_ok());
        assert!(UuidParam::from_param("6d43749ed51945dcbdb84e9c3f9bcb69").is_err());
        assert!(UuidParam::from_param("genre").is_err());
    }
}

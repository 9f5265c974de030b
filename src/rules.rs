//! Field rules of the reference's marshmallow schemas (api-reference.md 2.2, "Layer B"), shared by the
//! API and the command line. Each check returns the reference's exact messages; several can fire for
//! one value (a 4-character password fails both the length and the pattern).

use regex::Regex;
use std::sync::LazyLock;

pub const INVALID_EMAIL: &str = "Not a valid email address.";
pub const EMAIL_LENGTH: &str = "Length must be between 5 and 64.";
pub const USERNAME_LENGTH: &str = "Length must be between 4 and 15.";
pub const INVALID_USERNAME: &str = "Invalid username!";
pub const PASSWORD_LENGTH: &str = "Length must be between 8 and 128.";
pub const PASSWORD_PATTERN: &str = "Password must contain at least minimum eight characters, at least one uppercase letter, one lowercase letter, one number and one special character !";
pub const GROUP_NAME_LENGTH: &str = "Length must be between 3 and 45.";
pub const INVALID_GROUP_NAME: &str = "Invalid name!";
pub const RESET_TOKEN_LENGTH: &str = "Shorter than minimum length 50.";
pub const UNKNOWN_FIELD: &str = "Unknown field.";
pub const EMAIL_TAKEN: &str = "Email is already being used.";

/// A Layer-B rule on a text field, as data: the checks below apply it, and the API document shows it
/// (`minLength`, `maxLength`, `pattern`, `format`), so both come from this one definition.
#[derive(Debug)]
pub struct TextRule {
    pub min_chars: usize,
    pub max_chars: Option<usize>,
    /// A regular expression a valid value matches (`search`, the reference's `re.match` with `^`),
    /// in the syntax both the `regex` crate and JSON Schema (ECMA-262) read.
    pub pattern: Option<&'static str>,
    pub format: Option<&'static str>,
}

pub const EMAIL: TextRule = TextRule {
    min_chars: 5,
    max_chars: Some(64),
    pattern: None,
    format: Some("email"),
};
/// Letters, digits, `_` and single inner dots (the reference's regex, with its "no `..`").
pub const USERNAME: TextRule = TextRule {
    min_chars: 4,
    max_chars: Some(15),
    pattern: Some(NAME_PATTERN),
    format: None,
};
pub const GROUP_NAME: TextRule = TextRule {
    min_chars: 3,
    max_chars: Some(45),
    ..USERNAME
};
/// Login checks only the length of the password.
pub const PASSWORD_AT_LOGIN: TextRule = TextRule {
    min_chars: 8,
    max_chars: Some(128),
    pattern: None,
    format: None,
};
pub const RESET_TOKEN: TextRule = TextRule {
    min_chars: 50,
    max_chars: None,
    pattern: None,
    format: None,
};

/// A UUID (the invitation body's `uuid`: "Not a valid UUID." otherwise). The check is uuid's parser,
/// which takes the hyphenated form the document names and a few more (plain hex, braces, `urn:uuid:`).
pub const UUID: TextRule = TextRule {
    min_chars: 0,
    max_chars: None,
    pattern: None,
    format: Some("uuid"),
};

const NAME_PATTERN: &str = r"^[A-Za-z0-9_](?:\.?[A-Za-z0-9_])*$";

/// The password rule of a policy: lengths, and the reference's lookahead pattern.
pub fn password_rule(policy: PasswordPolicy) -> (TextRule, String) {
    let specials: String = policy
        .specials()
        .chars()
        .map(|c| regex::escape(&c.to_string()))
        .collect();
    let pattern = format!(
        r"^(?=[^\n]*[a-z])(?=[^\n]*[A-Z])(?=[^\n]*\d)(?=[^\n]*[{specials}])[A-Za-z\d{specials}]{{8}}"
    );
    (PASSWORD_AT_LOGIN, pattern)
}

fn char_len(value: &str) -> usize {
    value.chars().count()
}

fn length_between(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&char_len(value))
}

fn length_ok(value: &str, rule: &TextRule) -> bool {
    length_between(value, rule.min_chars, rule.max_chars.unwrap_or(usize::MAX))
}

// marshmallow 3.10's Email validator, without its look-behind (checked separately below).
static EMAIL_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)^(?:[-!#$%&'*+/=?^`{}|~\w]+(?:\.[-!#$%&'*+/=?^`{}|~\w]+)*|"(?:[\x01-\x08\x0b\x0c\x0e-\x1f!#-\[\]-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])*")$"#,
    )
    .expect("static regex")
});
static EMAIL_DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:(?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+(?:[A-Z]{2,6}|[A-Z0-9-]{2,})|\[(?:25[0-5]|2[0-4]\d|[0-1]?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|[0-1]?\d?\d)){3}\])$",
    )
    .expect("static regex")
});
static NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(NAME_PATTERN).expect("static regex"));
/// Python's `\d` in a str pattern: Unicode decimal digits (category Nd), which Rust's regex `\d` also is.
static DIGIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d$").expect("static regex"));

fn is_digit(c: char) -> bool {
    let mut buf = [0u8; 4];
    DIGIT.is_match(c.encode_utf8(&mut buf))
}

fn domain_ok(domain: &str) -> bool {
    EMAIL_DOMAIN.is_match(domain)
}

pub fn is_valid_email(value: &str) -> bool {
    let Some((user, domain)) = value.rsplit_once('@') else {
        return false;
    };
    if !EMAIL_USER.is_match(user) {
        return false;
    }
    if domain == "localhost" || domain_ok(domain) {
        return true;
    }
    // marshmallow retries an internationalised domain in its IDNA (punycode) form.
    idna::domain_to_ascii(domain)
        .map(|ascii| domain_ok(&ascii))
        .unwrap_or(false)
}

pub fn check_email(value: &str, errors: &mut Vec<String>) {
    if !is_valid_email(value) {
        errors.push(INVALID_EMAIL.into());
    }
    if !length_ok(value, &EMAIL) {
        errors.push(EMAIL_LENGTH.into());
    }
}

/// Letters, digits, `_` and single inner dots (the reference's regex also caps the length at 30,
/// which every length rule is below).
fn name_pattern_ok(value: &str) -> bool {
    NAME.is_match(value)
}

pub fn check_username(value: &str, errors: &mut Vec<String>) {
    if !length_ok(value, &USERNAME) {
        errors.push(USERNAME_LENGTH.into());
    }
    if !name_pattern_ok(value) {
        errors.push(INVALID_USERNAME.into());
    }
}

pub fn check_group_name(value: &str, errors: &mut Vec<String>) {
    if !length_ok(value, &GROUP_NAME) {
        errors.push(GROUP_NAME_LENGTH.into());
    }
    if !name_pattern_ok(value) {
        errors.push(INVALID_GROUP_NAME.into());
    }
}

/// Which special characters a password may use: registration accepts more than reset and update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordPolicy {
    Register,
    ResetOrUpdate,
}

impl PasswordPolicy {
    fn specials(self) -> &'static str {
        match self {
            PasswordPolicy::Register => "@$!%*?&.+-#_",
            PasswordPolicy::ResetOrUpdate => "@$!%*?&",
        }
    }
}

/// The reference's lookahead regex, spelled out: a lowercase letter, an uppercase letter, a digit and a
/// special character somewhere on the first line, and the first eight characters all from the allowed
/// alphabet (the pattern has no end anchor, so anything may follow them).
pub fn password_pattern_ok(value: &str, policy: PasswordPolicy) -> bool {
    let specials = policy.specials();
    let first_line = value.split('\n').next().unwrap_or("");
    let has = |pred: &dyn Fn(char) -> bool| first_line.chars().any(pred);
    let allowed = |c: char| c.is_ascii_alphabetic() || is_digit(c) || specials.contains(c);
    has(&|c| c.is_ascii_lowercase())
        && has(&|c| c.is_ascii_uppercase())
        && has(&is_digit)
        && has(&|c| specials.contains(c))
        && value.chars().take(8).filter(|&c| allowed(c)).count() == 8
}

pub fn check_password(value: &str, policy: PasswordPolicy, errors: &mut Vec<String>) {
    if !length_ok(value, &PASSWORD_AT_LOGIN) {
        errors.push(PASSWORD_LENGTH.into());
    }
    if !password_pattern_ok(value, policy) {
        errors.push(PASSWORD_PATTERN.into());
    }
}

/// Login checks only the length of the password.
pub fn check_password_length(value: &str, errors: &mut Vec<String>) {
    if !length_ok(value, &PASSWORD_AT_LOGIN) {
        errors.push(PASSWORD_LENGTH.into());
    }
}

pub fn check_reset_token(value: &str, errors: &mut Vec<String>) {
    if !length_ok(value, &RESET_TOKEN) {
        errors.push(RESET_TOKEN_LENGTH.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "john.doe@example.com",
            "x@localhost",
            "u@[127.0.0.1]",
            "é@exämple.com",
            "\"a!b\"@ex.org",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "a@b",
            "a@b.c",
            "a..b@ex.com",
            "a@-ex.com",
            "a@ex..com",
            "a b@ex.com",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn usernames() {
        let errs = |v: &str| {
            let mut e = Vec::new();
            check_username(v, &mut e);
            e
        };
        assert!(errs("john_doe").is_empty());
        assert!(errs("j.doe").is_empty());
        assert_eq!(errs("abc"), vec![USERNAME_LENGTH]);
        assert_eq!(errs(""), vec![USERNAME_LENGTH, INVALID_USERNAME]);
        assert_eq!(errs("j..doe"), vec![INVALID_USERNAME]);
        assert_eq!(errs(".jdoe"), vec![INVALID_USERNAME]);
        assert_eq!(errs("jdoe."), vec![INVALID_USERNAME]);
        assert_eq!(errs("jo hn"), vec![INVALID_USERNAME]);
    }

    #[test]
    fn passwords() {
        use PasswordPolicy::*;
        assert!(password_pattern_ok("Azerty123!", Register));
        assert!(password_pattern_ok("Abcdef1.", Register));
        assert!(
            !password_pattern_ok("Abcdef1.", ResetOrUpdate),
            "'.' is special only at register"
        );
        assert!(password_pattern_ok(
            "Azerty1!  spaces after eight",
            ResetOrUpdate
        ));
        assert!(
            !password_pattern_ok("Azer ty1!", ResetOrUpdate),
            "space inside the first eight"
        );
        assert!(!password_pattern_ok("azerty123!", Register));
        assert!(
            !password_pattern_ok("Abcdef²!", Register),
            "² is numeric but not a decimal digit"
        );
        assert!(
            password_pattern_ok("Abcdef٣!", Register),
            "Arabic-Indic digits are decimal digits"
        );
        let mut e = Vec::new();
        check_password("Ab1!", Register, &mut e);
        assert_eq!(e, vec![PASSWORD_LENGTH, PASSWORD_PATTERN]);
    }
}

//! The JWT signing secret (decisions F15): `SECRET_KEY` from the environment when set, otherwise a
//! random secret generated on first start and kept next to the database with mode 0600. Never empty,
//! never built in.

use rand::RngCore;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

pub const ENV_VAR: &str = "SECRET_KEY";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read or create the secret file {path}: {source}")]
    File { path: String, source: io::Error },
    #[error(
        "the secret file {0} is empty; delete it to generate a new secret (this logs everybody out)"
    )]
    EmptyFile(String),
    #[error(
        "SECRET_KEY is {0} bytes long: use at least {MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -hex 32`), or unset it to use a generated secret"
    )]
    TooShort(usize),
}

/// A shorter signing secret falls to an offline guess from any one token (decisions F24).
pub const MIN_SECRET_BYTES: usize = 32;

pub fn load_or_create(secret_file: &Path) -> Result<Vec<u8>, SecretError> {
    match std::env::var(ENV_VAR) {
        Ok(value) if !value.trim().is_empty() => {
            if value.len() < MIN_SECRET_BYTES {
                return Err(SecretError::TooShort(value.len()));
            }
            Ok(value.into_bytes())
        }
        Ok(_) => {
            // The reference's default .env has SECRET_KEY="": never sign with an empty key.
            tracing::warn!("{ENV_VAR} is set but empty: using the generated secret instead");
            from_file(secret_file)
        }
        Err(_) => from_file(secret_file),
    }
}

fn from_file(path: &Path) -> Result<Vec<u8>, SecretError> {
    let file_error = |source| SecretError::File {
        path: path.display().to_string(),
        source,
    };
    match create_new(path) {
        Ok(secret) => {
            tracing::info!(path = %path.display(), "generated a new JWT secret");
            return Ok(secret);
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(file_error(e)),
    }
    let text = fs::read_to_string(path).map_err(file_error)?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(SecretError::EmptyFile(path.display().to_string()));
    }
    Ok(secret.as_bytes().to_vec())
}

/// Creates the file only if it does not exist, so two processes starting at once agree on one secret.
fn create_new(path: &Path) -> io::Result<Vec<u8>> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    Ok(secret.into_bytes())
}

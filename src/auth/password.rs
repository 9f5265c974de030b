//! bcrypt password hashes (`$2b$`), computed off the async executor.
//!
//! A hash costs about 0.3 s of CPU at cost 12, so it runs on Tokio's blocking pool, and a semaphore
//! keeps at most one hash per core in flight: a flood of logins then queues instead of starving the
//! rest of the server (and the 512 blocking threads) of CPU.

use crate::error::{ApiError, ApiResult};
use rocket::tokio::sync::Semaphore;
use std::sync::{Arc, OnceLock};

/// bcrypt reads at most 72 bytes; the reference's library silently ignored the rest, and so do we
/// (explicitly), so that hashes made by either side keep verifying.
const BCRYPT_MAX_BYTES: usize = 72;

fn truncated(password: &str) -> &[u8] {
    let bytes = password.as_bytes();
    &bytes[..bytes.len().min(BCRYPT_MAX_BYTES)]
}

/// Synchronous hash, for the command line.
pub fn hash_blocking(password: &str, cost: u32) -> ApiResult<String> {
    Ok(bcrypt::hash(truncated(password), cost)?)
}

/// Synchronous check; a malformed stored hash simply does not match.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    bcrypt::verify(truncated(password), hash).unwrap_or(false)
}

#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    permits: Arc<Semaphore>,
    /// A hash of a random password at our cost: checked against when an e-mail is unknown, so that
    /// login timing does not tell which addresses have accounts.
    decoy: Arc<OnceLock<String>>,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        PasswordHasher {
            cost,
            permits: Arc::new(Semaphore::new(cores)),
            decoy: Arc::new(OnceLock::new()),
        }
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    async fn off_executor<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        Ok(rocket::tokio::task::spawn_blocking(work).await?)
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        let cost = self.cost;
        self.off_executor(move || hash_blocking(&password, cost))
            .await?
    }

    /// Checks `password` against `hash`, or spends the same time on a decoy hash when there is none.
    pub async fn verify(&self, password: String, hash: Option<String>) -> ApiResult<bool> {
        let (cost, decoy) = (self.cost, self.decoy.clone());
        self.off_executor(move || match hash {
            Some(hash) => verify_blocking(&password, &hash),
            None => {
                let decoy = decoy.get_or_init(|| {
                    hash_blocking(&uuid::Uuid::new_v4().to_string(), cost).unwrap_or_default()
                });
                verify_blocking(&password, decoy);
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_2b_and_verify() {
        let hash = hash_blocking("Azerty123!", 4).unwrap();
        assert!(hash.starts_with("$2b$04$"), "{hash}");
        assert!(verify_blocking("Azerty123!", &hash));
        assert!(!verify_blocking("Azerty123?", &hash));
        assert!(!verify_blocking("x", "not a hash"));
    }

    #[test]
    fn only_the_first_72_bytes_count() {
        let long = "A1!a".repeat(30);
        let hash = hash_blocking(&long, 4).unwrap();
        assert!(verify_blocking(&long[..72], &hash));
    }
}

//! Limits on what an anonymous client can repeat (decisions F22): failed logins per account and per
//! client address, password-reset requests per address. The counting is governor's (GCRA): `N` in a
//! window, one more allowed every window / N. Only failures count against logins, so a front end
//! that logs many users in from one address is never slowed; once a key is over its limit, every
//! attempt for it is refused — the right password too — until it has room again.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits, as settings (0: no limit).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub login_failures_per_account: u32,
    pub login_failures_per_address: u32,
    pub resets_per_address: u32,
    pub window: Duration,
}

/// One limit: a keyed rate limiter, and the keys over it with the moment they have room again.
struct Limit<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    blocked: Mutex<HashMap<K, Instant>>,
}

/// Past this many blocked keys, the ones whose block is over are forgotten.
const BLOCKED_SWEEP: usize = 10_000;

impl<K: Hash + Eq + Clone> Limit<K> {
    /// `None` for no limit. `n` events in `window`: with `block_at_nth`, the `n`-th blocks what
    /// follows (failures: the `n`-th failure is answered as such, the next attempt is refused);
    /// otherwise the `n + 1`-th is the first refused (requests).
    fn new(n: u32, window: Duration, block_at_nth: bool) -> Option<Limit<K>> {
        let n = NonZeroU32::new(n)?;
        let period = (window / n.get()).max(Duration::from_millis(1));
        // The limiter refuses the event past its burst.
        let burst = if block_at_nth { n.get() - 1 } else { n.get() };
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)?.allow_burst(burst);
        Some(Limit {
            limiter: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
        })
    }

    /// How long `key` stays refused, if it is.
    fn blocked_for(&self, key: &K) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let until = *blocked.get(key)?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts one event for `key`; past the limit, `key` is refused until it has room again.
    fn count(&self, key: &K) {
        if let Err(not_until) = self.limiter.check_key(key) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
            if blocked.len() >= BLOCKED_SWEEP {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
                self.limiter.retain_recent();
            }
            blocked.insert(key.clone(), Instant::now() + wait);
        }
    }

    /// Counts one event and tells whether it was over the limit (for events that all count).
    fn allow(&self, key: &K) -> bool {
        if self.blocked_for(key).is_some() {
            return false;
        }
        self.count(key);
        self.blocked_for(key).is_none()
    }
}

pub struct Throttle {
    accounts: Option<Limit<String>>,
    addresses: Option<Limit<IpAddr>>,
    resets: Option<Limit<IpAddr>>,
}

impl Throttle {
    pub fn new(limits: Limits) -> Throttle {
        Throttle {
            accounts: Limit::new(limits.login_failures_per_account, limits.window, true),
            addresses: Limit::new(limits.login_failures_per_address, limits.window, true),
            resets: Limit::new(limits.resets_per_address, limits.window, false),
        }
    }

    /// How long logins to `email` from `address` stay refused, if they are (the longer of the two).
    pub fn login_refused_for(&self, email: &str, address: Option<IpAddr>) -> Option<Duration> {
        let account = self
            .accounts
            .as_ref()
            .and_then(|l| l.blocked_for(&email.to_lowercase()));
        let client = self
            .addresses
            .as_ref()
            .zip(address)
            .and_then(|(l, a)| l.blocked_for(&a));
        account.max(client)
    }

    /// Counts a failed login.
    pub fn login_failed(&self, email: &str, address: Option<IpAddr>) {
        if let Some(limit) = &self.accounts {
            limit.count(&email.to_lowercase());
        }
        if let (Some(limit), Some(address)) = (&self.addresses, address) {
            limit.count(&address);
        }
    }

    /// Whether a password-reset request from `address` may send a mail (it counts).
    pub fn reset_allowed(&self, address: Option<IpAddr>) -> bool {
        match (&self.resets, address) {
            (Some(limit), Some(address)) => limit.allow(&address),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(n: u32) -> Limits {
        Limits {
            login_failures_per_account: n,
            login_failures_per_address: 0,
            resets_per_address: n,
            window: Duration::from_secs(600),
        }
    }

    #[test]
    fn n_failures_then_refusals() {
        let throttle = Throttle::new(limits(3));
        for _ in 0..2 {
            throttle.login_failed("A@x.org", None);
            assert_eq!(throttle.login_refused_for("a@x.org", None), None);
        }
        throttle.login_failed("a@x.org", None);
        let wait = throttle.login_refused_for("a@X.org", None).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(200),
            "{wait:?}"
        );
        assert_eq!(throttle.login_refused_for("b@x.org", None), None);
    }

    #[test]
    fn resets_count_every_request() {
        let throttle = Throttle::new(limits(2));
        let me: IpAddr = [10, 0, 0, 1].into();
        assert!(throttle.reset_allowed(Some(me)));
        assert!(throttle.reset_allowed(Some(me)));
        assert!(!throttle.reset_allowed(Some(me)));
        assert!(!throttle.reset_allowed(Some(me)));
        assert!(throttle.reset_allowed(Some([10, 0, 0, 2].into())));
        let unlimited = Throttle::new(limits(0));
        assert!((0..100).all(|_| unlimited.reset_allowed(Some(me))));
    }
}

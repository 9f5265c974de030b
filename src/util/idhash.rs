//! A hasher for integer keys (content and user ids) in the engine's hot loops.
//!
//! The standard library's SipHash resists hash flooding from untrusted keys; the engine's keys are
//! database ids it read itself, and its maps are rebuilt per run, so a multiply-and-rotate hash
//! (as rustc's FxHash) is safe here and several times faster.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // One xor-shift-multiply round spreads consecutive ids over the high bits too (hashbrown
        // reads its control byte from them).
        let x = self.0 ^ (self.0 >> 33);
        x.wrapping_mul(0xff51_afd7_ed55_8ccd) ^ (x >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_ids_spread_and_maps_work() {
        let mut map: IdMap<i64, i64> = IdMap::default();
        for id in 0..10_000i64 {
            map.insert(id, id * 2);
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get(&4_321), Some(&8_642));
        let buckets: IdSet<u64> = (0..1_000i64)
            .map(|id| {
                let mut h = IdHasher::default();
                h.write_i64(id);
                h.finish() >> 54
            })
            .collect();
        assert!(buckets.len() > 500, "top bits vary: {}", buckets.len());
    }
}

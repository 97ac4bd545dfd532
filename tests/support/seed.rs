//! Seeded randomness: every scenario prints its seed, and the same seed replays the same run.

/// SplitMix64: small, fast, and good enough to pick faults and instants.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The seed named by the environment variable `var`, or one from the clock; printed either
/// way so that a failure can be replayed with `var=<seed>`.
pub fn seed_from_env(var: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|t| t.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("{var}={seed}");
    seed
}

/// Endless seeded random bytes, read as a stream (a recording that is never whole in memory).
pub struct RandomBytes(pub Rng);

impl std::io::Read for RandomBytes {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        for piece in buf.chunks_mut(8) {
            let word = self.0.next_u64().to_le_bytes();
            piece.copy_from_slice(&word[..piece.len()]);
        }
        Ok(buf.len())
    }
}

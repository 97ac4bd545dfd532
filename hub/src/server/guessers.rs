//! Who is guessing enrolment codes. Each client address has an allowance of [`BURST`] codes
//! that are not right, and one more comes back every [`REFILL`]; an address with none left is
//! refused before any code is looked up, the right one included. A wrong guess is held against
//! the address that made it and never against the code, so no outsider can lock a colleague's
//! code on enrolment day, and a guesser gets about 160 tries in a code's 15 minutes against a
//! secret of 2^40.
//!
//! Kept in memory per hub process, for at most [`MAX_ADDRESSES`] addresses (Cost: one mutex
//! held for a map look-up per enrolment attempt; a full table is swept in O(addresses), at most
//! once per new address). IPv6 clients are counted per /64, the block one subscriber usually has.
//! Behind a reverse proxy every client has the proxy's address and shares one allowance.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Codes that are not right an address may send before it must wait.
pub const BURST: u32 = 10;
/// How long an address waits for one more try once its allowance is spent.
pub const REFILL: Duration = Duration::from_secs(6);
/// The most addresses remembered at once.
pub const MAX_ADDRESSES: usize = 10_000;

/// What is left of one address's allowance, as of `at`.
#[derive(Debug, Clone, Copy)]
struct Allowance {
    tries: f64,
    at: Instant,
}

impl Allowance {
    fn full(at: Instant) -> Self {
        Allowance {
            tries: f64::from(BURST),
            at,
        }
    }

    /// The allowance at `now`, with the tries that came back since `at`.
    fn at(self, now: Instant) -> Self {
        let regained = now.saturating_duration_since(self.at).as_secs_f64() / REFILL.as_secs_f64();
        Allowance {
            tries: (self.tries + regained).min(f64::from(BURST)),
            at: now.max(self.at),
        }
    }

    fn is_full(&self) -> bool {
        self.tries >= f64::from(BURST)
    }
}

/// The allowances of the addresses that tried codes lately.
#[derive(Debug, Default)]
pub struct Guessers {
    allowances: Mutex<HashMap<IpAddr, Allowance>>,
}

impl Guessers {
    /// Takes one try from `client`'s allowance before its code is looked up; false when it has
    /// none left. A try taken up front, not after the answer, holds against many requests sent
    /// at once.
    pub fn try_take(&self, client: IpAddr, now: Instant) -> bool {
        let key = counted_as(client);
        let mut allowances = self.lock();
        let allowance = allowances
            .get(&key)
            .map_or(Allowance::full(now), |a| a.at(now));
        if allowance.tries < 1.0 {
            return false;
        }
        if allowances.len() >= MAX_ADDRESSES && !allowances.contains_key(&key) {
            make_room(&mut allowances, now);
        }
        let taken = Allowance {
            tries: allowance.tries - 1.0,
            ..allowance
        };
        allowances.insert(key, taken);
        true
    }

    /// Gives the try back: the code was right (whether or not it was still good), so the
    /// attempt was its holder's, not a guess.
    pub fn give_back(&self, client: IpAddr, now: Instant) {
        let key = counted_as(client);
        let mut allowances = self.lock();
        if let Some(allowance) = allowances.get(&key).map(|a| a.at(now)) {
            let back = Allowance {
                tries: (allowance.tries + 1.0).min(f64::from(BURST)),
                ..allowance
            };
            if back.is_full() {
                allowances.remove(&key);
            } else {
                allowances.insert(key, back);
            }
        }
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Allowance>> {
        // The map holds plain numbers: one left by a panicking thread is still consistent.
        self.allowances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Forgets the addresses whose allowance is full again (as good as never seen), and if that
/// frees nothing, the one seen longest ago: a table filled by many addresses then costs them
/// their waiting, never another client its enrolment.
fn make_room(allowances: &mut HashMap<IpAddr, Allowance>, now: Instant) {
    allowances.retain(|_, a| !a.at(now).is_full());
    if allowances.len() >= MAX_ADDRESSES {
        if let Some(oldest) = allowances.iter().min_by_key(|(_, a)| a.at).map(|(k, _)| *k) {
            allowances.remove(&oldest);
        }
    }
}

/// The address an allowance is kept under: IPv4 as it is (also when written as IPv6), IPv6 by
/// its /64.
fn counted_as(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u64::MAX as u128))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_that_spent_its_tries_is_refused_and_another_is_not() {
        let guessers = Guessers::default();
        let now = Instant::now();
        for _ in 0..BURST {
            assert!(guessers.try_take(ip("10.0.0.7"), now));
        }
        assert!(!guessers.try_take(ip("10.0.0.7"), now));
        assert!(
            !guessers.try_take(ip("::ffff:10.0.0.7"), now),
            "the same, as IPv6"
        );
        assert!(guessers.try_take(ip("10.0.0.8"), now));
    }

    #[test]
    fn tries_come_back_with_time() {
        let guessers = Guessers::default();
        let now = Instant::now();
        for _ in 0..BURST {
            guessers.try_take(ip("10.0.0.7"), now);
        }
        let later = now + REFILL;
        assert!(guessers.try_take(ip("10.0.0.7"), later));
        assert!(
            !guessers.try_take(ip("10.0.0.7"), later),
            "one came back, not more"
        );
    }

    #[test]
    fn a_right_code_costs_its_holder_nothing() {
        let guessers = Guessers::default();
        let now = Instant::now();
        for _ in 0..BURST * 3 {
            assert!(guessers.try_take(ip("10.0.0.7"), now));
            guessers.give_back(ip("10.0.0.7"), now);
        }
        assert_eq!(guessers.remembered(), 0, "a full allowance is not kept");
    }

    #[test]
    fn an_ipv6_subscriber_is_counted_by_its_64_block() {
        let guessers = Guessers::default();
        let now = Instant::now();
        for n in 0..BURST {
            assert!(guessers.try_take(ip(&format!("2001:db8:1:2::{n:x}")), now));
        }
        assert!(!guessers.try_take(ip("2001:db8:1:2:ffff::1"), now));
        assert!(guessers.try_take(ip("2001:db8:1:3::1"), now));
    }

    #[test]
    fn the_table_stays_bounded_and_a_new_address_still_gets_its_tries() {
        let guessers = Guessers::default();
        let now = Instant::now();
        for n in 0..(MAX_ADDRESSES as u32 + 50) {
            let client = IpAddr::V4((0x0a00_0000 + n).into());
            assert!(guessers.try_take(client, now));
        }
        assert!(guessers.remembered() <= MAX_ADDRESSES);
        assert!(guessers.try_take(ip("192.0.2.1"), now));
    }
}

//! Deterministic price paths: multi-octave value noise in log-price.
//!
//! A symbol's log mid price is `ln(base) + Σ_j a_j · n_j(t)` where `n_j` is smooth value
//! noise with period `P_j = 2·3^j` seconds (2 s up to about 110 days) and amplitude
//! `a_j = σ·sqrt(P_j / year)`, which makes the sum behave like a random walk with annual
//! volatility σ at horizons up to weeks, while staying anchored around `base` forever
//! (typical distance from it: 0.4·σ, e.g. ±3% for EURUSD).
//!
//! Why not simulate a random walk step by step? Because then a price at an instant needs the
//! whole history before it. Here any instant, past or future, costs O(octaves) hash
//! evaluations, so bars for any window, catch-up after a restart and two processes sharing
//! an account all see the same prices without replaying anything. The same seed and the same
//! instant always give the same price.
//!
//! The noise is also *bounded in how fast it can move* ([`Path::max_move`]): the trigger
//! search uses that to skip long stretches where no pending order or stop can be touched,
//! so catching up days of market costs microseconds yet stays exact to the second.

pub(crate) const OCTAVES: usize = 15;
const YEAR_SECS: f64 = 365.25 * 86_400.0;
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// `2·3^j` seconds for octave `j`.
fn period(j: usize) -> i64 {
    2 * 3i64.pow(j as u32)
}

/// SplitMix64's finaliser: a cheap, well-mixed 64-bit hash step.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a name, so a symbol's path depends on its name and not on catalogue order.
pub(crate) fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// A uniform value in `[0, 1)` from a hash.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// One independent log-price path. Periods and phases are whole seconds, so evaluating
/// at integer instants needs no floating-point floor (a library call on baseline x86-64).
#[derive(Debug, Clone)]
pub(crate) struct Path {
    ln_base: f64,
    amp: [f64; OCTAVES],
    period: [i64; OCTAVES],
    inv_period: [f64; OCTAVES],
    /// Per-octave offset in seconds so lattice points of different octaves and symbols
    /// never line up.
    phase: [i64; OCTAVES],
    key: [u64; OCTAVES],
}

impl Path {
    pub(crate) fn new(seed: u64, name: &str, base: f64, vol: f64) -> Self {
        let id = mix(seed ^ mix(name_hash(name)));
        let mut amp = [0.0; OCTAVES];
        let mut periods = [0; OCTAVES];
        let mut inv_period = [0.0; OCTAVES];
        let mut phase = [0; OCTAVES];
        let mut key = [0u64; OCTAVES];
        for j in 0..OCTAVES {
            let p = period(j);
            periods[j] = p;
            amp[j] = vol * (p as f64 / YEAR_SECS).sqrt();
            inv_period[j] = 1.0 / p as f64;
            key[j] = mix(id ^ ((j as u64 + 1) << 40));
            phase[j] = (mix(key[j] ^ 0x5EED) % p as u64) as i64;
        }
        Self {
            ln_base: base.ln(),
            amp,
            period: periods,
            inv_period,
            phase,
            key,
        }
    }

    fn lattice(&self, j: usize, i: i64) -> f64 {
        unit(mix(self.key[j] ^ (i as u64).wrapping_mul(GOLDEN))) * 2.0 - 1.0
    }

    /// Log mid price at second `t` (UTC epoch seconds).
    pub(crate) fn log_at(&self, t: i64) -> f64 {
        Cursor::new(self).log_at(t)
    }

    /// An upper bound of `|log_at(t + d) - log_at(t)|` for every `0 <= d <= dt` seconds.
    ///
    /// Each octave is a smoothstep between lattice values in `[-a, a]`, so it moves at most
    /// `2a` in total and at most `1.5 · 2a / P` per second.
    pub(crate) fn max_move(&self, dt: f64) -> f64 {
        (0..OCTAVES)
            .map(|j| (2.0 * self.amp[j]).min(3.0 * self.amp[j] * dt * self.inv_period[j]))
            .sum()
    }
}

/// Octave slots, padded to a multiple of four lanes (the padding octave has amplitude 0).
const SLOTS: usize = 16;

/// Evaluates one path at many instants, keeping each octave's current lattice cell; moving
/// forward within a cell costs no hashing and no division, so bars and scans over
/// consecutive seconds are several times cheaper than [`Path::log_at`].
///
/// The arithmetic pass runs over plain `f64` arrays in four independent accumulators (a
/// fixed summation order, so results stay bit-for-bit deterministic) which the compiler can
/// vectorise.
pub(crate) struct Cursor<'a> {
    path: &'a Path,
    ready: bool,
    /// Lattice cell index per octave and the instant that cell starts at.
    cell: [i64; SLOTS],
    start: [i64; SLOTS],
    start_f: [f64; SLOTS],
    inv: [f64; SLOTS],
    /// Right lattice value of the current cell (the next cell's left value).
    v1: [f64; SLOTS],
    /// `amp · v0` and `amp · (v1 − v0)` of the current cell.
    base: [f64; SLOTS],
    delta: [f64; SLOTS],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(path: &'a Path) -> Self {
        let mut inv = [0.0; SLOTS];
        inv[..OCTAVES].copy_from_slice(&path.inv_period);
        Self {
            path,
            ready: false,
            cell: [0; SLOTS],
            start: [0; SLOTS],
            start_f: [0.0; SLOTS],
            inv,
            v1: [0.0; SLOTS],
            base: [0.0; SLOTS],
            delta: [0.0; SLOTS],
        }
    }

    fn enter_cell(&mut self, j: usize, t: i64) {
        let p = self.path;
        let period = p.period[j];
        let i = (t + p.phase[j]).div_euclid(period);
        let v0 = if self.ready && i == self.cell[j] + 1 {
            // Moving to the next cell: its left value is the old right value.
            self.v1[j]
        } else {
            p.lattice(j, i)
        };
        let v1 = p.lattice(j, i + 1);
        self.cell[j] = i;
        self.v1[j] = v1;
        self.start[j] = i * period - p.phase[j];
        self.start_f[j] = self.start[j] as f64;
        self.base[j] = p.amp[j] * v0;
        self.delta[j] = p.amp[j] * (v1 - v0);
    }

    pub(crate) fn log_at(&mut self, t: i64) -> f64 {
        for j in 0..OCTAVES {
            let d = t.wrapping_sub(self.start[j]);
            if !self.ready || d < 0 || d >= self.path.period[j] {
                self.enter_cell(j, t);
            }
        }
        self.ready = true;
        let tf = t as f64;
        let mut acc = [0.0f64; 4];
        for chunk in 0..SLOTS / 4 {
            for (lane, a) in acc.iter_mut().enumerate() {
                let j = chunk * 4 + lane;
                let f = (tf - self.start_f[j]) * self.inv[j];
                let s = f * f * (3.0 - 2.0 * f);
                *a += self.base[j] + self.delta[j] * s;
            }
        }
        self.path.ln_base + ((acc[0] + acc[1]) + (acc[2] + acc[3]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    #[test]
    fn same_seed_and_instant_give_the_same_price_and_seeds_differ() {
        let a = Path::new(42, "EURUSD", 1.08, 0.07);
        let b = Path::new(42, "EURUSD", 1.08, 0.07);
        let c = Path::new(43, "EURUSD", 1.08, 0.07);
        let d = Path::new(42, "GBPUSD", 1.08, 0.07);
        for t in [T0, T0 + 1, T0 + 86_400 * 400, -5_000] {
            assert_eq!(a.log_at(t).to_bits(), b.log_at(t).to_bits());
            assert_ne!(a.log_at(t), c.log_at(t));
            assert_ne!(a.log_at(t), d.log_at(t));
        }
    }

    #[test]
    fn cursor_agrees_with_random_access_in_any_order() {
        let p = Path::new(7, "XAUUSD", 2650.0, 0.15);
        let mut cur = Cursor::new(&p);
        for t in [
            T0,
            T0 + 1,
            T0 + 2,
            T0 + 50_000,
            T0 - 3,
            T0 + 4,
            T0 + 5,
            T0 + 6_000_000,
        ] {
            assert_eq!(
                cur.log_at(t).to_bits(),
                p.log_at(t).to_bits(),
                "bit-exact at {t}"
            );
        }
    }

    #[test]
    fn price_wanders_like_a_random_walk_but_stays_near_base() {
        let p = Path::new(1, "EURUSD", 1.08, 0.07);
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        let mut changes = 0;
        let mut prev = p.log_at(T0);
        for s in 1..20_000 {
            let v = p.log_at(T0 + s * 37);
            if (v - prev).abs() > 1e-9 {
                changes += 1;
            }
            prev = v;
            lo = lo.min(v);
            hi = hi.max(v);
        }
        assert!(changes > 19_000, "price must keep moving");
        let (lo, hi) = (lo.exp(), hi.exp());
        assert!(lo > 0.9 && hi < 1.3, "{lo}..{hi}");
        assert!(
            hi - lo > 0.002,
            "a week of EURUSD moves more than 20 pips: {lo}..{hi}"
        );
    }

    #[test]
    fn max_move_bounds_every_observed_move() {
        let p = Path::new(9, "BTCUSD", 95_000.0, 0.55);
        for dt in [1i64, 5, 60, 3_600, 86_400] {
            let bound = p.max_move(dt as f64);
            for k in 0..400 {
                let t = T0 + k * 7_919;
                let base = p.log_at(t);
                for d in [0, dt / 3, dt / 2, dt] {
                    assert!((p.log_at(t + d) - base).abs() <= bound + 1e-12, "dt {dt}");
                }
            }
        }
    }
}

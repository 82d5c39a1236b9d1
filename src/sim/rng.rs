//! A tiny seeded generator (xorshift64*): drills must replay exactly, and
//! the simulator needs nothing better than well-spread noise.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // A zero state would stay zero forever; mix the seed first.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    pub fn signed(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }

    /// A count of rare events expected `mean` times: Poisson, so errors
    /// arrive as real ones do (one in 580 requests, then none for a while)
    /// instead of as a smooth fraction. Knuth's method for small means, a
    /// rounded normal for large ones, where the two agree closely.
    pub fn poisson(&mut self, mean: f64) -> f64 {
        if mean <= 0.0 {
            return 0.0;
        }
        if mean > 30.0 {
            let normal = (-2.0 * (1.0 - self.unit()).ln()).sqrt()
                * (std::f64::consts::TAU * self.unit()).cos();
            return (mean + mean.sqrt() * normal).round().max(0.0);
        }
        let limit = (-mean).exp();
        let (mut k, mut p) = (0.0, self.unit());
        while p > limit {
            k += 1.0;
            p *= self.unit();
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_values_spread_over_the_unit_interval() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<f64> = (0..1000).map(|_| a.unit()).collect();
        assert!(xs.iter().all(|&x| x == b.unit()));
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "mean {mean}");
        assert_ne!(Rng::new(8).unit(), Rng::new(7).unit());
    }

    #[test]
    fn poisson_counts_have_the_mean_and_spread_they_should() {
        let mut r = Rng::new(11);
        for mean in [0.02, 3.0, 200.0] {
            let xs: Vec<f64> = (0..20_000).map(|_| r.poisson(mean)).collect();
            let m = xs.iter().sum::<f64>() / xs.len() as f64;
            let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64;
            assert!((m - mean).abs() < 0.05 * mean + 0.01, "mean {m} for {mean}");
            assert!(
                (var - mean).abs() < 0.1 * mean + 0.01,
                "variance {var} for {mean}"
            );
            assert!(xs.iter().all(|x| x.fract() == 0.0 && *x >= 0.0));
        }
    }

    #[test]
    fn seed_zero_still_moves() {
        let mut r = Rng::new(0);
        assert_ne!(r.next_u64(), r.next_u64());
    }
}

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every strategy uses: ChaCha8, whose output is fixed by its seed across
/// platforms and releases, so seeded studies reproduce.
pub type SeedRng = ChaCha8Rng;

/// A generator for one trial of a study: the same (seed, trial number) always gives the same
/// stream, and different trial numbers give independent streams. Strategies that draw per trial
/// from it stay reproducible whatever order trials finish in.
pub fn trial_rng(seed: u64, trial_number: u64) -> SeedRng {
    let mut rng = SeedRng::seed_from_u64(seed);
    rng.set_stream(trial_number);
    rng
}

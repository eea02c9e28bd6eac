//! `sim_explore`: property-based exploration of the adsync-sim world: random administrator sessions against invariants, shrinking any
//! failure to a minimal sequence written as a replayable scenario (docs/design.md §2 `scenario`
//! explorer; the idea of FoundationDB's and madsim's simulation tests).
//!
//! [`model`] is the reference state machine ([`Explorer`] implements proptest-state-machine's
//! `ReferenceStateMachine` over it), [`action`] turns its actions into command lines,
//! [`invariants`] are the checks, [`case`] runs one case against a world. [`explore`] runs many
//! cases from one seed: case `i` draws from its own stream derived from the seed and `i`, so
//! the verdict and count are the same for the same seed, and `--shard I/N` splits the cases of
//! one seed across machines without overlap.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod action;
pub mod case;
pub mod invariants;
pub mod model;
pub mod secrets;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use proptest_state_machine::ReferenceStateMachine;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

pub use case::{Session, run_case};
pub use invariants::Violation;
pub use model::{Action, BUILDS, Model, Setup};

use sim_core::adsync::build::KeysetEra;
use sim_core::scenario::format::WorldSpec;
use sim_core::scenario::{Evidence, Expect, Scenario, Step};
use sim_core::world::ServiceAccountKind;

/// The reference state machine: installs, then administrator actions with the model's
/// predictions.
#[derive(Debug, Clone, Copy)]
pub struct Explorer;

/// Every valid install: each build with each service account kind it supports on a member
/// server.
pub fn setups() -> Vec<Setup> {
    let mut out = Vec::new();
    for b in BUILDS {
        let managed = b
            .parse::<sim_core::adsync::build::Build>()
            .is_ok_and(|b| b.supports_managed_accounts());
        let kinds: &[ServiceAccountKind] = if managed {
            &[
                ServiceAccountKind::Virtual,
                ServiceAccountKind::Local,
                ServiceAccountKind::Domain,
                ServiceAccountKind::Gmsa,
            ]
        } else {
            &[ServiceAccountKind::Local, ServiceAccountKind::Domain]
        };
        for k in kinds {
            let setup = Setup {
                build: b.to_owned(),
                kind: *k,
                keyset_follows_dpapi: false,
            };
            // The opt-in option changes something only for accounts with a password outside
            // the registry era.
            let option_matters = setup.has_password() && setup.era() != KeysetEra::Registry;
            out.push(setup.clone());
            if option_matters {
                out.push(Setup {
                    keyset_follows_dpapi: true,
                    ..setup
                });
            }
        }
    }
    out
}

impl ReferenceStateMachine for Explorer {
    type State = Model;
    type Transition = Action;

    fn init_state() -> BoxedStrategy<Model> {
        proptest::sample::select(setups())
            .prop_map(Model::new)
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Action> {
        let mut options: Vec<(u32, BoxedStrategy<Action>)> = vec![
            (3, Just(Action::ScStart).boxed()),
            (3, Just(Action::ScStop).boxed()),
            (2, Just(Action::Miiskmu).boxed()),
            (2, Just(Action::ResetMsol).boxed()),
            (2, Just(Action::CloudResetSync).boxed()),
            (2, Just(Action::AddAadServiceAccount).boxed()),
            (3, Just(Action::SyncCycle).boxed()),
            (
                2,
                prop_oneof![Just(1u32), Just(13), Just(24 * 7 + 5), Just(24 * 45 + 7)]
                    .prop_map(|hours| Action::ClockAdvance { hours })
                    .boxed(),
            ),
            (1, Just(Action::DcDisconnect).boxed()),
            (1, Just(Action::DcConnect).boxed()),
        ];
        if state.ad.actual != 0 {
            options.push((2, Just(Action::SetAdConnectorPassword).boxed()));
        }
        if state.setup.has_password() {
            options.extend([
                (3, Just(Action::ResetServiceAccount).boxed()),
                (2, Just(Action::ChangeServiceAccount).boxed()),
                (3, Just(Action::ScConfigCurrent).boxed()),
                (1, Just(Action::ScConfigWrong).boxed()),
            ]);
        }
        proptest::strategy::Union::new_weighted(options).boxed()
    }

    fn preconditions(state: &Model, action: &Action) -> bool {
        state.applicable(action)
            && (!matches!(action, Action::SetAdConnectorPassword) || state.ad.actual != 0)
    }

    fn apply(mut state: Model, action: &Action) -> Model {
        state.apply(action);
        state
    }
}

/// What `scenario explore` runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExploreOptions {
    /// Cases in all (across shards).
    pub cases: u64,
    /// The seed.
    pub seed: u64,
    /// Most actions per case.
    pub steps: usize,
    /// This shard, 0-based, and the number of shards.
    pub shard: (u64, u64),
    /// Whether to remediate at the end of each case.
    pub remediate: bool,
}

/// A failure, shrunk.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// The case number.
    pub case: u64,
    /// The install.
    pub build: String,
    /// The service account kind.
    pub service_account: String,
    /// The invariant.
    pub invariant: String,
    /// What was seen.
    pub message: String,
    /// The minimal sequence, as lines.
    pub steps: Vec<String>,
    /// The scenario that replays it.
    #[serde(skip)]
    pub scenario: Scenario,
}

/// What a run of cases found.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Cases run (in this shard).
    pub cases: u64,
    /// The seed.
    pub seed: u64,
    /// Most actions per case.
    pub steps: usize,
    /// `I/N`, 1-based as given.
    pub shard: String,
    /// Actions run in all.
    pub actions: u64,
    /// The failures, by case.
    pub failures: Vec<Failure>,
}

/// Case `i`'s own random stream: SHA-256 of the seed and `i`.
fn case_rng(seed: u64, i: u64) -> TestRng {
    let mut h = Sha256::new();
    h.update(b"adsync-sim explore case");
    h.update(seed.to_le_bytes());
    h.update(i.to_le_bytes());
    let digest: [u8; 32] = h.finalize().into();
    TestRng::from_seed(RngAlgorithm::ChaCha, &digest)
}

/// The scenario that replays a case: the install, each step with the code the model predicts,
/// and, for end-of-case invariants, a final `remediate`.
pub fn case_scenario(
    seed: u64,
    case: u64,
    setup: &Setup,
    actions: &[Action],
    violation: Option<&Violation>,
) -> Scenario {
    let mut model = Model::new(setup.clone());
    let mut steps = Vec::new();
    for a in actions {
        let line = action::line(&model, a);
        let code = model.apply(a);
        steps.push(Step {
            run: line,
            expect: Some(Expect {
                exit: Some(code),
                ..Expect::default()
            }),
            source: None,
        });
    }
    if violation.is_some_and(|v| v.step >= actions.len()) {
        steps.push(Step {
            run: "remediate".into(),
            expect: Some(Expect {
                exit: Some(0),
                ..Expect::default()
            }),
            source: None,
        });
    }
    Scenario {
        name: format!("explore-{seed}-case-{case}"),
        summary: violation.map_or_else(
            || "An explored administrator session.".to_owned(),
            ToString::to_string,
        ),
        source: format!(
            "adsync-sim scenario explore --seed {seed} (case {case}); expectations from the reference model (sim-core explore::model)"
        ),
        evidence: Some(Evidence::Inf),
        world: WorldSpec {
            build: Some(setup.build.clone()),
            service_account: Some(setup.kind.as_str().to_owned()),
            seed: Some(seed),
            kdf_rounds: Some(1),
            keyset_follows_dpapi: setup.keyset_follows_dpapi.then_some(true),
            ..WorldSpec::default()
        },
        steps,
    }
}

/// Whether `actions` is a sequence an administrator can type from a fresh `setup` (each action
/// applicable where it stands).
fn valid(setup: &Setup, actions: &[Action]) -> bool {
    let mut m = Model::new(setup.clone());
    actions.iter().all(|a| {
        let ok = Explorer::preconditions(&m, a);
        m.apply(a);
        ok
    })
}

/// Shrinks a failing sequence to a 1-minimal one: drops actions one at a time (longest prefix
/// kept first) as long as the case still fails the same invariant and stays valid.
pub fn shrink(
    seed: u64,
    setup: &Setup,
    actions: Vec<Action>,
    remediate: bool,
    violation: Violation,
) -> (Vec<Action>, Violation) {
    let mut best = actions;
    let mut why = violation;
    // Everything after the failing step is irrelevant to a per-step invariant.
    if why.step < best.len() {
        best.truncate(why.step + 1);
    }
    loop {
        let mut improved = false;
        for i in (0..best.len()).rev() {
            let mut candidate = best.clone();
            candidate.remove(i);
            if !valid(setup, &candidate) {
                continue;
            }
            if let Err(v) = run_case(seed, setup, &candidate, remediate)
                && v.invariant == why.invariant
            {
                best = candidate;
                why = *v;
                if why.step < best.len() {
                    best.truncate(why.step + 1);
                }
                improved = true;
                break;
            }
        }
        if !improved {
            return (best, why);
        }
    }
}

/// Case `i`'s install and actions, drawn from the case's own stream.
fn draw_case(o: &ExploreOptions, i: u64) -> Option<(Model, Vec<Action>)> {
    let mut runner = TestRunner::new_with_rng(
        Config {
            failure_persistence: None,
            ..Config::default()
        },
        case_rng(o.seed, i),
    );
    let strategy = Explorer::sequential_strategy(1..=o.steps.max(1));
    let (model, actions, _) = strategy.new_tree(&mut runner).ok()?.current();
    Some((model, actions))
}

/// Runs case `i`: draws an install and a sequence from the case's own stream, runs it, and
/// shrinks a failure to a minimal sequence.
pub fn explore_case(o: &ExploreOptions, i: u64) -> (u64, Option<Failure>) {
    let Some((model, actions)) = draw_case(o, i) else {
        return (0, None);
    };
    let n = actions.len() as u64;
    let Err(v) = run_case(o.seed, &model.setup, &actions, o.remediate) else {
        return (n, None);
    };
    let (actions, v) = shrink(o.seed, &model.setup, actions, o.remediate, *v);
    let scenario = case_scenario(o.seed, i, &model.setup, &actions, Some(&v));
    (
        n,
        Some(Failure {
            case: i,
            build: model.setup.build.clone(),
            service_account: model.setup.kind.as_str().to_owned(),
            invariant: v.invariant.to_owned(),
            message: v.to_string(),
            steps: scenario.steps.iter().map(|s| s.run.clone()).collect(),
            scenario,
        }),
    )
}

/// How many cases shard `I/N` runs: case `i` belongs to shard `i % N`.
pub fn shard_len(o: &ExploreOptions) -> u64 {
    o.cases.saturating_sub(o.shard.0).div_ceil(o.shard.1.max(1))
}

/// The shard's `k`-th case (`k` below [`shard_len`]), computed rather than listed so that memory
/// stays flat however many cases a run has.
fn shard_case(o: &ExploreOptions, k: u64) -> u64 {
    o.shard.0 + k * o.shard.1.max(1)
}

/// Runs the shard's cases on `threads` threads, calling `progress` after each; results in case
/// order.
pub fn explore(o: &ExploreOptions, threads: usize, progress: &(dyn Fn() + Sync)) -> Summary {
    // A case's result is kept only when it failed: memory stays flat however many cases run.
    let shard_len = shard_len(o);
    let threads = threads.clamp(1, usize::try_from(shard_len).unwrap_or(usize::MAX).max(1));
    let next = std::sync::atomic::AtomicU64::new(0);
    let per_thread: Vec<(u64, u64, Vec<Failure>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let (mut ran, mut actions, mut failures) = (0u64, 0u64, Vec::new());
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if k >= shard_len {
                            break;
                        }
                        let (n, f) = explore_case(o, shard_case(o, k));
                        ran += 1;
                        actions += n;
                        failures.extend(f);
                        progress();
                    }
                    (ran, actions, failures)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut failures: Vec<Failure> = Vec::new();
    let (mut cases, mut actions) = (0, 0);
    for (ran, n, f) in per_thread {
        cases += ran;
        actions += n;
        failures.extend(f);
    }
    failures.sort_by_key(|f| f.case);
    Summary {
        cases,
        seed: o.seed,
        steps: o.steps,
        shard: format!("{}/{}", o.shard.0 + 1, o.shard.1.max(1)),
        actions,
        failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Session;
    use sim_core::scenario::runner::memory_sealer;
    use sim_core::world::World;

    /// The computed shard is exactly the cases `i` with `i mod N = I`.
    #[test]
    fn shards_partition_the_cases() {
        for (cases, n) in [(0u64, 1u64), (1, 3), (10, 3), (11, 4), (7, 7), (3, 5)] {
            for index in 0..n {
                let o = ExploreOptions {
                    cases,
                    seed: 0,
                    steps: 1,
                    shard: (index, n),
                    remediate: false,
                };
                let computed: Vec<u64> = (0..shard_len(&o)).map(|k| shard_case(&o, k)).collect();
                let listed: Vec<u64> = (0..cases).filter(|i| i % n == index).collect();
                assert_eq!(computed, listed, "{cases} cases, shard {index}/{n}");
            }
        }
    }

    /// Repeating steady sync cycles (`sim_core::world::sync::steady`) is exact: on random
    /// sessions, with weeks-long clock advances among them, the world after every step is the
    /// same, to the record id and the time of each event, as when every cycle runs in full.
    #[test]
    fn steady_cycles_leave_the_world_as_full_cycles_do() {
        let o = ExploreOptions {
            cases: 0,
            seed: 11,
            steps: 12,
            shard: (0, 1),
            remediate: false,
        };
        let mut long_advances = 0;
        for i in 0..300 {
            let (model, actions) = draw_case(&o, i).expect("a case");
            // Each its own world with its own copy of the sealer's nonce stream (clones of the
            // snapshot share one), so that both seal the same bytes.
            let own = |s: &Session| {
                World::from_state(s.world.state().clone(), memory_sealer(o.seed)).expect("world")
            };
            let mut fast = Session::new(o.seed, &model.setup).expect("install");
            fast.world = own(&fast);
            let mut full = Session::new(o.seed, &model.setup).expect("install");
            full.world = own(&full);
            full.world.run_every_cycle_in_full();
            for a in &actions {
                if matches!(a, Action::ClockAdvance { hours } if *hours > 24 * 7) {
                    long_advances += 1;
                }
                let (f, g) = (fast.step(a), full.step(a));
                assert_eq!(f.is_ok(), g.is_ok(), "case {i}, {a:?}");
                assert!(
                    fast.world.state() == full.world.state(),
                    "case {i}: the worlds differ after {a:?}"
                );
                if f.is_err() {
                    break;
                }
            }
        }
        assert!(long_advances > 20, "only {long_advances} long advances");
    }
}

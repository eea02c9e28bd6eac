//! Exploration: the reference model against the real world with proptest-state-machine (random
//! installs and administrator sessions over the whole action alphabet, every invariant after
//! every step), replays of explored cases through `scenario run`, and `scenario explore`
//! through the binary: the same seed gives the same summary, shards split without overlap.

use crate::support::{fresh_seed, run, text};
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use sim_core::scenario::run_scenario;
use sim_explore::{self as explore, Action, Explorer, Model, Session};

/// The world under test: an exploration session.
struct WorldMachine;

impl StateMachineTest for WorldMachine {
    type SystemUnderTest = Session;
    type Reference = Explorer;

    fn init_test(model: &Model) -> Session {
        Session::new(11, &model.setup).unwrap_or_else(|v| panic!("{v}"))
    }

    fn apply(mut session: Session, model: &Model, action: Action) -> Session {
        if let Err(v) = session.step(&action) {
            panic!("{v}");
        }
        assert_eq!(
            &session.model, model,
            "the session's model left the reference"
        );
        session
    }

    fn teardown(session: Session, _: Model) {
        if let Err(v) = session.finish(true) {
            panic!("{v}");
        }
    }
}

prop_state_machine! {
    #![proptest_config(crate::support::proptest_config(32))]
    #[test]
    fn the_world_follows_the_reference_model(sequential 1..24 => WorldMachine);
}

proptest! {
    #![proptest_config(crate::support::proptest_config(16))]
    /// An explored case written as a scenario replays through `scenario run` and passes: the
    /// model's predicted codes are what the world gives.
    #[test]
    fn explored_cases_replay_as_scenarios(
        (model, actions, _) in Explorer::sequential_strategy(1..16)
    ) {
        let s = explore::case_scenario(11, 0, &model.setup, &actions, None);
        let report = run_scenario("explored.toml", &s, None).unwrap();
        prop_assert!(report.passed(), "{}\n{:#?}", s.to_toml(), report.failed_step());
    }
}

fn summary(args: &[&str]) -> serde_json::Value {
    let mut full = vec!["--format", "json", "scenario", "explore"];
    full.extend_from_slice(args);
    let o = run(&full);
    assert!(o.status.code() == Some(0), "{args:?}: {}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
}

#[test]
fn the_same_seed_gives_the_same_summary_and_shards_split_the_cases() {
    let seed = fresh_seed();
    let a = summary(&["--cases", "60", "--seed", &seed]);
    let b = summary(&["--cases", "60", "--seed", &seed]);
    assert_eq!(a, b);
    assert_eq!(a["cases"], 60);
    assert_eq!(a["seed"].to_string(), seed);
    assert_eq!(a["failures"].as_array().unwrap().len(), 0, "{a:#}");
    let s1 = summary(&["--cases", "60", "--seed", &seed, "--shard", "1/2"]);
    let s2 = summary(&["--cases", "60", "--seed", &seed, "--shard", "2/2"]);
    assert_eq!(s1["cases"], 30);
    assert_eq!(s2["cases"], 30);
    assert_eq!(
        s1["actions"].as_u64().unwrap() + s2["actions"].as_u64().unwrap(),
        a["actions"].as_u64().unwrap(),
        "the shards' cases are not the whole run's"
    );
}

#[test]
fn bad_explore_options_are_named() {
    for (args, want) in [
        (
            vec!["--shard", "3/2"],
            "--shard must be I/N with 1 <= I <= N",
        ),
        (vec!["--shard", "x"], "--shard must be I/N"),
        (vec!["--steps", "0"], "--steps must be from 1 to 200"),
    ] {
        let mut full = vec!["scenario", "explore", "--cases", "1"];
        full.extend(args.iter().copied());
        let o = run(&full);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
    }
}

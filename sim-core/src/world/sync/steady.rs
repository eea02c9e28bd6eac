//! Steady sync cycles: a scheduled cycle that changed nothing but times (the run records' and
//! the scheduler's) writes the same events and leaves the same state at every later cycle, until
//! one of its clock-dependent inputs changes. A `clock advance` over weeks of a failing cycle
//! then costs its events, not a decryption, a credential-store parse and a password check per
//! run per cycle.
//!
//! This is an exact shortcut, not a model: the world after an advance is the same, to the byte,
//! as when every cycle runs in full (`world::tests` checks both ways on random sessions). A
//! cycle reads the state, the scheduler's policy and, through the clock, only whether each
//! account's password has expired ([`World::cycle_clock_inputs`]); the shortcut holds a cycle
//! only while those are what they were.

use crate::adsync::run::CycleInProgress;
use crate::filetime::FileTime;
use crate::win::eventlog::EventRecord;
use crate::world::{ADSYNC_SERVICE, Outcome, Program, World, WorldError, WorldState};

/// A cycle found to be steady, to be repeated.
#[derive(Debug)]
pub(in crate::world) struct SteadyCycle {
    /// When it ran.
    at: FileTime,
    /// Its clock-dependent inputs then.
    inputs: Vec<bool>,
    /// The events it wrote, in order.
    events: Vec<EventRecord>,
    /// The cycle it left running (`run_time`).
    in_progress: Option<CycleInProgress>,
}

/// The state as a cycle sees it: without the event logs and with every time a cycle stamps
/// (the clock, the run records', the scheduler's next and running cycle) cleared.
#[derive(PartialEq)]
pub(in crate::world) struct CycleView(WorldState);

/// When to look again for a steady cycle after a cycle that was not: looking costs two copies of
/// the state, so the gap doubles (1, 2, 4, … cycles) up to this many, which keeps the copies
/// a small share of an advance whose cycles keep changing something (a lockout counter
/// climbing to its threshold) while still finding the steady state soon after it begins.
pub(in crate::world) const MAX_STEADY_CHECK_GAP: u64 = 64;

impl World {
    /// Every input of a cycle that depends on the clock, at `at`: whether each account's
    /// password has expired (an AD connector's bind fails on an expired password, `rights`).
    pub(in crate::world) fn cycle_clock_inputs(&self, at: FileTime) -> Vec<bool> {
        (0..self.state.accounts.len())
            .map(|ai| self.password_expired_at(ai, at))
            .collect()
    }

    /// The state as a cycle sees it ([`CycleView`]).
    pub(in crate::world) fn cycle_view(&mut self) -> CycleView {
        let mut view = self.state_without_events();
        view.clock = FileTime(0);
        if let Some(Program::Engine(e)) = view.programs.get_mut(ADSYNC_SERVICE) {
            e.scheduler.next_cycle = FileTime(0);
            e.scheduler.in_progress = None;
            for a in &mut e.agents {
                if let Some(r) = &mut a.last_run {
                    r.time = FileTime(0);
                }
            }
        }
        CycleView(view)
    }

    /// The cycle that just ran at the current clock, found steady (its [`CycleView`] before and
    /// after were equal), which wrote `events`: what [`World::repeat_cycle`] repeats.
    pub(in crate::world) fn steady_cycle(&self, events: &[EventRecord]) -> SteadyCycle {
        let at = self.state.clock;
        SteadyCycle {
            at,
            inputs: self.cycle_clock_inputs(at),
            events: events.to_vec(),
            in_progress: self
                .engine()
                .ok()
                .and_then(|e| e.scheduler.in_progress.clone()),
        }
    }

    /// Whether `steady` is what a cycle at the current clock would do.
    pub(in crate::world) fn steady_holds(&self, steady: &SteadyCycle) -> bool {
        self.cycle_clock_inputs(self.state.clock) == steady.inputs
    }

    /// Runs `steady` again at the current clock: what [`World::scheduled_cycle`] would do.
    pub(in crate::world) fn repeat_cycle(
        &mut self,
        steady: &SteadyCycle,
        out: &mut Outcome,
    ) -> Result<(), WorldError> {
        let now = self.state.clock;
        for e in &steady.events {
            let rec = self.state.events.write_like(now, e);
            out.events.push(rec);
        }
        let shift = |t: FileTime| FileTime(t.0.saturating_sub(steady.at.0).saturating_add(now.0));
        let engine = self.engine_mut()?;
        for a in &mut engine.agents {
            if let Some(r) = &mut a.last_run {
                r.time = now;
            }
        }
        engine.scheduler.in_progress = steady.in_progress.as_ref().map(|c| CycleInProgress {
            started: shift(c.started),
            ends: c.ends.iter().map(|(n, t)| (n.clone(), shift(*t))).collect(),
        });
        engine.scheduler.reschedule(now);
        Ok(())
    }
}

//! The simulated clock: `clock advance`, with the scheduler's cycles and the gMSA rotations
//! that fall inside the advance, bounded by [`MAX_SYNC_CYCLES_PER_ADVANCE`].

use rand_core::Rng;
use serde_json::json;
use zeroize::Zeroizing;

use super::sync::{MAX_STEADY_CHECK_GAP, SteadyCycle};
use super::{Limit, MAX_SYNC_CYCLES_PER_ADVANCE, Outcome, Stream, World, WorldError};
use crate::win::account::{GMSA_PASSWORD_LEN, GMSA_ROTATION_DAYS};

impl World {
    /// Moves the clock: gMSA passwords rotate on their 30-day schedule and the sync scheduler
    /// runs its cycles, each at its own time, in order.
    pub(in crate::world) fn clock_advance(
        &mut self,
        secs: u64,
        rng: &mut Stream,
    ) -> Result<Outcome, WorldError> {
        self.check_advance(secs)?;
        let target = self.state.clock.plus_secs(secs);
        let mut out = Outcome::default();
        let mut cycles = 0u64;
        // A steady cycle to repeat (`sync::steady`), and when to look for one next.
        let mut steady: Option<SteadyCycle> = None;
        let (mut next_check, mut gap) = (0u64, 1u64);
        loop {
            if cycles > MAX_SYNC_CYCLES_PER_ADVANCE {
                // `check_advance` counted them: only a damaged scheduler gets here.
                return Err(WorldError::SchedulerRunaway {
                    max: MAX_SYNC_CYCLES_PER_ADVANCE,
                });
            }
            let gmsa = self
                .state
                .accounts
                .iter()
                .enumerate()
                .filter(|(_, a)| a.kind.is_managed())
                .map(|(i, a)| (a.password_last_set.plus_days(GMSA_ROTATION_DAYS), i))
                .filter(|(t, _)| *t <= target)
                .min();
            let cycle = self.next_cycle_due(target);
            let gmsa_first = match (gmsa, cycle) {
                (None, None) => break,
                (Some((g, _)), Some(c)) => g <= c,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if let (true, Some((when, idx))) = (gmsa_first, gmsa) {
                // A gMSA rotation is a password change: the old password is known.
                self.state.clock = when;
                let name = self.state.accounts[idx].name.clone();
                let old = self.managed_password(&name)?;
                let mut new = Zeroizing::new(vec![0u8; GMSA_PASSWORD_LEN]);
                rng.0.fill_bytes(&mut new);
                self.change_password_utf16(idx, &old, &new, rng)?;
                self.seal_managed_password(&name, &new);
                steady = None;
                (next_check, gap) = (cycles, 1);
            } else if let Some(when) = cycle {
                self.state.clock = when;
                match steady.as_ref().filter(|s| self.steady_holds(s)) {
                    Some(s) => self.repeat_cycle(s, &mut out)?,
                    None if self.steady_shortcut && cycles >= next_check => {
                        let before = self.cycle_view();
                        let written = out.events.len();
                        self.scheduled_cycle(&mut out)?;
                        steady = (self.cycle_view() == before)
                            .then(|| self.steady_cycle(&out.events[written..]));
                        if steady.is_none() {
                            next_check = cycles + gap;
                            gap = (gap * 2).min(MAX_STEADY_CHECK_GAP);
                        }
                    }
                    None => {
                        steady = None;
                        self.scheduled_cycle(&mut out)?;
                    }
                }
                cycles += 1;
            }
        }
        self.state.clock = target;
        out.text = format!("Clock is now {}", self.state.clock);
        if cycles > 0 {
            out.text
                .push_str(&format!("\n{cycles} scheduled sync cycle(s) ran."));
        }
        out.json = json!({"clock": self.state.clock.to_string(), "sync_cycles": cycles});
        Ok(out)
    }

    /// Whether `clock advance` by `secs` stays within the limits: the clock's maximum
    /// ([`crate::win::clock::MAX_CLOCK_UNIX`]) and the scheduled cycles one command may run
    /// ([`MAX_SYNC_CYCLES_PER_ADVANCE`]). Checked before anything changes.
    pub fn check_advance(&self, secs: u64) -> Result<(), WorldError> {
        let max = crate::win::clock::max_clock();
        let target = self.state.clock.plus_secs(secs);
        if target > max {
            return Err(WorldError::Limit(Limit::ClockEnd {
                max,
                now: self.state.clock,
            }));
        }
        let cycles = self.sync_cycles_due(target);
        if cycles > MAX_SYNC_CYCLES_PER_ADVANCE {
            return Err(WorldError::Limit(Limit::SyncCycles { secs, cycles }));
        }
        Ok(())
    }
}

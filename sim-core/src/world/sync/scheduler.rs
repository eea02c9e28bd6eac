//! The sync scheduler: the 30-minute cycle, `Get-ADSyncScheduler` and
//! `Set-ADSyncScheduler -SyncCycleEnabled`.
//!
//! Follows `docs/adsync.md` §5 (the scheduler and its cmdlets).

use serde_json::{Value, json};

use crate::adsync::run::SYNC_CYCLE_MINUTES;
use crate::adsync::text;
use crate::filetime::FileTime;
use crate::world::{Outcome, World, WorldError};

impl World {
    /// The scheduler's cycles due up to `until` (called as the clock advances): a cycle every
    /// 30 minutes while the service runs and `SyncCycleEnabled` is true. The scheduler lives in
    /// the service (`docs/adsync.md` §5.3), so no cycle runs, and none is stamped, while it is
    /// stopped; a cycle due in the past runs once, now.
    pub(in crate::world) fn next_cycle_due(&self, until: FileTime) -> Option<FileTime> {
        let e = self.engine().ok()?;
        // A cycle due while another runs waits for it to end (`run_time`).
        let due = e
            .scheduler
            .next_cycle
            .max(self.state.clock)
            .max(self.cycle_end().unwrap_or(self.state.clock));
        (self.adsync_running() && e.scheduler.sync_cycle_enabled && due <= until).then_some(due)
    }

    /// After the service starts: the cycles missed while it was stopped collapse into one,
    /// due now. Named choice (INF, `docs/adsync.md` §5.3): the scheduler keeps one next-cycle
    /// time (`NextSyncCycleStartTimeInUTC`), not a queue of missed cycles.
    pub(in crate::world) fn scheduler_resume(&mut self) {
        let now = self.state.clock;
        if let Ok(e) = self.engine_mut()
            && e.scheduler.next_cycle < now
        {
            e.scheduler.next_cycle = now;
        }
    }

    /// How many scheduled cycles an advance to `until` would run at most (the service keeps
    /// running through an advance, so this is the count unless a cycle stops it).
    pub(in crate::world) fn sync_cycles_due(&self, until: FileTime) -> u64 {
        let interval = SYNC_CYCLE_MINUTES * 60 * 10_000_000;
        self.next_cycle_due(until)
            .map_or(0, |next| (until.0 - next.0) / interval + 1)
    }

    /// Runs the scheduled cycle at the current clock.
    pub(in crate::world) fn scheduled_cycle(
        &mut self,
        out: &mut Outcome,
    ) -> Result<(), WorldError> {
        let policy = self.engine()?.scheduler.next_policy;
        self.cycle(policy, out)?;
        let now = self.state.clock;
        self.engine_mut()?.scheduler.reschedule(now);
        Ok(())
    }

    /// `Get-ADSyncScheduler` (`docs/adsync.md` §5.3 lists its properties).
    pub(in crate::world) fn get_scheduler(&self) -> Result<Outcome, WorldError> {
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running("Get-ADSyncScheduler")));
        }
        let s = &self.engine()?.scheduler;
        let interval = "00:30:00";
        let rows = [
            ("AllowedSyncCycleInterval", interval.to_owned()),
            ("CurrentlyEffectiveSyncCycleInterval", interval.to_owned()),
            ("CustomizedSyncCycleInterval", String::new()),
            ("NextSyncCyclePolicyType", s.next_policy.as_str().to_owned()),
            ("NextSyncCycleStartTimeInUTC", s.next_cycle.to_string()),
            ("PurgeRunHistoryInterval", "7.00:00:00".to_owned()),
            ("SyncCycleEnabled", ps_bool(s.sync_cycle_enabled)),
            ("MaintenanceEnabled", ps_bool(true)),
            ("StagingModeEnabled", ps_bool(false)),
            ("SchedulerSuspended", ps_bool(false)),
            ("SyncCycleInProgress", ps_bool(self.cycle_in_progress())),
        ];
        let text = rows
            .iter()
            .map(|(k, v)| format!("{k:<37} : {v}"))
            .collect::<Vec<_>>()
            .join("\n");
        let json: serde_json::Map<String, Value> = rows
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        Ok(Outcome {
            code: 0,
            text,
            json: Value::Object(json),
            events: vec![],
        })
    }

    /// `Set-ADSyncScheduler -SyncCycleEnabled B`.
    pub(in crate::world) fn set_scheduler(&mut self, enabled: bool) -> Result<Outcome, WorldError> {
        if !self.adsync_running() {
            return Ok(self.not_running(text::cmdlet_not_running("Set-ADSyncScheduler")));
        }
        let now = self.state.clock;
        let s = &mut self.engine_mut()?.scheduler;
        if enabled && !s.sync_cycle_enabled {
            s.reschedule(now);
        }
        s.sync_cycle_enabled = enabled;
        Ok(Outcome {
            code: 0,
            text: String::new(),
            json: json!({"SyncCycleEnabled": enabled}),
            events: vec![],
        })
    }
}

/// PowerShell's spelling of a boolean.
fn ps_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_owned()
}

//! The human-readable reports of `diagnose` and `remediate`: what was seen, what is wrong and
//! why (with the article section), and what ran. Passwords appear only as references.

use std::fmt::Write as _;

use super::{Diagnosis, Plan, Remediation};

fn service_line(d: &Diagnosis) -> String {
    match &d.service {
        None => "not installed".to_owned(),
        Some(s) => {
            let mut line = format!("{} {}", s.name, s.state.as_str());
            if s.win32_exit_code != 0 {
                // Spelled as `sc query` prints the codes.
                let _ = write!(
                    line,
                    " (WIN32_EXIT_CODE {}",
                    crate::win::text::exit_code(s.win32_exit_code)
                );
                if s.service_exit_code != 0 {
                    let _ = write!(
                        line,
                        ", SERVICE_EXIT_CODE {}",
                        crate::win::text::exit_code(s.service_exit_code)
                    );
                }
                line.push(')');
            }
            let _ = write!(line, ", logon account {}", s.account);
            line
        }
    }
}

impl Diagnosis {
    /// The report `adsync-sim diagnose` prints: the server, the findings with their evidence
    /// and sources, and the plan.
    pub fn render(&self, plan: &Plan) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Host: {}{}",
            self.host,
            self.build
                .as_deref()
                .map(|b| format!(", ADSync build {b}"))
                .unwrap_or_default()
        );
        let _ = writeln!(out, "Service: {}", service_line(self));
        if let Some(d) = &self.domain {
            let _ = writeln!(
                out,
                "Domain: {} ({}), writable DC {}",
                d.dns,
                d.netbios,
                if d.dc_reachable {
                    "reachable"
                } else {
                    "unreachable"
                }
            );
        }
        if !self.connectors.is_empty() {
            out.push_str("Connectors:\n");
            for c in &self.connectors {
                let _ = writeln!(
                    out,
                    "  {:<34} {:<6} {:<52} {}",
                    c.name,
                    c.kind.as_str(),
                    c.account,
                    c.last_run.as_deref().unwrap_or("-")
                );
            }
        }
        out.push('\n');
        if self.healthy() {
            out.push_str(
                "No symptoms: the service is running and no connector's last run failed.\n",
            );
            return out;
        }
        let n = self.findings.len();
        let _ = writeln!(out, "{n} finding{}:", if n == 1 { "" } else { "s" });
        for f in &self.findings {
            let _ = writeln!(out, "[{}] {}", f.cause.id(), f.summary);
            for e in &f.evidence {
                let _ = writeln!(out, "  evidence: {e}");
            }
            let _ = writeln!(out, "  source:   {}", f.source);
        }
        out.push('\n');
        render_plan(&mut out, plan);
        out
    }
}

fn render_plan(out: &mut String, plan: &Plan) {
    if !plan.steps.is_empty() {
        out.push_str("Plan (`adsync-sim remediate` runs it and verifies):\n");
        for (i, s) in plan.steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, s.run);
            let _ = writeln!(out, "     {}", s.why);
            let _ = writeln!(out, "     follows {}", s.source);
        }
    }
    for m in &plan.missing {
        let _ = writeln!(
            out,
            "Needs the password of {} (for {}): give it with --credential '{}=PASSWORD'.",
            m.account, m.needed_for, m.account
        );
    }
    for u in &plan.unfixable {
        let _ = writeln!(
            out,
            "No documented procedure fixes this from the server: {u}"
        );
    }
}

impl Remediation {
    /// The report `adsync-sim remediate` prints: each round's findings and the steps that ran
    /// with their result codes, the verification, and the verdict.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.dry_run {
            if let Some(round) = self.rounds.first() {
                out.push_str("Dry run: nothing was changed.\n\n");
                out.push_str(&round.diagnosis.render(&round.plan));
            }
            return out;
        }
        let _ = writeln!(out, "Host: {}", self.host);
        for (i, round) in self.rounds.iter().enumerate() {
            let causes: Vec<&str> = round
                .diagnosis
                .findings
                .iter()
                .map(|f| f.cause.id())
                .collect();
            let _ = writeln!(
                out,
                "Round {}: {}",
                i + 1,
                if causes.is_empty() {
                    "no symptoms".to_owned()
                } else {
                    causes.join(", ")
                }
            );
            for s in &round.ran {
                let _ = writeln!(out, "  {} -> {}", s.run, s.code);
                if s.code != 0 && !s.output.is_empty() {
                    let _ = writeln!(out, "     {}", s.output);
                }
            }
            if round.ran.is_empty() && !round.diagnosis.healthy() {
                render_plan(&mut out, &round.plan);
            }
        }
        if let Some(v) = &self.verification {
            let _ = writeln!(
                out,
                "Verification: service {}; Start-ADSyncSyncCycle -PolicyType Delta -> {}",
                v.service.map_or("not installed", |s| s.as_str()),
                v.cycle_code
                    .map_or_else(|| "not run".to_owned(), |c| c.to_string())
            );
            for c in &v.connectors {
                let _ = writeln!(
                    out,
                    "  {:<34} {}",
                    c.name,
                    c.last_run.as_deref().unwrap_or("-")
                );
            }
        }
        if self.healthy {
            out.push_str("Healthy: the service is running and every connector's run succeeds.\n");
        } else {
            let _ = writeln!(
                out,
                "Not healthy: {}",
                self.stopped.as_deref().unwrap_or("the verification failed")
            );
        }
        out
    }
}

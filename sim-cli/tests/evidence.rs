//! Evidence bundles (docs/design.md §8): after every step of every catalogue scenario and lab, the
//! bundle `export` writes for the world, read back through `EvidenceHost`, gives the same
//! diagnosis (service, build, domain, connectors, every finding with its evidence and source)
//! and the same plan as the live diagnosis of the world. The administrator's knowledge (which
//! passwords they know, who the Global Administrator is) is not on the server, so both sides
//! take it from the world.

use std::path::Path;

use sim_core::adsync::build::Build;
use sim_core::backend::{ConnectorStatus, DomainStatus, Host, HostError, ServiceStatus, SimHost};
use sim_core::command::{self, Command, Secret};
use sim_core::evidence::{EvidenceHost, export::bundle_of_world};
use sim_core::remedy;
use sim_core::scenario::{Scenario, run_scenario_observed};
use sim_core::seal::Sealer;
use sim_core::win::eventlog::EventRecord;
use sim_core::world::{Outcome, World};

/// The bundle's view of the server, with the administrator's knowledge of the simulated world.
struct Knowing<'w> {
    evidence: EvidenceHost,
    admin: SimHost<'w>,
}

impl Host for Knowing<'_> {
    fn describe(&self) -> String {
        self.evidence.describe()
    }
    fn run(&mut self, command: &Command) -> Result<Outcome, HostError> {
        self.evidence.run(command)
    }
    fn service_status(&mut self, name: &str) -> Result<Option<ServiceStatus>, HostError> {
        self.evidence.service_status(name)
    }
    fn events(&mut self) -> Result<Vec<EventRecord>, HostError> {
        self.evidence.events()
    }
    fn connectors(&mut self) -> Result<Vec<ConnectorStatus>, HostError> {
        self.evidence.connectors()
    }
    fn domain(&mut self) -> Result<Option<DomainStatus>, HostError> {
        self.evidence.domain()
    }
    fn adsync_build(&mut self) -> Result<Option<Build>, HostError> {
        self.evidence.adsync_build()
    }
    fn global_administrator(&self) -> Option<String> {
        self.admin.global_administrator()
    }
    fn known_password(&self, account: &str) -> Result<Option<Secret>, HostError> {
        self.admin.known_password(account)
    }
    fn new_password(&mut self) -> Secret {
        self.admin.new_password()
    }
}

/// Diagnoses `world` live and through its exported bundle; panics with both unless they agree.
/// Returns the cause ids.
fn agree(label: &str, world: &World) -> Vec<&'static str> {
    let mut live_world = world.clone();
    let mut live = SimHost::new(&mut live_world);
    let d_live = remedy::diagnose(&mut live).unwrap_or_else(|e| panic!("{label}: {e}"));
    let p_live = remedy::plan(&d_live, &live);

    let bundle = bundle_of_world(world).unwrap_or_else(|e| panic!("{label}: export: {e}"));
    let evidence =
        EvidenceHost::from_bundle(&bundle).unwrap_or_else(|e| panic!("{label}: read back: {e}"));
    let mut admin_world = world.clone();
    let mut host = Knowing {
        evidence,
        admin: SimHost::new(&mut admin_world),
    };
    let d_ev = remedy::diagnose(&mut host).unwrap_or_else(|e| panic!("{label}: {e}"));
    let p_ev = remedy::plan(&d_ev, &host);

    let show = |d: &remedy::Diagnosis, p: &remedy::Plan| {
        format!(
            "{}\n{}",
            serde_json::to_string_pretty(d).unwrap(),
            serde_json::to_string_pretty(p).unwrap()
        )
    };
    assert_eq!(d_live.service, d_ev.service, "{label}: service");
    assert_eq!(d_live.build, d_ev.build, "{label}: build");
    assert_eq!(d_live.domain, d_ev.domain, "{label}: domain");
    assert_eq!(d_live.connectors, d_ev.connectors, "{label}: connectors");
    assert_eq!(
        d_live.findings,
        d_ev.findings,
        "{label}: findings differ\nlive:\n{}\nevidence:\n{}",
        show(&d_live, &p_live),
        show(&d_ev, &p_ev)
    );
    assert_eq!(p_live, p_ev, "{label}: plans differ");
    assert!(
        host.evidence.unknown().is_empty(),
        "{label}: an exported bundle lacks nothing, yet: {:?}",
        host.evidence.unknown()
    );
    d_ev.findings.iter().map(|f| f.cause.id()).collect()
}

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = crate::support::all_files(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn evidence_diagnosis_agrees_with_live_after_every_step_of_every_scenario() {
    let mut causes = std::collections::BTreeSet::new();
    let mut points = 0;
    let scenarios = files("../scenarios/failures");
    assert!(scenarios.len() >= 12);
    for p in &scenarios {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(p).unwrap();
        let s = Scenario::parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        let mut observe = |i: usize, w: &World| {
            causes.extend(agree(&format!("{name} after step {i}"), w));
            points += 1;
        };
        let report = run_scenario_observed(&name, &s, None, &mut observe).unwrap();
        assert!(report.passed(), "{name} failed");
    }
    for want in [
        "service-logon-password",
        "encryption-key-unreadable",
        "ad-connector-credentials",
        "entra-connector-credentials",
        "service-stopped",
    ] {
        assert!(
            causes.contains(want),
            "no point diagnosed {want}: {causes:?}"
        );
    }
    assert!(points > scenarios.len());
}

#[test]
fn evidence_diagnosis_agrees_with_live_through_every_lab() {
    let labs = files("../scenarios/labs");
    assert!(!labs.is_empty());
    for p in &labs {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(p).unwrap();
        let lab = sim_core::lab::Lab::parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        let seed = lab.def.world.seed.unwrap_or(0);
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        let started = sim_core::lab::start(&lab, Sealer::in_memory(key))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (mut world, values) = (started.world, started.values);
        let broken = agree(&format!("{name} broken"), &world);
        assert!(
            !broken.is_empty(),
            "{name}: the broken lab diagnoses healthy"
        );
        for (i, line) in lab.def.lab.solution.iter().enumerate() {
            let line = values.fill(line).unwrap();
            let c = command::parse_line(&line).unwrap_or_else(|e| panic!("{name}: {e}"));
            let _ = world.exec(&c);
            agree(&format!("{name} after solution step {}", i + 1), &world);
        }
    }
}

mod parsers {
    //! Every evidence parser against arbitrary input: a value or a clear error naming the file,
    //! never a panic (bounded: the inputs are small and the limits are the parsers' own).

    use proptest::prelude::*;
    use sim_core::evidence::wevtutil::{self, XmlEvent};
    use sim_core::evidence::{Bundle, EvidenceHost, FILES, sc};
    use sim_core::filetime::FileTime;

    fn text() -> impl Strategy<Value = String> {
        // Printable text with the characters XML must escape, quotes and line ends.
        proptest::string::string_regex("[ -~\u{e9}\u{4e2d}\r\n\t<>&'\"]{0,40}").unwrap()
    }

    fn nonempty() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[A-Za-z][ -~]{0,20}").unwrap()
    }

    prop_compose! {
        fn event()(
            provider in nonempty(),
            guid in proptest::option::of(nonempty()),
            id in any::<u16>(),
            qualifiers in proptest::option::of(any::<u16>()),
            level in 0u8..6,
            ticks in 0u64..(1u64 << 60),
            record_id in any::<u64>(),
            channel in nonempty(),
            computer in text(),
            data in proptest::collection::vec(text(), 0..5),
            rendered in proptest::option::of(text()),
        ) -> XmlEvent {
            XmlEvent {
                event_source_name: guid.as_ref().map(|_| provider.clone()),
                provider,
                provider_guid: guid,
                id: u32::from(id),
                qualifiers,
                level,
                keywords: "0x80000000000000".into(),
                time: FileTime(ticks),
                record_id,
                channel,
                computer,
                data,
                binary: None,
                rendered,
            }
        }
    }

    proptest! {
        #![proptest_config(crate::support::proptest_config(256))]

        #[test]
        fn wevtutil_lines_read_back(events in proptest::collection::vec(event(), 0..4)) {
            let text: String = events.iter().map(|e| wevtutil::to_line(e) + "\r\n").collect();
            prop_assert!(!events.iter().any(|e| wevtutil::to_line(e).contains('\n')));
            let back = wevtutil::parse("events/System.xml", text.as_bytes()).unwrap();
            // Trailing/leading spaces of numbers aside, everything comes back as written.
            prop_assert_eq!(back, events);
        }

        #[test]
        fn wevtutil_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(e) = wevtutil::parse("events/System.xml", &bytes) {
                prop_assert!(e.to_string().contains("events/System.xml"));
            }
        }

        #[test]
        fn wevtutil_mutated_lines_never_panic(e in event(), at in any::<prop::sample::Index>(), b in any::<u8>(), cut in any::<prop::sample::Index>()) {
            let mut bytes = wevtutil::to_line(&e).into_bytes();
            let i = at.index(bytes.len());
            bytes[i] = b;
            bytes.truncate(cut.index(bytes.len() + 1).max(i));
            let _ = wevtutil::parse("f", &bytes);
        }

        #[test]
        fn sc_texts_never_panic(text in proptest::string::string_regex("([A-Z_0-9]{1,20} *: *[ -~]{0,20}\n){0,12}").unwrap()) {
            let _ = sc::parse_qc("scm/ADSync.qc.txt", &text);
            let _ = sc::parse_queryex("scm/ADSync.queryex.txt", &text);
        }

        #[test]
        fn bundles_never_panic(parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..6)) {
            let mut bundle = Bundle::default();
            for (file, part) in FILES.iter().zip(parts) {
                bundle.put(file, part);
            }
            if let Ok(mut host) = EvidenceHost::from_bundle(&bundle) {
                let _ = sim_core::remedy::diagnose(&mut host);
            }
        }
    }

    #[test]
    fn a_hand_made_manifest_with_garbage_is_refused_by_name() {
        let mut b = Bundle::default();
        b.put(
            "manifest.json",
            b"{\"format\": \"adsync-evidence/2\", \"computer\": \"x\", \"collected\": \"y\"}"
                .to_vec(),
        );
        b.put("scm/ADSync.qc.txt", sc::missing_text());
        b.put("scm/ADSync.queryex.txt", sc::missing_text());
        let e = EvidenceHost::from_bundle(&b).unwrap_err().to_string();
        assert!(
            e.contains("manifest.json") && e.contains("adsync-evidence/2"),
            "{e}"
        );
        b.put("manifest.json", vec![b'['; 100_000]);
        let e = EvidenceHost::from_bundle(&b).unwrap_err().to_string();
        assert!(e.contains("manifest.json"), "{e}");
        b.files.remove("manifest.json");
        let e = EvidenceHost::from_bundle(&b).unwrap_err().to_string();
        assert_eq!(
            e,
            "the evidence bundle has no manifest.json: it says which format, server and time the bundle is"
        );
    }
}

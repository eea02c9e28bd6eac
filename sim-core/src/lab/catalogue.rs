//! The labs shipped in `scenarios/labs/`, built into the binary so `lab list` works from any
//! directory (`lab --labs DIR` reads a folder instead).

use super::format::LabError;
use super::run::Lab;

/// The built-in lab files: their path in the repository and their text.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "scenarios/labs/01-old-build-service-account-reset.toml",
        include_str!("../../../scenarios/labs/01-old-build-service-account-reset.toml"),
    ),
    (
        "scenarios/labs/02-service-account-reset-april-2017-build.toml",
        include_str!("../../../scenarios/labs/02-service-account-reset-april-2017-build.toml"),
    ),
    (
        "scenarios/labs/03-ad-ds-connector-password-changed.toml",
        include_str!("../../../scenarios/labs/03-ad-ds-connector-password-changed.toml"),
    ),
    (
        "scenarios/labs/04-entra-service-account-reset.toml",
        include_str!("../../../scenarios/labs/04-entra-service-account-reset.toml"),
    ),
    (
        "scenarios/labs/05-wrong-scm-password.toml",
        include_str!("../../../scenarios/labs/05-wrong-scm-password.toml"),
    ),
    (
        "scenarios/labs/06-two-faults-scm-and-entra.toml",
        include_str!("../../../scenarios/labs/06-two-faults-scm-and-entra.toml"),
    ),
];

/// The built-in labs, parsed.
pub fn builtin() -> Result<Vec<Lab>, LabError> {
    BUILTIN.iter().map(|(f, t)| Lab::parse(f, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_lab_parses() {
        assert!(builtin().unwrap().len() >= 6);
    }

    #[test]
    fn every_builtin_lab_starts_broken_and_its_solution_works() {
        for lab in builtin().unwrap() {
            let r = super::super::run::verify(&lab);
            assert!(r.passed(), "{}: {:#?}", lab.file, r);
        }
    }
}

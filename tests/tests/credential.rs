//! The CREDENTIAL structure: real Credential Manager plaintexts, round trips, oracles.

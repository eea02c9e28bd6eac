//! The CREDENTIAL structure inside a Credential Manager file.

//! The decrypted ADSync encryption keyset (`research/adsync.md` §3.3).

//! The encrypted connector credentials (`research/adsync.md` §3.1, §3.4).

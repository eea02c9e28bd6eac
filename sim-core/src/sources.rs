//! The public sources the simulator cites to its users: the five Microsoft articles whose texts,
//! event IDs and procedures it reproduces, as a reader can find them (title as published, date,
//! public address where one exists).
//!
//! Scenario and lab files, `diagnose`/`remediate` plans and error hints cite these by title and
//! section heading; `docs/sources.md` says, in the project's own words, what each article
//! contains, and `docs/adsync.md` and `docs/dpapi.md` hold the project's notes on the rest.

/// "Microsoft Entra Connect Sync: Changing the ADSync service account password", the current
/// article (ms.date 2023-01-26).
pub const ARTICLE_2023: &str = "\"Microsoft Entra Connect Sync: Changing the ADSync service account password\" (2023-01-26, https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-change-serviceacct-pass)";

/// "Azure AD Connect sync: Changing the Azure AD Connect Sync service account password", the 2017
/// revision of the article [`ARTICLE_2023`] replaced (ms.date 2017-04-03).
pub const ARTICLE_SERVICE_2017: &str = "\"Azure AD Connect sync: Changing the Azure AD Connect Sync service account password\" (2017-04-03, the 2017 revision of https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-change-serviceacct-pass)";

/// "Azure AD Connect sync: How to manage the encryption key" (ms.date 2017-03-26; retired, no
/// current address).
pub const ARTICLE_KEY_2017: &str =
    "\"Azure AD Connect sync: How to manage the encryption key\" (2017-03-26, retired)";

/// "Azure AD Connect sync: Changing the AD DS account password" (ms.date 2017-07-12).
pub const ARTICLE_AD_DS: &str = "\"Azure AD Connect sync: Changing the AD DS account password\" (2017-07-12, https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-sync-change-addsacct-pass)";

/// "Azure AD Connect sync: How to manage the Azure AD service account" (ms.date 2017-02-08;
/// retired, no current address).
pub const ARTICLE_ENTRA: &str =
    "\"Azure AD Connect sync: How to manage the Azure AD service account\" (2017-02-08, retired)";

/// The project's notes on ADSync's storage, failure modes and version matrix, in the repository.
pub const NOTES_ADSYNC: &str = "docs/adsync.md";

/// The project's notes on DPAPI's formats and key derivations, in the repository.
pub const NOTES_DPAPI: &str = "docs/dpapi.md";

/// Every seed article, in the order `docs/sources.md` lists them.
pub const ARTICLES: [&str; 5] = [
    ARTICLE_SERVICE_2017,
    ARTICLE_2023,
    ARTICLE_KEY_2017,
    ARTICLE_ENTRA,
    ARTICLE_AD_DS,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A citation a reader can follow: a quoted title and a date, and an address where the
    /// article is still published; never a path outside the repository.
    #[test]
    fn every_article_is_cited_by_title_and_date() {
        for a in ARTICLES {
            assert!(a.starts_with('"'), "{a}");
            assert!(a.contains("\" (20"), "{a}");
            assert!(
                a.contains("https://learn.microsoft.com/") || a.ends_with(", retired)"),
                "{a}"
            );
            assert!(!a.contains("research/") && !a.contains(".md"), "{a}");
        }
    }
}

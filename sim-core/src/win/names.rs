//! Names as Active Directory and DNS accept them: forest (domain) names and tenant domains by
//! the DNS host-name rules (RFC 1035 §2.3.4 lengths, RFC 1123 §2.1 labels), account names by
//! the `sAMAccountName` rules. Each check says which input is wrong and why.
//!
//! Sources: RFC 1035 §2.3.4 ("labels 63 octets or less", "names 255 octets or less", which is
//! 253 characters in dotted form); RFC 1123 §2.1 (a label may start with a digit); Microsoft's
//! "Naming conventions in Active Directory for computers, domains, sites, and OUs" (DNS domain
//! names: letters, digits and hyphens) and the `sAMAccountName` attribute's documentation (at
//! most 20 characters, none of `" / \ [ ] : ; | = , + * ? < > @`).

/// The longest DNS name in dotted form (RFC 1035 §2.3.4: 255 octets on the wire).
pub const MAX_DNS_NAME_LEN: usize = 253;
/// The longest DNS label (RFC 1035 §2.3.4).
pub const MAX_DNS_LABEL_LEN: usize = 63;
/// The longest `sAMAccountName` (the attribute's documented limit for users).
pub const MAX_SAM_ACCOUNT_NAME_LEN: usize = 20;
/// Characters a `sAMAccountName` may not contain.
pub const SAM_FORBIDDEN: &str = "\"/\\[]:;|=,+*?<>@";

/// Checks a DNS name of at least two labels (a forest's root domain, a tenant domain); `what`
/// names the input (`--forest`, `--tenant`).
pub fn check_dns_name(what: &str, name: &str) -> Result<(), String> {
    let bad = |why: String| Err(format!("{what} '{}' is not a DNS name: {why}", shown(name)));
    if name.is_empty() {
        return bad("it is empty".into());
    }
    if name.len() > MAX_DNS_NAME_LEN {
        return bad(format!(
            "it is {} characters long; a DNS name has at most {MAX_DNS_NAME_LEN}",
            name.len()
        ));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return bad("it needs at least two labels, such as contoso.com".into());
    }
    for l in labels {
        if l.is_empty() {
            return bad("it has an empty label (two dots, or a dot at an end)".into());
        }
        if l.len() > MAX_DNS_LABEL_LEN {
            return bad(format!(
                "the label '{l}' is {} characters long; a label has at most {MAX_DNS_LABEL_LEN}",
                l.len()
            ));
        }
        if let Some(c) = l
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return bad(format!(
                "'{}' is not allowed: a label has only letters, digits and hyphens",
                c.escape_default()
            ));
        }
        if l.starts_with('-') || l.ends_with('-') {
            return bad(format!("the label '{l}' starts or ends with a hyphen"));
        }
    }
    Ok(())
}

/// Checks an account name as typed: `NAME`, `DOMAIN\NAME` or `.\NAME` (the part after the last
/// `\` follows the `sAMAccountName` rules), or a user principal name `user@domain` (a cloud
/// account: no control characters).
pub fn check_account_name(name: &str) -> Result<(), String> {
    let bad = |why: String| Err(format!("'{}' is not an account name: {why}", shown(name)));
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return bad(format!(
            "it contains the control character {}",
            c.escape_default()
        ));
    }
    let (domain, sam) = name.rsplit_once('\\').unwrap_or(("", name));
    if domain.is_empty() && name.contains('\\') {
        return bad("the domain before '\\' is empty".into());
    }
    if sam.contains('@') && !name.contains('\\') {
        // A user principal name (the cloud's accounts, Sync_…@tenant).
        return match sam.split_once('@') {
            Some((u, d)) if !u.is_empty() && !d.is_empty() => Ok(()),
            _ => bad("a user principal name is written user@domain".into()),
        };
    }
    if sam.is_empty() {
        return bad("the name is empty".into());
    }
    if sam.chars().count() > MAX_SAM_ACCOUNT_NAME_LEN {
        return bad(format!(
            "'{sam}' is {} characters long; a sAMAccountName has at most {MAX_SAM_ACCOUNT_NAME_LEN}",
            sam.chars().count()
        ));
    }
    if let Some(c) = sam.chars().find(|c| SAM_FORBIDDEN.contains(*c)) {
        return bad(format!(
            "a sAMAccountName may not contain '{c}' (nor any of {SAM_FORBIDDEN})"
        ));
    }
    Ok(())
}

/// A name as an error may show it: control characters escaped, so an error cannot rewrite the
/// terminal.
fn shown(name: &str) -> String {
    name.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_follow_the_rfcs() {
        assert!(check_dns_name("--forest", "contoso.com").is_ok());
        assert!(check_dns_name("--forest", "1st-forest.example.org").is_ok());
        for bad in [
            "../../x",
            "x/../y.onmicrosoft.com",
            "contoso..com",
            "contoso",
            "-a.com",
            "a\u{7}.com",
            "",
        ] {
            let e = check_dns_name("--forest", bad).unwrap_err();
            assert!(e.starts_with("--forest '"), "{e}");
        }
        let long = format!("{}.com", "a".repeat(64));
        assert!(
            check_dns_name("--tenant", &long)
                .unwrap_err()
                .contains("at most 63")
        );
    }

    #[test]
    fn account_names_follow_sam_account_name() {
        for ok in [
            "AADCONNECT01\\AAD_0123456789ab",
            "NT SERVICE\\ADSync",
            ".\\AAD_1",
            "Sync_AADCONNECT01_1@contoso.onmicrosoft.com",
            "ADSyncMSA_1a2b3$",
        ] {
            assert!(check_account_name(ok).is_ok(), "{ok}");
        }
        assert!(check_account_name("CONTOSO\\a_name_longer_than_twenty").is_err());
        assert!(
            check_account_name("CONTOSO\\a*b")
                .unwrap_err()
                .contains("'*'")
        );
        assert!(
            check_account_name("a\u{1b}[2J")
                .unwrap_err()
                .contains("\\u{1b}")
        );
    }
}

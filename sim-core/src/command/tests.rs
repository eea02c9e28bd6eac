//! Tests of the command language: both spellings, quoting, usage errors and redaction.

use super::*;

#[test]
fn both_spellings_reach_the_same_commands() {
    assert_eq!(
        parse_line("sc.exe start ADSync").unwrap(),
        Command::ScStart {
            name: "ADSync".into()
        }
    );
    assert_eq!(
        parse_line("sc start ADSync").unwrap(),
        Command::ScStart {
            name: "ADSync".into()
        }
    );
    let Command::AccountReset {
        name,
        password,
        net_user,
    } = parse_line("net user AAD_1 'Spring 2026!'").unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (name.as_str(), password.expose(), net_user),
        ("AAD_1", "Spring 2026!", true)
    );
    assert!(matches!(
        parse_line("Get-WinEvent -LogName Application -MaxEvents 5").unwrap(),
        Command::Events {
            log: Some(LogName::Application),
            last: Some(5),
            get_winevent: true,
            ..
        }
    ));
}

#[test]
fn sc_config_explains_the_key_equals_value_rule() {
    let e = parse_line("sc config ADSync password=s3cr3t")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("needs a space after the equals sign: write 'password= PASSWORD'"),
        "{e}"
    );
    assert!(!e.contains("s3cr3t"), "the password is not echoed: {e}");
    // A password that ends in '=' is still a password written without its space, never a
    // key `password=…` echoed back as "needs a value" or "unsupported option".
    for line in [
        "sc config ADSync password=s3cr3t=",
        "sc config ADSync password=s3cr3t= obj= X",
    ] {
        let e = parse_line(line).unwrap_err().to_string();
        assert!(e.contains("write 'password= PASSWORD'"), "{e}");
        assert!(!e.contains("s3cr3t"), "the password is not echoed: {e}");
    }
    let e = parse_line("sc config ADSync obj=x")
        .unwrap_err()
        .to_string();
    assert!(e.contains("write 'obj= x'"), "{e}");
    let c = parse_line("sc config ADSync obj= .\\AAD_1 password= \"new pw\"").unwrap();
    assert_eq!(
        c.redacted(),
        "sc config ADSync obj= .\\AAD_1 password= ********"
    );
}

#[test]
fn unknown_commands_answer_like_powershell() {
    let e = parse_line("Get-Foo").unwrap_err().to_string();
    assert!(
        e.starts_with("Get-Foo : The term 'Get-Foo' is not recognized as the name of a cmdlet"),
        "{e}"
    );
}

#[test]
fn the_servers_own_spellings_parse() {
    assert_eq!(
        parse_line("sc.exe queryex ADSync").unwrap(),
        Command::ScQueryEx {
            name: "ADSync".into()
        }
    );
    assert_eq!(
        parse_line("sc qc ADSync").unwrap(),
        Command::ScQc {
            name: "ADSync".into()
        }
    );
    assert_eq!(
        parse_line("Get-Service -Name ADSync").unwrap(),
        Command::GetService {
            name: Some("ADSync".into())
        }
    );
    assert_eq!(
        parse_line("Get-EventLog -LogName Application -Newest 5").unwrap(),
        Command::GetEventLog {
            log: LogName::Application,
            newest: Some(5)
        }
    );
    assert_eq!(
        parse_line("Get-EventLog System").unwrap(),
        Command::GetEventLog {
            log: LogName::System,
            newest: None
        }
    );
    let cd = parse_line(r#"cd "$env:ProgramFiles\Microsoft Azure AD Sync\bin\""#).unwrap();
    assert_eq!(
        cd,
        Command::SetLocation {
            path: r"$env:ProgramFiles\Microsoft Azure AD Sync\bin\".into()
        }
    );
    assert_eq!(
        cd.redacted(),
        r#"cd "$env:ProgramFiles\Microsoft Azure AD Sync\bin\""#
    );
    assert_eq!(
        parse_line(r".\miiskmu.exe /a").unwrap(),
        Command::MiiskmuRelative {
            typed: r".\miiskmu.exe".into()
        }
    );
    assert_eq!(parse_line("miiskmu /a").unwrap(), Command::Miiskmu);
    assert!(parse_line("Get-EventLog -Newest 5").is_err());
}

#[test]
fn passwords_never_show() {
    let c = parse_line("account change X --old a1 --new b2").unwrap();
    assert!(!format!("{c:?}").contains("a1") && !c.redacted().contains("b2"));
}

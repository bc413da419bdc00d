//! Unit tests of plan resolution.

use super::*;

#[test]
fn auto_mode_supervises_as_pid_1_or_for_a_drain_delay() {
    let rows = [
        (Mode::Auto, true, None, Mode::Supervise),
        (Mode::Auto, false, None, Mode::Exec),
        (Mode::Auto, false, Some("drain_delay"), Mode::Supervise),
        (Mode::Auto, false, Some("success_codes"), Mode::Supervise),
        (Mode::Auto, true, Some("drain_delay"), Mode::Supervise),
        (Mode::Exec, true, None, Mode::Exec),
        (Mode::Supervise, false, None, Mode::Supervise),
    ];
    for (mode, pid1, needs_parent, want) in rows {
        assert_eq!(
            decide_mode(mode, pid1, needs_parent).0,
            want,
            "{mode} pid1={pid1} needs_parent={needs_parent:?}"
        );
    }
}

#[test]
fn drain_warnings_fire_when_the_delay_eats_the_stop_budget() {
    let s = Duration::from_secs;
    let rows = [
        (s(0), Some(s(25)), s(28), false),
        (s(2), Some(s(25)), s(28), false),
        (s(3), Some(s(25)), s(28), true),
        (s(5), Some(s(20)), s(28), false),
        (s(5), None, s(8), false),
        (s(8), None, s(8), true),
    ];
    for (drain, graceful, stop, warns) in rows {
        let warning = drain_warning(drain, graceful, stop);
        assert_eq!(
            warning.is_some(),
            warns,
            "{drain:?} {graceful:?} {stop:?}: {warning:?}"
        );
    }
}

#[test]
fn urls_with_passwords_are_masked() {
    assert_eq!(
        mask("DATABASE_URL", "postgres://app:s3cret@db:5432/x"),
        "postgres://app:***@db:5432/x"
    );
    assert_eq!(mask("REDIS_URL", "redis://db:6379/0"), "redis://db:6379/0");
    assert_eq!(
        mask("NEXT", "https://example.org/a@b"),
        "https://example.org/a@b"
    );
    assert_eq!(mask("PLAIN", "just text"), "just text");
}

#[test]
fn secret_looking_names_are_masked() {
    for name in [
        "DB_PASSWORD",
        "api_token",
        "SECRET_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "GCP_CREDENTIALS",
        "DB_PASS",
        "SENTRY_DSN",
        "OAUTH_CLIENT",
    ] {
        assert_eq!(mask(name, "hunter2"), "***", "{name}");
    }
    assert_eq!(mask("WEB_CONCURRENCY", "5"), "5");
}

#[test]
fn env_changes_replace_and_add() {
    let base = vec![
        (OsString::from("A"), OsString::from("1")),
        (OsString::from("B"), OsString::from("2")),
    ];
    let changes = BTreeMap::from([
        ("B".to_string(), "3".to_string()),
        ("C".to_string(), "4".to_string()),
    ]);
    let merged = env::merge(&base, &changes);
    let get = |k: &str| {
        merged
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.to_string_lossy().into_owned())
    };
    assert_eq!(
        (get("A"), get("B"), get("C")),
        (Some("1".into()), Some("3".into()), Some("4".into()))
    );
    assert_eq!(merged.len(), 3);
}

#[test]
fn budget_warnings_fire_only_out_of_order() {
    let s = Duration::from_secs;
    assert!(budget_warnings(Some(s(25)), s(28), true).is_empty());
    assert_eq!(budget_warnings(Some(s(30)), s(28), true).len(), 1);
    assert_eq!(budget_warnings(Some(s(25)), s(40), true).len(), 1);
    assert_eq!(budget_warnings(Some(s(45)), s(40), true).len(), 2);
    assert!(
        budget_warnings(None, s(40), false).is_empty(),
        "only gunicorn's budget is checked"
    );
}

#[test]
fn shell_quoting_is_readable() {
    let argv: Vec<OsString> = ["gunicorn", "app:create_app()", "a b"]
        .iter()
        .map(OsString::from)
        .collect();
    assert_eq!(shell_quote(&argv), "gunicorn 'app:create_app()' 'a b'");
}

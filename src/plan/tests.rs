//! Unit tests of plan resolution.

use super::flags::before_steps;
use super::server::budget_warnings;
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
    let merged = merge_env(&base, &changes);
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
    let mut w = Vec::new();
    budget_warnings(s(25), s(28), &mut w);
    assert!(w.is_empty(), "{w:?}");
    budget_warnings(s(30), s(28), &mut w);
    assert_eq!(w.len(), 1);
    budget_warnings(s(25), s(40), &mut w);
    assert_eq!(w.len(), 2);
}

#[test]
fn before_flags_split_into_words_without_a_shell() {
    let steps = before_steps(&["flask db upgrade".into(), "sh -c 'echo $HOME; x'".into()]).unwrap();
    assert_eq!(
        steps,
        [
            vec!["flask", "db", "upgrade"],
            vec!["sh", "-c", "echo $HOME; x"]
        ]
    );
    for bad in ["", "unterminated 'quote"] {
        let err = before_steps(&[bad.into()]).unwrap_err();
        assert!(matches!(err, Failure::Usage(_)), "{bad}: {err}");
    }
}

#[test]
fn shell_quoting_is_readable() {
    let argv: Vec<OsString> = ["gunicorn", "app:create_app()", "a b"]
        .iter()
        .map(OsString::from)
        .collect();
    assert_eq!(shell_quote(&argv), "gunicorn 'app:create_app()' 'a b'");
}

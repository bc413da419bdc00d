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
            decide_mode(mode, pid1, needs_parent.map(String::from)).0,
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
    let uvicorn = Some("uvicorn");
    assert!(budget_warnings(Some(s(25)), s(28), uvicorn).is_empty());
    let late = budget_warnings(Some(s(30)), s(28), uvicorn);
    assert_eq!(late.len(), 1);
    assert!(late[0].contains("liftoff will SIGKILL uvicorn"), "{late:?}");
    assert_eq!(budget_warnings(Some(s(25)), s(40), uvicorn).len(), 1);
    assert_eq!(
        budget_warnings(Some(s(45)), s(40), Some("gunicorn")).len(),
        2
    );
    assert!(
        budget_warnings(None, s(40), None).is_empty(),
        "only production servers' budgets are checked"
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

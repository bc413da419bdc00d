//! Unit tests of `settings`.

use super::*;
use std::time::Duration;

#[test]
fn durations_parse_from_what_people_write() {
    let ok = [
        ("28s", 28_000),
        ("1m30s", 90_000),
        ("1m 30s", 90_000),
        ("500ms", 500),
        ("28", 28_000),
        ("2.5", 2_500),
    ];
    for (text, ms) in ok {
        assert_eq!(
            Dur::parse(text).unwrap().0,
            Duration::from_millis(ms),
            "{text}"
        );
    }
    for bad in [
        "soon",
        "-1",
        "",
        "10 parsecs",
        "300000000000y",
        "366d",
        "1e30",
    ] {
        let err = Dur::parse(bad).unwrap_err();
        assert!(
            err.contains("not a duration") || err.contains("365 days"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn worker_counts_are_auto_or_positive() {
    assert_eq!(WorkerCount::parse("auto"), Ok(WorkerCount::Auto));
    assert_eq!(WorkerCount::parse("AUTO"), Ok(WorkerCount::Auto));
    assert_eq!(WorkerCount::parse("5"), Ok(WorkerCount::Fixed(5)));
    for bad in ["0", "-2", "lots", "2.5"] {
        assert!(WorkerCount::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn lists_take_arrays_or_comma_separated_strings_and_steps_take_arrays() {
    let settings: Settings = toml::from_str(
        "wait_for = \"tcp://db:5432, http://api/health,\"\nbefore = [[\"flask\", \"db\", \"upgrade\"], [\"true\"]]",
    )
    .unwrap();
    assert_eq!(
        settings.wait_for,
        Some(List(vec![
            "tcp://db:5432".into(),
            "http://api/health".into()
        ]))
    );
    let before: Vec<Vec<String>> = settings
        .before
        .unwrap()
        .0
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(before, [vec!["flask", "db", "upgrade"], vec!["true"]]);
    let settings: Settings = toml::from_str("wait_for = [\"tcp://a:1\", \"tcp://b:2\"]").unwrap();
    assert_eq!(settings.wait_for.unwrap().0, ["tcp://a:1", "tcp://b:2"]);
    let err = toml::from_str::<Settings>("before = [\"flask db upgrade\"]")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("before = [[\"flask\", \"db\", \"upgrade\"]]"),
        "{err}"
    );
    let err = toml::from_str::<Settings>("before = \"flask db upgrade\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a list of commands, each a list of words"),
        "{err}"
    );
}

#[test]
fn key_groups_name_real_keys() {
    for key in GUNICORN_KEYS.iter().chain(TABLE_KEYS) {
        assert!(KEYS.contains(key), "{key} is not a key");
    }
}

#[test]
fn keys_list_matches_the_struct() {
    // serde names every field of the struct when it meets an unknown one.
    let table: toml::Table = toml::from_str("no_such_key = 1").unwrap();
    let err = toml::Value::Table(table)
        .try_into::<Settings>()
        .unwrap_err()
        .to_string();
    let fields: Vec<&str> = err.split('`').skip(3).step_by(2).collect();
    assert_eq!(fields, KEYS, "{err}");
}

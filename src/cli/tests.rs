//! Unit tests of `cli`.

use super::*;

/// Parses a command line given as one string split on spaces.
fn p(line: &str) -> Cli {
    parse(std::iter::once("liftoff").chain(line.split_whitespace()))
        .unwrap_or_else(|e| panic!("{line:?} failed to parse: {e}"))
}

/// Turns a list of strings into `OsString`s for comparisons.
fn os(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

/// The value given for key `name`, if any.
fn get<'a>(values: &'a KeyValues, name: &str) -> Option<&'a Raw> {
    values
        .0
        .iter()
        .find(|(k, _)| k.name == name)
        .map(|(_, raw)| raw)
}

/// The one value given for key `name`, if any.
fn one<'a>(values: &'a KeyValues, name: &str) -> Option<&'a str> {
    match get(values, name) {
        Some(Raw::One(value)) => Some(value),
        _ => None,
    }
}

/// The values given for repeatable key `name`.
fn many<'a>(values: &'a KeyValues, name: &str) -> Vec<&'a str> {
    match get(values, name) {
        Some(Raw::Many(values)) => values.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The switch given for key `name`, if any.
fn switch(values: &KeyValues, name: &str) -> Option<bool> {
    match get(values, name) {
        Some(Raw::Switch(on)) => Some(*on),
        _ => None,
    }
}

#[test]
fn bare_liftoff_has_no_command() {
    assert!(p("").command.is_none());
    assert_eq!(one(&p("--mode exec").global.keys.0, "mode"), Some("exec"));
}

#[test]
fn server_commands_take_their_flags_and_extra() {
    let Some(Command::Prod(ProdArgs { server: args })) =
        p("prod --port 9000 --workers auto --threads 4 --app a:b -- --preload -k x").command
    else {
        panic!("not prod")
    };
    let keys = &args.keys.0;
    assert_eq!(one(keys, "port"), Some("9000"));
    assert_eq!(one(keys, "workers"), Some("auto"));
    assert_eq!(one(keys, "threads"), Some("4"));
    assert_eq!(one(keys, "app"), Some("a:b"));
    assert_eq!(args.extra, os(&["--preload", "-k", "x"]));
}

#[test]
fn reload_and_debug_are_tri_states_where_the_last_flag_wins() {
    let cases = [
        ("dev", None, None),
        ("dev --reload", Some(true), None),
        ("dev --no-reload", Some(false), None),
        ("dev --reload --no-reload", Some(false), None),
        ("dev --no-reload --reload", Some(true), None),
        ("dev --debug", None, Some(true)),
        ("dev --debug --no-debug", None, Some(false)),
    ];
    for (line, reload, debug) in cases {
        let Some(Command::Dev(DevArgs { server: args })) = p(line).command else {
            panic!("{line}: not dev")
        };
        let keys = &args.keys.0;
        assert_eq!(
            (switch(keys, "reload"), switch(keys, "debug")),
            (reload, debug),
            "{line}"
        );
    }
}

#[test]
fn global_flags_go_before_or_after_the_command() {
    let cases = [
        "--stop-timeout 3s --signal-target group prod",
        "prod --stop-timeout 3s --signal-target group",
        "--stop-timeout 3s prod --signal-target group",
    ];
    for line in cases {
        let cli = p(line);
        assert!(matches!(cli.command, Some(Command::Prod(_))), "{line}");
        let global = cli.globals();
        assert_eq!(one(&global.keys.0, "stop_timeout"), Some("3s"), "{line}");
        assert_eq!(
            one(&global.keys.0, "signal_target"),
            Some("group"),
            "{line}"
        );
    }
    let cli = p("--signal-map QUIT=TERM run --signal-map HUP=ignore --success-code 143 -- x");
    let global = cli.globals();
    assert_eq!(many(&global.keys.0, "signals"), ["QUIT=TERM", "HUP=ignore"]);
    assert_eq!(many(&global.keys.0, "success_codes"), ["143"]);
}

#[test]
fn entrypoint_flags_go_before_or_after_the_command_and_lists_add_up() {
    let cases = [
        "--drain-delay 5s --wait-for tcp://db:5432 --wait-timeout 1m --user app:app --env-file .env --before true prod --wait-for http://api/h --before false",
        "prod --drain-delay 5s --wait-for tcp://db:5432 --wait-for http://api/h --wait-timeout 1m --user app:app --env-file .env --before true --before false",
        "--drain-delay 1s run --drain-delay 5s --wait-for tcp://db:5432 --wait-for http://api/h --wait-timeout 1m --user app:app --env-file .env --before true --before false -- x",
    ];
    for line in cases {
        let global = p(line).globals();
        let keys = &global.keys.0;
        assert_eq!(one(keys, "drain_delay"), Some("5s"), "{line}");
        assert_eq!(
            many(keys, "wait_for"),
            ["tcp://db:5432", "http://api/h"],
            "{line}"
        );
        assert_eq!(one(keys, "wait_timeout"), Some("1m"), "{line}");
        assert_eq!(one(keys, "user"), Some("app:app"), "{line}");
        assert_eq!(one(keys, "env_file"), Some(".env"), "{line}");
        assert_eq!(many(keys, "before"), ["true", "false"], "{line}");
    }
    for line in [
        "--wait-for tcp://db:5432,http://api/h run -- x",
        "run --wait-for tcp://db:5432,http://api/h -- x",
    ] {
        let global = p(line).globals();
        assert_eq!(
            many(&global.keys.0, "wait_for"),
            ["tcp://db:5432", "http://api/h"],
            "{line}"
        );
    }
    let rest = os(&[
        "--user",
        "nobody",
        "--wait-for",
        "tcp://db:1",
        "--",
        "--queue",
    ]);
    let args = parse_profile_args("worker", &rest).unwrap();
    assert_eq!(one(&args.global.keys.0, "user"), Some("nobody"));
    assert_eq!(many(&args.global.keys.0, "wait_for"), ["tcp://db:1"]);
    assert_eq!(args.extra, os(&["--queue"]));
}

#[test]
fn run_takes_the_program_with_or_without_double_dash() {
    for line in [
        "run -- sh -c x",
        "run sh -c x",
        "--mode supervise run -- sh -c x",
    ] {
        let Some(Command::Run(args)) = p(line).command else {
            panic!("{line}: not run")
        };
        assert_eq!(args.argv, os(&["sh", "-c", "x"]), "{line}");
    }
    let Some(Command::Run(args)) = p("run -- prod --port 1").command else {
        panic!()
    };
    assert_eq!(args.argv, os(&["prod", "--port", "1"]));
}

#[test]
fn any_other_word_is_kept_whole_for_later() {
    let cases: [(&str, &[&str]); 4] = [
        ("sh -c x", &["sh", "-c", "x"]),
        ("python3 --version", &["python3", "--version"]),
        (
            "worker -- --queue high",
            &["worker", "--", "--queue", "high"],
        ),
        (
            "--mode exec db-migrate --mode x",
            &["db-migrate", "--mode", "x"],
        ),
    ];
    for (line, words) in cases {
        let Some(Command::Word(got)) = p(line).command else {
            panic!("{line}: not a word")
        };
        assert_eq!(got, os(words), "{line}");
    }
}

#[test]
fn plan_config_check_and_health_parse() {
    let Some(Command::Plan(args)) = p("plan --format json dev --port 1").command else {
        panic!()
    };
    assert_eq!(args.format, PlanFormat::Json);
    assert_eq!(args.command, os(&["dev", "--port", "1"]));
    let Some(Command::Config(args)) = p("config worker --explain --format json").command else {
        panic!()
    };
    assert_eq!(
        (args.profile.as_deref(), args.explain, args.format),
        (Some("worker"), true, ConfigFormat::Json)
    );
    assert!(matches!(
        p("check --config x").command,
        Some(Command::Check(_))
    ));
    let Some(Command::Health(args)) = p("health --url http://x:1/h --timeout 2s").command else {
        panic!()
    };
    assert_eq!(
        (args.url.as_deref(), args.timeout.as_str()),
        (Some("http://x:1/h"), "2s")
    );
}

#[test]
fn profile_args_take_global_flags_and_extra_only() {
    let rest = os(&["--stop-timeout", "2s", "-v", "--", "--queue", "high"]);
    let args = parse_profile_args("worker", &rest).unwrap();
    assert_eq!(one(&args.global.keys.0, "stop_timeout"), Some("2s"));
    assert_eq!(args.global.verbose, 1);
    assert_eq!(args.extra, os(&["--queue", "high"]));
    let err = parse_profile_args("worker", &os(&["stray"])).unwrap_err();
    assert!(err.to_string().contains("stray"), "{err}");
}

#[test]
fn usage_errors_are_errors() {
    for line in ["prod --port", "prod --bogus", "run", "plan --format yaml"] {
        let result = parse(std::iter::once("liftoff").chain(line.split_whitespace()));
        assert!(result.is_err(), "{line} should fail");
    }
}

#[test]
fn later_global_flags_overlay_earlier_ones() {
    let mut early = p("--mode exec --chdir /a --signal-map QUIT=TERM").global;
    let later = p("--mode supervise --signal-map HUP=ignore -v").global;
    early.overlay(later);
    let keys = &early.keys.0;
    assert_eq!(one(keys, "mode"), Some("supervise"));
    assert_eq!(one(keys, "chdir"), Some("/a"));
    assert_eq!(many(keys, "signals"), ["QUIT=TERM", "HUP=ignore"]);
    assert_eq!(early.verbose, 1);
}

#[test]
fn the_command_line_is_consistent_and_help_comes_from_the_key_table() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
    let cmd = Cli::command();
    for key in crate::plan::keys::KEYS {
        let Some(flag) = key
            .flag
            .filter(|f| f.scope == crate::plan::keys::Scope::Global)
        else {
            continue;
        };
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(flag.long))
            .unwrap_or_else(|| panic!("--{} is not a flag of liftoff", flag.long));
        assert_eq!(
            arg.get_help().map(ToString::to_string).as_deref(),
            Some(key.help),
            "--{}",
            flag.long
        );
    }
    let mut all = Cli::command();
    all.build();
    let prod = all.find_subcommand("prod").unwrap();
    for key in crate::plan::keys::KEYS {
        let Some(flag) = key.flag else { continue };
        assert!(
            prod.get_arguments()
                .any(|a| a.get_long() == Some(flag.long)),
            "prod lacks --{}",
            flag.long
        );
    }
}

#[test]
fn a_program_word_that_is_not_utf8_is_still_a_program() {
    use std::os::unix::ffi::OsStringExt;
    let word = OsString::from_vec(b"\xffprog".to_vec());
    let arg = OsString::from_vec(b"x\xff".to_vec());
    let cli = parse([
        OsString::from("liftoff"),
        word.clone(),
        "a".into(),
        arg.clone(),
    ])
    .unwrap();
    let Some(Command::Word(words)) = cli.command else {
        panic!("not a program word: {:?}", cli.command);
    };
    assert_eq!(words, [word.clone(), "a".into(), arg]);
    // Anywhere else, text is required: clap's own error stands.
    let err = parse([OsString::from("liftoff"), "--log-level".into(), word]).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::InvalidUtf8);
}

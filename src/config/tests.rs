//! Layering and error tests for the configuration, inside `figment::Jail` (a temporary
//! directory as the working directory, and a sandboxed environment).

#![expect(
    clippy::result_large_err,
    reason = "figment::Jail closures return figment::Error"
)]

use super::*;
use crate::settings::{Dur, WorkerCount};
use figment::Jail;
use std::time::Duration;

/// The jail's environment, as liftoff captures it.
fn env() -> Vec<(OsString, OsString)> {
    std::env::vars_os().collect()
}

/// Loads the layers from the jail's working directory and environment.
fn load(flag: Option<&str>) -> anyhow::Result<Layers> {
    Layers::load(flag.map(Path::new), env())
}

/// The configuration error message of a failed load or extraction.
fn config_error<T: std::fmt::Debug>(result: anyhow::Result<T>) -> String {
    let err = result.expect_err("expected a configuration error");
    let failure = err.downcast_ref::<Failure>().expect("a typed failure");
    assert!(matches!(failure, Failure::Config(_)), "{failure:?}");
    failure.to_string()
}

const FILE: &str = r#"
[default]
stop_timeout = "20s"
env = { SHARED = "yes" }

[prod]
app = "app:create_app()"
port = 8001
workers = 4

[dev]
port = 8081

[worker]
server = "command"
command = ["flask", "workflow", "workflow-main"]
"#;

#[test]
fn each_layer_beats_the_one_below() {
    Jail::expect_with(|jail| {
        jail.create_file("liftoff.toml", FILE)?;
        let layers = load(None).unwrap();
        let (_, prod) = layers.settings(Some("prod")).unwrap();
        assert_eq!(
            prod.port.map(|p| p.0),
            Some(8001),
            "file [prod] beats [default]/built-in"
        );
        assert_eq!(
            prod.stop_timeout,
            Some(Dur(Duration::from_secs(20))),
            "[default] applies"
        );

        jail.set_env("PORT", "9000");
        let (_, prod) = load(None).unwrap().settings(Some("prod")).unwrap();
        assert_eq!(
            prod.port.map(|p| p.0),
            Some(9000),
            "PORT beats the [prod] table"
        );

        jail.set_env("LIFTOFF_PORT", "9100");
        let mut layers = load(None).unwrap();
        assert_eq!(
            layers.settings(Some("prod")).unwrap().1.port.map(|p| p.0),
            Some(9100),
            "LIFTOFF_PORT beats PORT"
        );

        layers.flags.set("port", "--port", 9200u16);
        assert_eq!(
            layers.settings(Some("prod")).unwrap().1.port.map(|p| p.0),
            Some(9200),
            "the flag beats LIFTOFF_PORT"
        );
        Ok(())
    });
}

#[test]
fn env_beats_a_prod_table_and_applies_to_every_profile() {
    Jail::expect_with(|jail| {
        jail.create_file("liftoff.toml", FILE)?;
        jail.set_env("LIFTOFF_WORKERS", "7");
        jail.set_env("WEB_CONCURRENCY", "3");
        jail.set_env("LIFTOFF_ENV__Mixed_Case", "0123");
        let layers = load(None).unwrap();
        for profile in ["prod", "dev", "worker"] {
            let (_, s) = layers.settings(Some(profile)).unwrap();
            assert_eq!(s.workers, Some(WorkerCount::Fixed(7)), "{profile}");
            let env = s.env.unwrap();
            assert_eq!(
                env["Mixed_Case"].0, "0123",
                "{profile}: names and values kept as written"
            );
            assert_eq!(env["SHARED"].0, "yes", "{profile}: [default] env kept");
        }
        Ok(())
    });
}

#[test]
fn selecting_variables_never_select_a_profile() {
    Jail::expect_with(|jail| {
        jail.create_file("liftoff.toml", FILE)?;
        for (k, v) in [
            ("LIFTOFF_PROFILE", "dev"),
            ("FLASK_ENV", "development"),
            ("FLASK_DEBUG", "1"),
            ("APP_ENV", "dev"),
            ("ENVIRONMENT", "local"),
            ("FIGMENT_PROFILE", "dev"),
        ] {
            jail.set_env(k, v);
        }
        let layers = load(None).unwrap();
        let (figment, prod) = layers.settings(Some("prod")).unwrap();
        assert_eq!(figment.profile(), "prod");
        assert_eq!(prod.port.map(|p| p.0), Some(8001));
        Ok(())
    });
}

#[test]
fn the_file_comes_from_the_flag_then_the_variable_then_the_working_directory() {
    Jail::expect_with(|jail| {
        jail.create_file("liftoff.toml", "[prod]\nport = 1\n")?;
        jail.create_file("other.toml", "[prod]\nport = 2\n")?;
        jail.create_file("third.toml", "[prod]\nport = 3\n")?;
        let port = |layers: Layers| layers.settings(Some("prod")).unwrap().1.port.map(|p| p.0);
        assert_eq!(port(load(None).unwrap()), Some(1));
        jail.set_env("LIFTOFF_CONFIG", "other.toml");
        assert_eq!(port(load(None).unwrap()), Some(2));
        assert_eq!(port(load(Some("third.toml")).unwrap()), Some(3));
        let msg = config_error(load(Some("missing.toml")));
        assert!(
            msg.contains("missing.toml") && msg.contains("--config"),
            "{msg}"
        );
        jail.set_env("LIFTOFF_CONFIG", "gone.toml");
        let msg = config_error(load(None));
        assert!(
            msg.contains("gone.toml") && msg.contains("LIFTOFF_CONFIG"),
            "{msg}"
        );
        Ok(())
    });
}

#[test]
fn no_file_is_fine_and_a_missing_default_file_is_not_searched_upwards() {
    Jail::expect_with(|jail| {
        jail.create_dir("sub")?;
        jail.create_file("liftoff.toml", "[prod]\nport = 1\n")?;
        jail.change_dir("sub")?;
        let layers = load(None).unwrap();
        assert!(layers.file.is_none());
        assert_eq!(
            layers.settings(Some("prod")).unwrap().1.port.map(|p| p.0),
            None
        );
        Ok(())
    });
}

#[test]
fn profiles_come_from_the_tables() {
    Jail::expect_with(|jail| {
        jail.create_file("liftoff.toml", FILE)?;
        let layers = load(None).unwrap();
        assert_eq!(layers.all_profiles(), ["prod", "dev", "worker"]);
        assert!(
            layers.is_profile("worker")
                && layers.is_profile("dev")
                && !layers.is_profile("default")
        );
        Ok(())
    });
}

#[test]
fn errors_name_the_key_and_its_source() {
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        Option<(&'a str, &'a str, &'a str)>,
        &'a [&'a str],
    );
    let cases: &[Case] = &[
        (
            "[prod]\nworkers = \"lots\"\n",
            &[],
            None,
            &["liftoff.toml [prod]", "`workers`", "\"auto\" or a number"],
        ),
        (
            "[prod]\nstop_timeout = \"soon\"\n",
            &[],
            None,
            &["liftoff.toml [prod]", "`stop_timeout`", "not a duration"],
        ),
        (
            "[prod]\nport = \"http\"\n",
            &[],
            None,
            &[
                "liftoff.toml [prod]",
                "`port`",
                "a port number from 1 to 65535",
            ],
        ),
        (
            "[prod]\nmode = \"sometimes\"\n",
            &[],
            None,
            &["`mode`", "auto", "supervise"],
        ),
        (
            "",
            &[("LIFTOFF_WORKERS", "lots")],
            None,
            &["environment variable LIFTOFF_WORKERS", "`workers`"],
        ),
        (
            "",
            &[("WEB_CONCURRENCY", "-3")],
            None,
            &["environment variable WEB_CONCURRENCY", "`workers`"],
        ),
        (
            "",
            &[("PORT", "eighty")],
            None,
            &["environment variable PORT", "`port`"],
        ),
        (
            "",
            &[("LIFTOFF_RELOAD", "maybe")],
            None,
            &["environment variable LIFTOFF_RELOAD", "bool"],
        ),
        (
            "",
            &[],
            Some(("stop_timeout", "--stop-timeout", "later")),
            &["flag --stop-timeout", "not a duration"],
        ),
    ];
    for (file, vars, flag, needles) in cases {
        expect_error(file, vars, needles, || {
            let mut layers = load(None).unwrap();
            if let Some((key, name, value)) = flag {
                layers.flags.set(key, name, *value);
            }
            config_error(layers.settings(Some("prod")))
        });
    }
}

/// In a jail with `file` as liftoff.toml and `vars` set, checks that the error message
/// `error` returns holds every one of `needles`.
fn expect_error(
    file: &str,
    vars: &[(&str, &str)],
    needles: &[&str],
    error: impl FnOnce() -> String,
) {
    Jail::expect_with(|jail| {
        jail.create_file("liftoff.toml", file)?;
        for (k, v) in vars {
            jail.set_env(k, v);
        }
        let msg = error();
        for needle in needles {
            assert!(
                msg.contains(needle),
                "{file:?} {vars:?}: {msg:?} lacks {needle:?}"
            );
        }
        Ok(())
    });
}

#[test]
fn unknown_keys_and_bad_shapes_are_reported_with_suggestions() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "[prod]\nwokrers = 3\n",
            &[],
            &[
                "liftoff.toml [prod]",
                "unknown key `wokrers`",
                "did you mean `workers`",
            ],
        ),
        (
            "port = 3\n",
            &[],
            &["`port` is outside any table", "[default]"],
        ),
        ("[global]\nport = 3\n", &[], &["[global] is not supported"]),
        ("[check]\nport = 3\n", &[], &["[check] cannot be a profile"]),
        ("[Prod]\nport = 3\n", &[], &["rename [Prod] to [prod]"]),
        (
            "",
            &[("LIFTOFF_WOKRERS", "3")],
            &[
                "environment variable LIFTOFF_WOKRERS",
                "did you mean `workers`",
            ],
        ),
        (
            "",
            &[("LIFTOFF_PORT__X", "3")],
            &["LIFTOFF_PORT__X", "not a table"],
        ),
        (
            "",
            &[("LIFTOFF_SERVER", "flask")],
            &["LIFTOFF_SERVER", "cannot come from the environment"],
        ),
        (
            "[default]\nserver = \"flask\"\n",
            &[],
            &["[default]: `server` chooses what runs"],
        ),
        (
            "[prod]\nport = 1\n[prod.x\n",
            &[],
            &["liftoff.toml:3:", "TOML syntax error"],
        ),
    ];
    for (file, vars, needles) in cases {
        expect_error(file, vars, needles, || config_error(load(None)));
    }
}

#[test]
fn string_keys_accept_what_the_environment_parses_as_numbers() {
    Jail::expect_with(|jail| {
        jail.set_env("LIFTOFF_APP", "123");
        jail.set_env("LIFTOFF_HOST", "127.0.0.1");
        jail.set_env("LIFTOFF_SUCCESS_CODES", "[0, 143]");
        jail.set_env("LIFTOFF_EXTRA_ARGS", r#"["--preload", "-k"]"#);
        let (_, s) = load(None).unwrap().settings(Some("prod")).unwrap();
        assert_eq!(s.app.unwrap().0, "123");
        assert_eq!(s.host.unwrap().0, "127.0.0.1");
        assert_eq!(s.success_codes.unwrap().0, [0, 143]);
        for (value, codes) in [
            ("143", vec![143]),
            ("0,143", vec![0, 143]),
            ("[1]", vec![1]),
        ] {
            jail.set_env("LIFTOFF_SUCCESS_CODES", value);
            let (_, s) = load(None).unwrap().settings(Some("prod")).unwrap();
            assert_eq!(s.success_codes.unwrap().0, codes, "{value}");
        }
        assert_eq!(s.extra_args.unwrap().len(), 2);
        Ok(())
    });
}

#[test]
fn table_flags_merge_entry_by_entry_with_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "liftoff.toml",
            "[prod]\nsignals = { QUIT = \"TERM\", HUP = \"ignore\" }\n",
        )?;
        let mut layers = load(None).unwrap();
        layers
            .flags
            .set_entry("signals", "HUP", "--signal-map", "USR1");
        let (_, s) = layers.settings(Some("prod")).unwrap();
        let signals = s.signals.unwrap();
        assert_eq!(signals["QUIT"].0, "TERM");
        assert_eq!(signals["HUP"].0, "USR1");
        Ok(())
    });
}

#[test]
fn suggestions_only_for_close_words() {
    assert_eq!(suggest("wokrers", KEYS), "; did you mean `workers`?");
    assert_eq!(suggest("zzzzzz", KEYS), "");
}

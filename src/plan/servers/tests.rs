//! One row per server: the argv each builds from the same keys, and its signal table.

use super::*;
use crate::plan::values::{Count, Port};
use std::time::Duration;

/// Settings with `app`, and the host and port given.
fn base(app: &str, host: &str, port: u16) -> Settings {
    Settings {
        app: Some(Text(app.into())),
        host: Some(Text(host.into())),
        port: Some(Port::Number(port)),
        ..Settings::default()
    }
}

/// The argv of `engine` for `s` and `workers`, joined with spaces.
fn argv(engine: Engine, s: &Settings, workers: Option<u32>) -> String {
    (engine.row().argv)(&Ctx { s, workers }).unwrap().join(" ")
}

#[test]
fn gunicorn_argv_has_only_what_is_set() {
    let g = Settings {
        graceful_timeout: Some(Dur(Duration::from_secs(25))),
        reload: Some(false),
        ..base("app:create_app()", "0.0.0.0", 8000)
    };
    assert_eq!(
        argv(Engine::Gunicorn, &g, Some(5)),
        "--bind 0.0.0.0:8000 --workers 5 --graceful-timeout 25 app:create_app()"
    );
    let full = Settings {
        gunicorn_config: Some(Text("gunicorn.conf.py".into())),
        host: Some(Text("::".into())),
        threads: Some(Count(4)),
        worker_class: Some(Text("gthread".into())),
        timeout: Some(Dur(Duration::from_millis(30_500))),
        keepalive: Some(Dur(Duration::from_secs(125))),
        worker_tmp_dir: Some(Text("/dev/shm".into())),
        access_log: Some(Text("-".into())),
        reload: Some(true),
        ..g.clone()
    };
    assert_eq!(
        argv(Engine::Gunicorn, &full, Some(5)),
        "-c gunicorn.conf.py --bind [::]:8000 --workers 5 --threads 4 --worker-class gthread \
         --timeout 31 --graceful-timeout 25 --keep-alive 125 --worker-tmp-dir /dev/shm \
         --access-logfile - --reload app:create_app()"
    );
    let left_to_gunicorn = Settings {
        port: Some(Port::Server),
        ..g.clone()
    };
    assert_eq!(
        argv(Engine::Gunicorn, &left_to_gunicorn, None),
        "--graceful-timeout 25 app:create_app()"
    );
    let no_app = Settings { app: None, ..g };
    assert!(
        (Engine::Gunicorn.row().argv)(&Ctx {
            s: &no_app,
            workers: Some(1)
        })
        .is_err()
    );
}

#[test]
fn flask_argv_leaves_debug_to_the_app_unless_set() {
    let f = Settings {
        reload: Some(true),
        ..base("app:create_app()", "127.0.0.1", 8080)
    };
    assert_eq!(
        argv(Engine::Flask, &f, None),
        "--app app:create_app() run --host 127.0.0.1 --port 8080 --reload"
    );
    let f = Settings {
        app: None,
        reload: Some(false),
        debug: Some(true),
        ..f
    };
    assert_eq!(
        argv(Engine::Flask, &f, None),
        "--debug run --host 127.0.0.1 --port 8080 --no-reload"
    );
    let f = Settings {
        debug: Some(false),
        ..f
    };
    assert_eq!(
        argv(Engine::Flask, &f, None),
        "--no-debug run --host 127.0.0.1 --port 8080 --no-reload"
    );
}

#[test]
fn uvicorn_argv_for_production_and_development() {
    let prod = Settings {
        graceful_timeout: Some(Dur(Duration::from_secs(25))),
        reload: Some(false),
        ..base("app:app", "0.0.0.0", 8000)
    };
    assert_eq!(
        argv(Engine::Uvicorn, &prod, Some(5)),
        "app:app --host 0.0.0.0 --port 8000 --workers 5 --timeout-graceful-shutdown 25"
    );
    let dev = Settings {
        reload: Some(true),
        ..base("app:app", "127.0.0.1", 8080)
    };
    assert_eq!(
        argv(Engine::Uvicorn, &dev, Some(5)),
        "app:app --host 127.0.0.1 --port 8080 --reload"
    );
    let factory = Settings {
        keepalive: Some(Dur(Duration::from_secs(75))),
        access_log: Some(Text("off".into())),
        ..base("main:create_app()", "0.0.0.0", 8000)
    };
    assert_eq!(
        argv(Engine::Uvicorn, &factory, None),
        "main:create_app --factory --host 0.0.0.0 --port 8000 --timeout-keep-alive 75 --no-access-log"
    );
}

#[test]
fn granian_argv_always_says_the_interface_and_reload() {
    let prod = Settings {
        graceful_timeout: Some(Dur(Duration::from_secs(25))),
        reload: Some(false),
        interface: Some(Interface::Asgi),
        ..base("app:app", "0.0.0.0", 8000)
    };
    assert_eq!(
        argv(Engine::Granian, &prod, Some(3)),
        "app:app --interface asgi --host 0.0.0.0 --port 8000 --workers 3 --no-reload --workers-kill-timeout 25"
    );
    let wsgi = Settings {
        interface: Some(Interface::Wsgi),
        threads: Some(Count(8)),
        graceful_timeout: None,
        reload: Some(true),
        ..prod
    };
    assert_eq!(
        argv(Engine::Granian, &wsgi, Some(1)),
        "app:app --interface wsgi --host 0.0.0.0 --port 8000 --workers 1 --blocking-threads 8 --reload"
    );
}

#[test]
fn runserver_argv_binds_host_and_port_in_one_word() {
    let dev = Settings {
        reload: Some(true),
        ..base("mysite.wsgi", "127.0.0.1", 8080)
    };
    assert_eq!(
        argv(Engine::Runserver, &dev, None),
        "manage.py runserver 127.0.0.1:8080"
    );
    let v6 = Settings {
        reload: Some(false),
        ..base("mysite.wsgi", "::1", 8080)
    };
    assert_eq!(
        argv(Engine::Runserver, &v6, None),
        "manage.py runserver [::1]:8080 --noreload"
    );
}

#[test]
fn django_runs_runserver_for_dev_and_a_production_server_otherwise() {
    assert_eq!(engine(ServerKind::Django, true, None), Engine::Runserver);
    assert_eq!(engine(ServerKind::Django, false, None), Engine::Gunicorn);
    assert_eq!(
        engine(ServerKind::Django, false, Some(Interface::Wsgi)),
        Engine::Gunicorn
    );
    assert_eq!(
        engine(ServerKind::Django, false, Some(Interface::Asgi)),
        Engine::Uvicorn
    );
    assert_eq!(engine(ServerKind::Uvicorn, true, None), Engine::Uvicorn);
}

#[test]
fn flask_debug_off_loopback_is_warned_about() {
    let on = |host: &str, debug| Settings {
        host: Some(Text(host.into())),
        debug: Some(debug),
        ..Settings::default()
    };
    let warning = flask_warning(&on("0.0.0.0", true)).unwrap();
    assert!(
        warning.contains("debug mode on 0.0.0.0 exposes Werkzeug's debugger"),
        "{warning}"
    );
    assert_eq!(flask_warning(&on("127.0.0.1", true)), None);
    assert_eq!(flask_warning(&on("0.0.0.0", false)), None);
}

#[test]
fn ipv6_hosts_are_bracketed() {
    assert_eq!(bind("::", 80), "[::]:80");
    assert_eq!(bind("[::1]", 80), "[::1]:80");
    assert_eq!(bind("127.0.0.1", 80), "127.0.0.1:80");
}

#[test]
fn every_row_is_found_and_its_defaults_name_real_keys_that_parse() {
    for row in SERVERS {
        assert_eq!(row.engine.row().engine, row.engine);
        for (key, value) in row.defaults.iter().copied().flatten().chain(row.dev) {
            let k =
                crate::plan::keys::find(key).unwrap_or_else(|| panic!("{:?}: {key}", row.engine));
            assert!(
                matches!(k.default, crate::plan::keys::Default::Server),
                "{:?}: {key}",
                row.engine
            );
            let mut merged = crate::plan::layers::Merged::default();
            merged.add_default(k.name, value);
            let (_, problems) = merged.settings();
            assert!(
                problems.is_empty(),
                "{:?}: {key} = {value}: {problems:?}",
                row.engine
            );
        }
    }
}

#[test]
fn tables_rewrite_as_documented() {
    let fwd = Rewrite::Forward;
    let plain = Settings::default();
    let one = Ctx {
        s: &plain,
        workers: Some(1),
    };
    let many = Ctx {
        s: &plain,
        workers: Some(4),
    };
    let rows = [
        // signal, gunicorn, flask/runserver, uvicorn (1), uvicorn (4), granian
        (
            Signal::TERM,
            fwd(Signal::TERM),
            fwd(Signal::TERM),
            fwd(Signal::TERM),
            fwd(Signal::TERM),
            fwd(Signal::TERM),
        ),
        (
            Signal::QUIT,
            fwd(Signal::QUIT),
            fwd(Signal::TERM),
            fwd(Signal::TERM),
            fwd(Signal::TERM),
            fwd(Signal::TERM),
        ),
        (
            Signal::HUP,
            fwd(Signal::HUP),
            Rewrite::Ignore,
            Rewrite::Ignore,
            fwd(Signal::HUP),
            fwd(Signal::HUP),
        ),
        (
            Signal::TTIN,
            fwd(Signal::TTIN),
            Rewrite::Ignore,
            Rewrite::Ignore,
            fwd(Signal::TTIN),
            Rewrite::Ignore,
        ),
        (
            Signal::USR1,
            fwd(Signal::USR1),
            Rewrite::Ignore,
            Rewrite::Ignore,
            Rewrite::Ignore,
            Rewrite::Ignore,
        ),
        (
            Signal::USR2,
            Rewrite::Ignore,
            Rewrite::Ignore,
            Rewrite::Ignore,
            Rewrite::Ignore,
            Rewrite::Ignore,
        ),
        (
            Signal::WINCH,
            fwd(Signal::WINCH),
            Rewrite::Ignore,
            Rewrite::Ignore,
            Rewrite::Ignore,
            Rewrite::Ignore,
        ),
    ];
    for (received, gunicorn, reloader, uvicorn_one, uvicorn_many, granian) in rows {
        assert_eq!(
            gunicorn_signals(&one).apply(received),
            gunicorn,
            "gunicorn {received}"
        );
        assert_eq!(
            reloader_signals().apply(received),
            reloader,
            "reloader {received}"
        );
        assert_eq!(
            uvicorn_signals(&one).apply(received),
            uvicorn_one,
            "uvicorn {received}"
        );
        assert_eq!(
            uvicorn_signals(&many).apply(received),
            uvicorn_many,
            "uvicorn workers {received}"
        );
        assert_eq!(
            granian_signals(&one).apply(received),
            granian,
            "granian {received}"
        );
    }
    let uvicorn_workers = Settings {
        worker_class: Some(Text("uvicorn_worker.UvicornWorker".into())),
        ..Settings::default()
    };
    let table = gunicorn_signals(&Ctx {
        s: &uvicorn_workers,
        workers: Some(2),
    });
    assert_eq!(
        table.apply(Signal::INT),
        fwd(Signal::TERM),
        "UvicornWorker ignores gunicorn's quick stop"
    );
    assert_eq!(table.apply(Signal::QUIT), fwd(Signal::TERM));
}

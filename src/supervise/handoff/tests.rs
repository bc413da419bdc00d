//! The hand-over state: every field survives the round trip, and anything that is not
//! a state liftoff wrote is refused with the reason.

use std::time::Duration;

use super::*;

/// A state with every field set to something other than its default.
fn full() -> Handoff {
    let rt = |n| Signal::from_raw(libc::SIGRTMIN() + n).unwrap();
    let mut table = SignalTable::flask();
    table.set(rt(2), Rewrite::Forward(Signal::USR1));
    table.set(Signal::USR1, Rewrite::Forward(rt(3)));
    table.set_resend_stop_after(Some(Duration::from_millis(2500)));
    Handoff {
        pid: 1,
        start: 123_456_789,
        main_pid: 4242,
        policy: Policy {
            target: SignalTarget::Child,
            table,
            stop_timeout: Duration::new(31_536_000_000, 999_999_999),
            success_codes: vec![0, 143, -1, i32::MIN],
            drain_delay: Duration::from_millis(1500),
        },
        log: (LogLevel::Debug, LogFormat::Json),
        comm: b"my liftoff=1".to_vec(),
    }
}

#[test]
fn every_field_survives_the_round_trip() {
    let empty = Handoff {
        policy: Policy {
            table: SignalTable::empty(),
            success_codes: Vec::new(),
            ..full().policy
        },
        comm: Vec::new(),
        ..full()
    };
    let gunicorn = Handoff {
        policy: Policy {
            table: SignalTable::gunicorn(),
            stop_timeout: Duration::MAX,
            drain_delay: Duration::ZERO,
            ..full().policy
        },
        log: (LogLevel::Info, LogFormat::Text),
        ..full()
    };
    for h in [full(), empty, gunicorn] {
        let text = encode(&h);
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(decode(&text), Ok(h), "{text}");
    }
}

#[test]
fn the_state_reads_as_one_line_of_words() {
    let text = encode(&full());
    assert!(
        text.starts_with(
            "v1 pid=1 start=123456789 child=4242 target=child stop=31536000000.999999999 drain=1.500000000 resend=2.500000000 codes=0,143,-1,-2147483648 table="
        ),
        "{text}"
    );
    assert!(
        text.ends_with(" log=debug,json comm=6d79206c6966746f66663d31"),
        "{text}"
    );
}

#[test]
fn anything_else_is_refused_with_the_reason() {
    let good = encode(&full());
    let rows: [(String, &str); 16] = [
        (String::new(), "does not start with `v1`"),
        (good.replacen("v1", "v2", 1), "does not start with `v1`"),
        (good.replace(" child=4242", ""), "`child` is missing"),
        (format!("{good} pid=1"), "`pid` is given twice"),
        (format!("{good} extra=1"), "`extra` is not a known key"),
        (format!("{good} loose"), "`loose` is not key=value"),
        (good.replace("child=4242", "child=x"), "`x` is not a number"),
        (
            good.replace("child=4242", "child=+4242"),
            "`+4242` is not a number",
        ),
        (
            good.replace("codes=0,143", "codes=0,,143"),
            "has an empty item",
        ),
        (
            good.replace("drain=1.500000000", "drain=1.5000000000"),
            "is not SECONDS.NANOSECONDS",
        ),
        (
            good.replace("drain=1.500000000", "drain=+1.500000000"),
            "`+1` is not a number",
        ),
        (good.replace("comm=6d79", "comm=6d7"), "is not hex"),
        (
            good.replace("log=debug", "log=loud"),
            "`loud` is not a log level",
        ),
        (good.replace("json", "xml"), "`xml` is not a log format"),
        (
            good.replace("table=", "table=99999:1,"),
            "`99999` is not a signal",
        ),
        (
            good.replace("table=", "table=1:15,"),
            "table entry for SIGHUP is given twice",
        ),
    ];
    for (text, reason) in rows {
        let err = decode(&text).unwrap_err();
        assert!(err.contains(reason), "{text:?}: {err}");
    }
    assert!(decode(&good.replace("target=child", "target=all")).is_err());
}

#[test]
fn a_state_is_this_process_own_only_with_its_pid_and_start_time() {
    let mut h = full();
    h.pid = std::process::id();
    h.start = start_time();
    assert!(h.start > 0, "no start time from /proc/self/stat");
    assert!(is_for_this_process(&h));
    for (pid, start) in [(h.pid + 1, h.start), (h.pid, h.start + 1)] {
        let other = Handoff {
            pid,
            start,
            ..h.clone()
        };
        assert!(!is_for_this_process(&other), "{pid} {start}");
    }
}

#[test]
fn only_a_child_of_this_process_is_taken_as_the_main_child() {
    let mut h = full();
    h.main_pid = 1;
    assert!(
        verify_child(&h)
            .unwrap_err()
            .contains("is not a child of this process")
    );
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    h.main_pid = i32::try_from(child.id()).unwrap();
    assert_eq!(verify_child(&h), Ok(()));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_test_binary_is_the_program_the_kernel_started() {
    // Run directly, not through the loader: the link names this very file.
    let path = own_binary().unwrap();
    assert_eq!(path, std::env::current_exe().unwrap());
}

#[test]
fn the_short_name_is_read_back_as_set() {
    // The test harness runs each test on its own thread, whose name this sets.
    let before = current_comm();
    restore_comm(b"handoff-test");
    assert_eq!(current_comm(), b"handoff-test");
    restore_comm(&before);
}

#[test]
fn only_the_state_entry_is_left_out_of_the_environment() {
    assert!(is_state_entry(b"LIFTOFF_HANDOFF=v1 pid=1"));
    assert!(is_state_entry(b"LIFTOFF_HANDOFF="));
    assert!(!is_state_entry(b"LIFTOFF_HANDOFFX=1"));
    assert!(!is_state_entry(b"LIFTOFF_HANDOF=1"));
    assert!(!is_state_entry(b"PATH=/bin"));
}

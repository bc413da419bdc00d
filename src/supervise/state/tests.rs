//! One test per row of the supervisor's behaviour (issue 3), driven by synthetic events
//! and instants.

use super::*;
use crate::signals::SignalTable;

const MAIN: i32 = 100;
const ORPHAN: i32 = 200;
const STOP: Duration = Duration::from_secs(10);

/// A state for `table` and `target` with a 10 s stop timeout and no success codes.
fn state(table: SignalTable, target: SignalTarget) -> State {
    state_with_codes(table, target, Vec::new())
}

/// Like [`state`], with success codes.
fn state_with_codes(table: SignalTable, target: SignalTarget, success_codes: Vec<i32>) -> State {
    let policy = Policy {
        target,
        table,
        stop_timeout: STOP,
        success_codes,
        drain_delay: Duration::ZERO,
        forwarded_stop_is_success: false,
    };
    State::new(policy, MAIN)
}

/// The instant `secs` seconds after `t0`.
fn at(t0: Instant, secs: f64) -> Instant {
    t0 + Duration::from_secs_f64(secs)
}

/// A send action.
fn send(to: SignalTarget, signal: Signal, cause: Cause) -> Action {
    Action::Send { to, signal, cause }
}

/// A signal to everything liftoff started.
fn kill_all(signal: Signal, cause: KillCause) -> Action {
    Action::KillAll { signal, cause }
}

use SignalTarget::{Child, Group};

/// gunicorn's built-in table (plan/servers.rs): USR2 dropped.
pub(super) fn gunicorn_table() -> SignalTable {
    let mut table = SignalTable::empty();
    table.set(Signal::USR2, Rewrite::Ignore);
    table
}

/// Flask's built-in table (plan/servers.rs): QUIT becomes TERM; HUP, USR1, USR2, TTIN,
/// TTOU and WINCH are dropped.
pub(super) fn flask_table() -> SignalTable {
    let mut table = SignalTable::empty();
    table.set(Signal::QUIT, Rewrite::Forward(Signal::TERM));
    for signal in [
        Signal::HUP,
        Signal::USR1,
        Signal::USR2,
        Signal::TTIN,
        Signal::TTOU,
        Signal::WINCH,
    ] {
        table.set(signal, Rewrite::Ignore);
    }
    table
}

/// SIGALRM, which has no constant (liftoff itself never names it).
fn alrm() -> Signal {
    "ALRM".parse().unwrap()
}

/// The main child's exit.
fn main_exit(status: Status) -> Event {
    Event::Exited { pid: MAIN, status }
}

#[test]
fn signals_are_forwarded_to_the_target_after_the_table() {
    let t0 = Instant::now();
    let rows = [
        (
            SignalTable::empty(),
            Group,
            Signal::HUP,
            vec![send(Group, Signal::HUP, Cause::Forward)],
        ),
        (
            SignalTable::empty(),
            Child,
            Signal::USR2,
            vec![send(Child, Signal::USR2, Cause::Forward)],
        ),
        (
            gunicorn_table(),
            Child,
            Signal::HUP,
            vec![send(Child, Signal::HUP, Cause::Forward)],
        ),
        (
            gunicorn_table(),
            Child,
            Signal::TTIN,
            vec![send(Child, Signal::TTIN, Cause::Forward)],
        ),
        (gunicorn_table(), Child, Signal::USR2, vec![]),
        (flask_table(), Group, Signal::HUP, vec![]),
        (flask_table(), Group, Signal::USR1, vec![]),
        (flask_table(), Group, Signal::WINCH, vec![]),
        (
            flask_table(),
            Group,
            alrm(),
            vec![send(Group, alrm(), Cause::Forward)],
        ),
    ];
    for (table, target, received, expected) in rows {
        let mut s = state(table, target);
        assert_eq!(
            s.handle(Event::Signal(received), t0),
            expected,
            "{received} to {target}"
        );
        assert_eq!(
            s.deadline(),
            None,
            "{received} must not arm the stop timeout"
        );
    }
}

#[test]
fn realtime_signals_are_forwarded() {
    let t0 = Instant::now();
    let rt: Signal = "RTMIN+3".parse().unwrap();
    let mut s = state(SignalTable::empty(), Group);
    assert_eq!(
        s.handle(Event::Signal(rt), t0),
        [send(Group, rt, Cause::Forward)]
    );
}

#[test]
fn first_shutdown_signal_is_forwarded_and_arms_the_stop_timeout() {
    for received in [Signal::TERM, Signal::INT, Signal::QUIT] {
        let t0 = Instant::now();
        let mut s = state(SignalTable::empty(), Child);
        assert_eq!(
            s.handle(Event::Signal(received), t0),
            [send(Child, received, Cause::Forward)]
        );
        assert_eq!(s.deadline(), Some(t0 + STOP), "{received}");
    }
}

#[test]
fn rewritten_shutdown_signal_is_what_the_child_gets() {
    let t0 = Instant::now();
    let mut s = state(flask_table(), Group);
    assert_eq!(
        s.handle(Event::Signal(Signal::QUIT), t0),
        [send(Group, Signal::TERM, Cause::Forward)]
    );
    assert_eq!(s.deadline(), Some(t0 + STOP));
}

#[test]
fn a_signal_rewritten_to_a_shutdown_signal_stops_like_one() {
    let t0 = Instant::now();
    let mut table = SignalTable::empty();
    table.set(Signal::HUP, Rewrite::Forward(Signal::TERM));
    let mut s = state(table, Child);
    assert_eq!(
        s.handle(Event::Signal(Signal::HUP), t0),
        [send(Child, Signal::TERM, Cause::Forward)]
    );
    assert_eq!(s.deadline(), Some(t0 + STOP), "the stop timeout is armed");
    assert_eq!(s.shutdown(), Some(Signal::HUP));
    assert_eq!(
        s.handle(Event::Signal(Signal::HUP), at(t0, 1.0)),
        [kill_all(Signal::KILL, KillCause::SecondSignal)]
    );
}

#[test]
fn ignored_shutdown_signal_does_nothing_at_all() {
    let t0 = Instant::now();
    let mut table = SignalTable::empty();
    table.set(Signal::TERM, Rewrite::Ignore);
    let mut s = state(table, Child);
    assert_eq!(s.handle(Event::Signal(Signal::TERM), t0), []);
    assert_eq!(s.deadline(), None);
    assert_eq!(
        s.handle(Event::Signal(Signal::TERM), t0),
        [],
        "a second one does not escalate"
    );
}

#[test]
fn second_shutdown_signal_kills_everything_at_once() {
    for (first, second) in [
        (Signal::TERM, Signal::TERM),
        (Signal::TERM, Signal::INT),
        (Signal::INT, Signal::QUIT),
    ] {
        let t0 = Instant::now();
        let mut s = state(SignalTable::empty(), Child);
        s.handle(Event::Signal(first), t0);
        let actions = s.handle(Event::Signal(second), at(t0, 0.5));
        assert_eq!(
            actions,
            [kill_all(Signal::KILL, KillCause::SecondSignal)],
            "{first} then {second}"
        );
        assert_eq!(
            s.deadline(),
            Some(at(t0, 0.5) + KILL_GRACE),
            "KILL again for what was forked meanwhile"
        );
        assert_eq!(
            s.handle(Event::Signal(second), at(t0, 0.6)),
            [],
            "a third one adds nothing"
        );
    }
}

#[test]
fn other_signals_are_still_forwarded_while_stopping() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Group);
    s.handle(Event::Signal(Signal::TERM), t0);
    assert_eq!(
        s.handle(Event::Signal(Signal::WINCH), at(t0, 1.0)),
        [send(Group, Signal::WINCH, Cause::Forward)]
    );
    assert_eq!(s.deadline(), Some(t0 + STOP), "the deadline stays");
}

#[test]
fn stop_deadline_kills_everything() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Child);
    s.handle(Event::Signal(Signal::TERM), t0);
    assert_eq!(
        s.handle(Event::Timer, at(t0, 9.9)),
        [],
        "woken early: nothing yet"
    );
    assert_eq!(
        s.handle(Event::Timer, at(t0, 10.0)),
        [kill_all(Signal::KILL, KillCause::StopTimeout)]
    );
    assert_eq!(s.deadline(), Some(at(t0, 10.0) + KILL_GRACE));
    // The KILL shows up as the main child's status: 137.
    assert_eq!(
        s.handle(main_exit(Status::Killed(libc::SIGKILL)), at(t0, 10.1)),
        []
    );
    assert_eq!(
        s.handle(Event::NoChildren, at(t0, 10.1)),
        [Action::Exit(137)]
    );
}

#[test]
fn the_stop_signal_goes_once_and_a_server_that_ignores_it_is_killed_at_the_deadline() {
    // A second TERM reaching gunicorn while Python tears down (handlers back to their
    // defaults) killed a master that was exiting 0: the stop signal is never repeated.
    let t0 = Instant::now();
    for table in [gunicorn_table(), flask_table()] {
        let mut s = state(table, Child);
        assert_eq!(
            s.handle(Event::Signal(Signal::TERM), t0),
            [send(Child, Signal::TERM, Cause::Forward)]
        );
        assert_eq!(s.deadline(), Some(t0 + STOP), "nothing before the deadline");
        for woken in [0.5, 2.0, 5.0, 9.9] {
            assert_eq!(s.handle(Event::Timer, at(t0, woken)), [], "at {woken} s");
        }
        assert_eq!(
            s.handle(Event::Timer, at(t0, 10.0)),
            [kill_all(Signal::KILL, KillCause::StopTimeout)]
        );
    }
}

#[test]
fn exit_status_maps_to_code_or_128_plus_signal() {
    let rows = [
        (Status::Exited(0), 0),
        (Status::Exited(1), 1),
        (Status::Exited(2), 2),
        (Status::Exited(127), 127),
        (Status::Exited(254), 254),
        (Status::Exited(255), 255),
        (Status::Killed(libc::SIGHUP), 129),
        (Status::Killed(libc::SIGKILL), 137),
        (Status::Killed(libc::SIGTERM), 143),
    ];
    for (status, code) in rows {
        let t0 = Instant::now();
        let mut s = state(SignalTable::empty(), Group);
        s.handle(main_exit(status), t0);
        assert_eq!(
            s.handle(Event::NoChildren, t0),
            [Action::Exit(code)],
            "{status:?}"
        );
    }
}

#[test]
fn success_codes_become_zero() {
    let rows = [
        (vec![143], Status::Killed(libc::SIGTERM), 0),
        (vec![143], Status::Exited(143), 0),
        (vec![143], Status::Killed(libc::SIGKILL), 137),
        (vec![3, 4], Status::Exited(4), 0),
        (vec![3, 4], Status::Exited(5), 5),
    ];
    for (codes, status, code) in rows {
        let t0 = Instant::now();
        let mut s = state_with_codes(SignalTable::empty(), Group, codes.clone());
        s.handle(main_exit(status), t0);
        assert_eq!(
            s.handle(Event::NoChildren, t0),
            [Action::Exit(code)],
            "{codes:?} {status:?}"
        );
    }
}

#[test]
fn main_exit_stops_everything_left_then_kills_it_at_the_timeout() {
    let t0 = Instant::now();
    let mut s = state(gunicorn_table(), Child);
    let actions = s.handle(main_exit(Status::Exited(3)), t0);
    assert_eq!(actions, [kill_all(Signal::TERM, KillCause::MainExited)]);
    assert_eq!(s.main_status(), Some(Status::Exited(3)));
    assert_eq!(s.deadline(), Some(t0 + STOP));
    assert_eq!(
        s.handle(
            Event::Exited {
                pid: ORPHAN,
                status: Status::Exited(0)
            },
            at(t0, 1.0)
        ),
        []
    );
    assert_eq!(
        s.handle(Event::Timer, at(t0, 10.0)),
        [kill_all(Signal::KILL, KillCause::DrainTimeout)]
    );
    assert_eq!(s.deadline(), Some(at(t0, 10.0) + KILL_GRACE));
    assert_eq!(s.handle(Event::NoChildren, at(t0, 10.1)), [Action::Exit(3)]);
}

#[test]
fn liftoff_exits_only_once_no_child_is_left() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Group);
    s.handle(main_exit(Status::Exited(0)), t0);
    s.handle(Event::Timer, at(t0, 10.0));
    assert_eq!(s.handle(Event::Timer, at(t0, 10.5)), [], "woken early");
    // Something survived the first SIGKILL (forked while the tree was walked, or
    // stuck in the kernel): it gets another, again and again, and liftoff waits.
    for round in 1..=5 {
        let now = at(t0, 10.0 + f64::from(round));
        assert_eq!(
            s.handle(Event::Timer, now),
            [kill_all(Signal::KILL, KillCause::Leftover)],
            "round {round}"
        );
        assert_eq!(s.deadline(), Some(now + KILL_GRACE));
    }
    assert_eq!(s.handle(Event::NoChildren, at(t0, 15.5)), [Action::Exit(0)]);
}

#[test]
fn main_exit_during_a_stop_leaves_the_rest_only_what_is_left_of_the_stop_timeout() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Child);
    s.handle(Event::Signal(Signal::TERM), t0);
    assert_eq!(
        s.handle(main_exit(Status::Exited(0)), at(t0, 7.0)),
        [kill_all(Signal::TERM, KillCause::MainExited)]
    );
    assert_eq!(s.deadline(), Some(t0 + STOP), "not a new stop timeout");
    assert_eq!(
        s.handle(Event::Timer, t0 + STOP),
        [kill_all(Signal::KILL, KillCause::DrainTimeout)]
    );
    assert_eq!(s.handle(Event::NoChildren, at(t0, 10.1)), [Action::Exit(0)]);
}

#[test]
fn a_shutdown_signal_while_draining_kills_everything_at_once() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Group);
    s.handle(main_exit(Status::Exited(0)), t0);
    assert_eq!(
        s.handle(Event::Signal(Signal::HUP), at(t0, 0.5)),
        [],
        "no main child to forward to"
    );
    let actions = s.handle(Event::Signal(Signal::TERM), at(t0, 1.0));
    assert_eq!(actions, [kill_all(Signal::KILL, KillCause::SecondSignal)]);
    assert_eq!(s.deadline(), Some(at(t0, 1.0) + KILL_GRACE));
    assert_eq!(s.handle(Event::Signal(Signal::TERM), at(t0, 1.1)), []);
}

#[test]
fn a_killed_main_child_needs_no_term_for_its_group() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Child);
    s.handle(Event::Signal(Signal::TERM), t0);
    s.handle(Event::Signal(Signal::TERM), at(t0, 0.1));
    assert_eq!(
        s.handle(main_exit(Status::Killed(libc::SIGKILL)), at(t0, 0.2)),
        []
    );
    assert_eq!(
        s.handle(Event::NoChildren, at(t0, 0.2)),
        [Action::Exit(137)]
    );
}

#[test]
fn orphans_never_replace_the_main_childs_status() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Group);
    let orphan = |code| Event::Exited {
        pid: ORPHAN,
        status: Status::Exited(code),
    };
    assert_eq!(s.handle(orphan(9), t0), []);
    assert_eq!(
        s.handle(Event::NoChildren, t0),
        [],
        "the main child is not reaped yet"
    );
    s.handle(main_exit(Status::Exited(7)), t0);
    assert_eq!(s.handle(orphan(1), t0), []);
    assert_eq!(
        s.handle(
            Event::Exited {
                pid: ORPHAN + 1,
                status: Status::Killed(9)
            },
            t0
        ),
        []
    );
    assert_eq!(s.handle(Event::NoChildren, t0), [Action::Exit(7)]);
}

#[test]
fn idle_supervision_has_no_deadline() {
    let mut s = state(gunicorn_table(), Child);
    assert_eq!(
        s.deadline(),
        None,
        "no timer while running: liftoff sleeps in the kernel"
    );
    s.handle(Event::Signal(Signal::HUP), Instant::now());
    assert_eq!(s.deadline(), None);
}

#[test]
fn huge_durations_never_overflow_a_deadline() {
    let t0 = Instant::now();
    let policy = |stop_timeout, drain_delay| Policy {
        target: Group,
        table: gunicorn_table(),
        stop_timeout,
        success_codes: Vec::new(),
        drain_delay,
        forwarded_stop_is_success: false,
    };
    for (stop, drain) in [
        (Duration::MAX, Duration::ZERO),
        (Duration::MAX, Duration::MAX),
        (STOP, Duration::MAX),
    ] {
        let mut s = State::new(policy(stop, drain), MAIN);
        s.handle(Event::Signal(Signal::TERM), t0);
        let deadline = s.deadline().expect("a deadline");
        assert!(deadline > at(t0, 1.0), "{stop:?} {drain:?}: {deadline:?}");
        assert_eq!(
            s.handle(Event::Timer, at(t0, 1.0)),
            [],
            "{stop:?} {drain:?}"
        );
        let mut s = State::new(policy(stop, drain), MAIN);
        s.handle(main_exit(Status::Exited(0)), t0);
        assert!(s.deadline().expect("a deadline") > at(t0, 1.0));
    }
}

#[test]
fn statuses_read_as_words_in_the_final_log_line() {
    let rt = libc::SIGRTMIN() + 3;
    let rows = [
        (Status::Exited(5), "exited with 5".to_string()),
        (
            Status::Killed(libc::SIGTERM),
            "killed by SIGTERM".to_string(),
        ),
        (Status::Killed(rt), "killed by SIGRTMIN+3".to_string()),
        (Status::Killed(32), "killed by signal 32".to_string()),
    ];
    for (status, text) in rows {
        assert_eq!(status.to_string(), text);
    }
}

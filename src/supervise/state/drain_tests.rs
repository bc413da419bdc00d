//! The drain delay (issue 6): the first shutdown signal is held while the server keeps
//! serving, a second one skips what is left of the delay, and the whole delay counts
//! inside the stop timeout.

use super::tests::{flask_table, gunicorn_table};
use super::*;
use crate::signals::SignalTable;

const MAIN: i32 = 100;
const STOP: Duration = Duration::from_secs(28);
const DRAIN: Duration = Duration::from_secs(5);

/// A state with a 5 s drain delay and a 28 s stop timeout.
fn state(table: SignalTable, target: SignalTarget) -> State {
    let policy = Policy {
        target,
        table,
        stop_timeout: STOP,
        success_codes: Vec::new(),
        drain_delay: DRAIN,
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

use SignalTarget::{Child, Group};

#[test]
fn the_first_shutdown_signal_is_held_for_the_delay_then_forwarded() {
    for (table, target, received, forwarded) in [
        (SignalTable::empty(), Group, Signal::TERM, Signal::TERM),
        (SignalTable::empty(), Child, Signal::INT, Signal::INT),
        (flask_table(), Group, Signal::QUIT, Signal::TERM),
    ] {
        let t0 = Instant::now();
        let mut s = state(table, target);
        assert_eq!(
            s.handle(Event::Signal(received), t0),
            [Action::Hold {
                signal: forwarded,
                delay: DRAIN
            }],
            "{received}"
        );
        assert_eq!(
            s.deadline(),
            Some(at(t0, 5.0)),
            "wake at the end of the delay"
        );
        assert_eq!(s.handle(Event::Timer, at(t0, 4.9)), [], "woken early");
        assert_eq!(
            s.handle(Event::Timer, at(t0, 5.0)),
            [send(target, forwarded, Cause::DrainDelayOver)]
        );
        assert_eq!(
            s.deadline(),
            Some(t0 + STOP),
            "{received}: the delay counts inside the stop timeout"
        );
        assert_eq!(s.shutdown(), Some(received));
    }
}

#[test]
fn other_signals_are_forwarded_during_the_delay() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Group);
    s.handle(Event::Signal(Signal::TERM), t0);
    assert_eq!(
        s.handle(Event::Signal(Signal::HUP), at(t0, 1.0)),
        [send(Group, Signal::HUP, Cause::Forward)]
    );
    assert_eq!(s.deadline(), Some(at(t0, 5.0)), "the delay is unchanged");
}

#[test]
fn a_second_shutdown_signal_skips_the_delay_and_a_third_kills() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Child);
    s.handle(Event::Signal(Signal::TERM), t0);
    assert_eq!(
        s.handle(Event::Signal(Signal::INT), at(t0, 1.0)),
        [send(Child, Signal::TERM, Cause::DrainDelaySkipped)],
        "the held signal goes out at once"
    );
    assert_eq!(
        s.deadline(),
        Some(t0 + STOP),
        "still counted from the first"
    );
    assert_eq!(s.handle(Event::Timer, at(t0, 5.0)), [], "no second forward");
    assert_eq!(
        s.handle(Event::Signal(Signal::TERM), at(t0, 6.0)),
        [Action::KillAll {
            signal: Signal::KILL,
            cause: KillCause::SecondSignal
        }]
    );
    assert_eq!(
        s.shutdown(),
        Some(Signal::TERM),
        "the first one is remembered"
    );
}

#[test]
fn after_the_drain_delay_the_stop_signal_goes_once() {
    let t0 = Instant::now();
    let mut s = state(gunicorn_table(), Child);
    s.handle(Event::Signal(Signal::TERM), t0);
    assert_eq!(
        s.handle(Event::Timer, at(t0, 5.0)),
        [send(Child, Signal::TERM, Cause::DrainDelayOver)]
    );
    assert_eq!(
        s.deadline(),
        Some(t0 + STOP),
        "the stop deadline counts from t0"
    );
    assert_eq!(s.handle(Event::Timer, at(t0, 7.0)), []);
}

#[test]
fn a_delay_as_long_as_the_stop_timeout_ends_in_sigkill() {
    let t0 = Instant::now();
    let policy = Policy {
        target: Group,
        table: SignalTable::empty(),
        stop_timeout: Duration::from_secs(3),
        success_codes: Vec::new(),
        drain_delay: Duration::from_secs(3),
        forwarded_stop_is_success: false,
    };
    let mut s = State::new(policy, MAIN);
    s.handle(Event::Signal(Signal::TERM), t0);
    assert_eq!(
        s.handle(Event::Timer, at(t0, 3.0)),
        [Action::KillAll {
            signal: Signal::KILL,
            cause: KillCause::StopTimeout
        }],
        "the stop timeout wins (plan warns about this budget)"
    );
}

#[test]
fn the_server_exiting_during_the_delay_ends_it() {
    let t0 = Instant::now();
    let mut s = state(SignalTable::empty(), Group);
    s.handle(Event::Signal(Signal::TERM), t0);
    let exited = Event::Exited {
        pid: MAIN,
        status: Status::Exited(0),
    };
    assert_eq!(
        s.handle(exited, at(t0, 1.0)),
        [Action::KillAll {
            signal: Signal::TERM,
            cause: KillCause::MainExited
        }]
    );
    assert_eq!(s.handle(Event::NoChildren, at(t0, 1.1)), [Action::Exit(0)]);
}

#[test]
fn without_a_delay_nothing_is_held_and_nothing_is_remembered_for_other_signals() {
    let t0 = Instant::now();
    let policy = Policy {
        target: Group,
        table: SignalTable::empty(),
        stop_timeout: STOP,
        success_codes: Vec::new(),
        drain_delay: Duration::ZERO,
        forwarded_stop_is_success: false,
    };
    let mut s = State::new(policy, MAIN);
    s.handle(Event::Signal(Signal::HUP), t0);
    assert_eq!(s.shutdown(), None);
    assert_eq!(
        s.handle(Event::Signal(Signal::TERM), t0),
        [send(Group, Signal::TERM, Cause::Forward)]
    );
    assert_eq!(s.shutdown(), Some(Signal::TERM));
}

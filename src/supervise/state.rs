//! The supervisor's decisions, with no syscalls: events in, actions out. Time is passed
//! in, so tests drive every row of the shutdown timeline with synthetic instants.

use std::fmt;
use std::time::{Duration, Instant};

pub use crate::launch::Stop as Policy;
use crate::signals::{Rewrite, Signal, SignalTarget, later};

/// How often SIGKILL is repeated to whatever is left (forked or re-parented since the last
/// round); liftoff exits only once `waitpid` says no child is left.
pub const KILL_GRACE: Duration = Duration::from_secs(1);

/// How a process ended, as `waitpid` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    /// Signal N (a raw number: it may be real-time) killed it.
    Killed(i32),
}

impl Status {
    /// The shell's convention (Docker and Kubernetes report it too): the code, or 128+N.
    pub fn code(self) -> i32 {
        match self {
            Status::Exited(code) => code,
            Status::Killed(signal) => 128 + signal,
        }
    }
}

impl fmt::Display for Status {
    /// `exited with 3` or `killed by SIGTERM`, for the log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Status::Exited(code) => write!(f, "exited with {code}"),
            Status::Killed(raw) => match Signal::from_raw(raw) {
                Some(signal) => write!(f, "killed by {signal}"),
                None => write!(f, "killed by signal {raw}"),
            },
        }
    }
}

/// Something the supervisor loop observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Liftoff received this signal (never CHLD: that becomes reaping).
    Signal(Signal),
    /// `waitpid` reaped this process.
    Exited { pid: i32, status: Status },
    /// `waitpid` said there are no children left at all.
    NoChildren,
    /// The earliest deadline from [`State::deadline`] passed.
    Timer,
}

/// Why a signal is being sent to the target, for the log and the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    Forward,
    DrainDelayOver,
    DrainDelaySkipped,
}

/// Why everything liftoff started is being signalled, for the log and the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillCause {
    SecondSignal,
    StopTimeout,
    MainExited,
    /// The main child exited and other processes outlived the stop timeout.
    DrainTimeout,
    Leftover,
}

/// What the loop must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send `signal` to the main child or its process group.
    Send {
        to: SignalTarget,
        signal: Signal,
        cause: Cause,
    },
    /// Send `signal` to every process liftoff started (as PID 1: the whole namespace).
    KillAll { signal: Signal, cause: KillCause },
    /// Hold the shutdown `signal` back for `delay` (the drain delay): only to say so.
    Hold { signal: Signal, delay: Duration },
    /// Exit liftoff with this code: `waitpid` said no child is left.
    Exit(i32),
}

/// Where the supervision is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The main child runs; signals are forwarded.
    Running,
    /// A shutdown signal is held until `until` (the drain delay); SIGKILL at `deadline`.
    Delaying {
        until: Instant,
        deadline: Instant,
        signal: Signal,
    },
    /// The stop signal was forwarded, once: a repeat can kill a server already exiting
    /// cleanly (Python resets its handlers before teardown). SIGKILL at `deadline`.
    Stopping { deadline: Instant },
    /// The main child exited with `code` and the rest got SIGTERM; SIGKILL at `deadline`.
    Draining { code: i32, deadline: Instant },
    /// Everything got SIGKILL; again at `again` until every child is reaped.
    Killed { code: Option<i32>, again: Instant },
}

/// The supervisor's state: the policy, the main child and the phase.
#[derive(Debug)]
pub struct State {
    policy: Policy,
    main_pid: i32,
    phase: Phase,
    /// The first shutdown signal as received (before the table), to tell stopped from done.
    shutdown: Option<Signal>,
    main_status: Option<Status>,
    /// The stop signal liftoff forwarded (after the table), once it did.
    sent_stop: Option<Signal>,
}

impl State {
    /// A state for a freshly spawned main child.
    pub fn new(policy: Policy, main_pid: i32) -> State {
        State {
            policy,
            main_pid,
            phase: Phase::Running,
            shutdown: None,
            main_status: None,
            sent_stop: None,
        }
    }

    /// The first shutdown signal liftoff received, if any.
    pub fn shutdown(&self) -> Option<Signal> {
        self.shutdown
    }

    /// How the main child ended (before `success_codes`), once it did.
    pub fn main_status(&self) -> Option<Status> {
        self.main_status
    }

    /// When [`Event::Timer`] must be delivered; `None`: wait for signals only.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Running => None,
            Phase::Delaying {
                until, deadline, ..
            } => Some(until.min(deadline)),
            Phase::Stopping { deadline } | Phase::Draining { deadline, .. } => Some(deadline),
            Phase::Killed { again, .. } => Some(again),
        }
    }

    /// Decides what to do about `event`, observed at `now`.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        match event {
            Event::Signal(signal) => self.on_signal(signal, now),
            Event::Exited { pid, status } if pid == self.main_pid => self.on_main_exit(status, now),
            Event::Exited { .. } => Vec::new(),
            Event::NoChildren => self.on_no_children(),
            Event::Timer => self.on_timer(now),
        }
    }

    /// A received signal: forward it, arm the stop timeout, or escalate.
    fn on_signal(&mut self, received: Signal, now: Instant) -> Vec<Action> {
        let Rewrite::Forward(signal) = self.policy.table.apply(received) else {
            return Vec::new();
        };
        // The same test as during `wait_for`.
        let shutdown = self.policy.table.stops(received);
        if shutdown && self.shutdown.is_none() {
            self.shutdown = Some(received);
        }
        match self.phase {
            Phase::Running if shutdown && !self.policy.drain_delay.is_zero() => {
                let delay = self.policy.drain_delay;
                self.phase = Phase::Delaying {
                    until: later(now, delay),
                    deadline: later(now, self.policy.stop_timeout),
                    signal,
                };
                vec![Action::Hold { signal, delay }]
            }
            Phase::Running if shutdown => {
                let deadline = later(now, self.policy.stop_timeout);
                vec![self.stop(signal, deadline, Cause::Forward)]
            }
            Phase::Delaying {
                deadline,
                signal: held,
                ..
            } if shutdown => vec![self.stop(held, deadline, Cause::DrainDelaySkipped)],
            Phase::Running | Phase::Delaying { .. } | Phase::Stopping { .. } if !shutdown => {
                vec![self.forward(signal, Cause::Forward)]
            }
            Phase::Stopping { .. } => vec![self.kill_all(None, now, KillCause::SecondSignal)],
            Phase::Draining { code, .. } if shutdown => {
                vec![self.kill_all(Some(code), now, KillCause::SecondSignal)]
            }
            // Everything is dying, or only stragglers being stopped anyway are left.
            Phase::Running
            | Phase::Delaying { .. }
            | Phase::Killed { .. }
            | Phase::Draining { .. } => Vec::new(),
        }
    }

    /// The main child exited: remember its code and stop everything left, within what is
    /// left of a running stop timeout.
    fn on_main_exit(&mut self, status: Status, now: Instant) -> Vec<Action> {
        self.main_status = Some(status);
        let code = self.reported(status);
        let fresh = later(now, self.policy.stop_timeout);
        let deadline = match self.phase {
            Phase::Running => fresh,
            Phase::Delaying { deadline, .. } | Phase::Stopping { deadline, .. } => {
                deadline.min(fresh)
            }
            Phase::Killed { again, .. } => {
                self.phase = Phase::Killed {
                    code: Some(code),
                    again,
                };
                return Vec::new();
            }
            // The main child exits once; a second report changes nothing.
            Phase::Draining { .. } => return Vec::new(),
        };
        self.phase = Phase::Draining { code, deadline };
        vec![Action::KillAll {
            signal: Signal::TERM,
            cause: KillCause::MainExited,
        }]
    }

    /// The code reported for the main child: 0 for a success code, or a death by the stop
    /// signal liftoff forwarded when `forwarded_stop_is_success`.
    fn reported(&self, status: Status) -> i32 {
        let code = status.code();
        let stopped_by_us =
            matches!(status, Status::Killed(raw) if self.sent_stop.is_some_and(|s| s.raw() == raw));
        if self.policy.success_codes.contains(&code)
            || (stopped_by_us && self.policy.forwarded_stop_is_success)
        {
            0
        } else {
            code
        }
    }

    /// Nothing left to reap: done once the main child has been reaped.
    fn on_no_children(&mut self) -> Vec<Action> {
        match self.phase {
            Phase::Draining { code, .. }
            | Phase::Killed {
                code: Some(code), ..
            } => vec![Action::Exit(code)],
            // Unreachable while the main child is unreaped: it is our child.
            Phase::Running
            | Phase::Delaying { .. }
            | Phase::Stopping { .. }
            | Phase::Killed { code: None, .. } => Vec::new(),
        }
    }

    /// A deadline passed: the held stop signal, or SIGKILL everything (again).
    fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        match self.phase {
            Phase::Delaying { deadline, .. } | Phase::Stopping { deadline, .. }
                if now >= deadline =>
            {
                vec![self.kill_all(None, now, KillCause::StopTimeout)]
            }
            Phase::Delaying {
                until,
                deadline,
                signal,
            } if now >= until => vec![self.stop(signal, deadline, Cause::DrainDelayOver)],
            Phase::Draining { code, deadline } if now >= deadline => {
                vec![self.kill_all(Some(code), now, KillCause::DrainTimeout)]
            }
            Phase::Killed { code, again } if now >= again => {
                vec![self.kill_all(code, now, KillCause::Leftover)]
            }
            // Woken early (timers are not exact): wait again for the same deadline.
            Phase::Running
            | Phase::Delaying { .. }
            | Phase::Stopping { .. }
            | Phase::Draining { .. }
            | Phase::Killed { .. } => Vec::new(),
        }
    }

    /// Forwards the stop `signal` now, with SIGKILL at `deadline`.
    fn stop(&mut self, signal: Signal, deadline: Instant, cause: Cause) -> Action {
        self.phase = Phase::Stopping { deadline };
        self.sent_stop = Some(signal);
        self.forward(signal, cause)
    }

    /// SIGKILL to everything, and again after [`KILL_GRACE`] for whatever is left then.
    fn kill_all(&mut self, code: Option<i32>, now: Instant, cause: KillCause) -> Action {
        self.phase = Phase::Killed {
            code,
            again: later(now, KILL_GRACE),
        };
        Action::KillAll {
            signal: Signal::KILL,
            cause,
        }
    }

    /// Sends `signal` to the configured target.
    fn forward(&self, signal: Signal, cause: Cause) -> Action {
        Action::Send {
            to: self.policy.target,
            signal,
            cause,
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod drain_tests;

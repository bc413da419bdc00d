//! The supervisor's decisions, with no syscalls: events in (a signal arrived, a child
//! exited, no children are left, a deadline passed), actions out (send a signal, exit).
//!
//! Time is passed in, so tests drive every row of the shutdown timeline with
//! synthetic instants.

use std::time::{Duration, Instant};

use crate::signals::{Rewrite, Signal, SignalTable, SignalTarget};

/// How long the reaper waits, after SIGKILLing the group of a main child that already
/// exited, for stragglers outside the group before exiting anyway. SIGKILLed processes
/// are gone in milliseconds; only a process that left the group (`setsid`) can stay,
/// and as PID 1 liftoff's exit takes it down with the namespace.
pub const KILL_GRACE: Duration = Duration::from_secs(1);

/// How a process ended, as `waitpid` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// It called `exit(code)`.
    Exited(i32),
    /// Signal N (a raw number: it may be real-time) killed it.
    Killed(i32),
}

impl Status {
    /// The shell's convention, which Docker and Kubernetes report too: the exit code,
    /// or 128+N when signal N killed it.
    pub fn code(self) -> i32 {
        match self {
            Status::Exited(code) => code,
            Status::Killed(signal) => 128 + signal,
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

/// Why a signal is being sent, for the log and the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A received signal, after the rewrite table.
    Forward,
    /// The drain delay passed: the held shutdown signal goes out.
    DrainDelayOver,
    /// A second shutdown signal cut the drain delay short.
    DrainDelaySkipped,
    /// The stop signal again, in case the child lost the first (gunicorn).
    Resend,
    /// A second shutdown signal arrived while stopping.
    SecondSignal,
    /// The stop timeout passed with the main child still running.
    StopTimeout,
    /// The main child exited; what is left of its group is asked to stop.
    MainExited,
    /// The main child exited and its group outlived the stop timeout.
    DrainTimeout,
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
    /// Hold the shutdown `signal` back for `delay` (the drain delay), so the server keeps
    /// serving while the load balancer deregisters it; nothing to send yet, only to say.
    Hold { signal: Signal, delay: Duration },
    /// Exit liftoff with this code: everything is reaped (or given up on, see
    /// [`KILL_GRACE`]).
    Exit(i32),
}

/// The fixed part of the decisions: from the spec.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Where forwarded signals go.
    pub target: SignalTarget,
    /// Received signal → forwarded signal or nothing.
    pub table: SignalTable,
    /// Time from the first shutdown signal (or the main child's exit) to SIGKILL.
    pub stop_timeout: Duration,
    /// Exit codes (after the 128+N mapping) that liftoff reports as 0.
    pub success_codes: Vec<i32>,
    /// Time from the first shutdown signal to forwarding it; counts inside the stop timeout.
    pub drain_delay: Duration,
}

/// Where the supervision is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The main child runs; signals are forwarded.
    Running,
    /// A shutdown signal arrived and is held until `until` (the drain delay) while the
    /// server keeps serving; SIGKILL at `deadline` all the same.
    Delaying {
        until: Instant,
        deadline: Instant,
        signal: Signal,
    },
    /// A shutdown signal was forwarded; SIGKILL at `deadline`, maybe a resend before.
    Stopping {
        deadline: Instant,
        resend: Option<(Instant, Signal)>,
    },
    /// The group got SIGKILL; waiting for the main child to be reaped.
    Killed,
    /// The main child exited with `code`; waiting for the rest of its group and any
    /// orphans. At `deadline` the group gets SIGKILL (`killed` false) or liftoff gives
    /// up waiting (`killed` true).
    Draining {
        code: i32,
        deadline: Instant,
        killed: bool,
    },
}

/// The supervisor's state: the policy, the main child and the phase.
#[derive(Debug)]
pub struct State {
    policy: Policy,
    main_pid: i32,
    phase: Phase,
    /// The first shutdown signal received (whatever the table made of it), so that the
    /// caller can tell "the child was stopped" from "the child finished".
    shutdown: Option<Signal>,
}

impl State {
    /// A state for a freshly spawned main child.
    pub fn new(policy: Policy, main_pid: i32) -> State {
        State {
            policy,
            main_pid,
            phase: Phase::Running,
            shutdown: None,
        }
    }

    /// The first shutdown signal liftoff received, if any.
    pub fn shutdown(&self) -> Option<Signal> {
        self.shutdown
    }

    /// The earliest instant at which [`Event::Timer`] must be delivered; `None` means
    /// wait for signals only.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Running | Phase::Killed => None,
            Phase::Delaying {
                until, deadline, ..
            } => Some(until.min(deadline)),
            Phase::Stopping { deadline, resend } => {
                Some(resend.map_or(deadline, |(at, _)| at.min(deadline)))
            }
            Phase::Draining { deadline, .. } => Some(deadline),
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
        let shutdown = received.is_shutdown();
        if shutdown && self.shutdown.is_none() {
            self.shutdown = Some(received);
        }
        match self.phase {
            Phase::Running if shutdown && !self.policy.drain_delay.is_zero() => {
                let delay = self.policy.drain_delay;
                self.phase = Phase::Delaying {
                    until: now + delay,
                    deadline: now + self.policy.stop_timeout,
                    signal,
                };
                vec![Action::Hold { signal, delay }]
            }
            Phase::Running if shutdown => {
                vec![self.stop(signal, now + self.policy.stop_timeout, now, Cause::Forward)]
            }
            Phase::Delaying {
                deadline,
                signal: held,
                ..
            } if shutdown => vec![self.stop(held, deadline, now, Cause::DrainDelaySkipped)],
            Phase::Running | Phase::Delaying { .. } | Phase::Stopping { .. } if !shutdown => {
                vec![self.forward(signal, Cause::Forward)]
            }
            Phase::Stopping { .. } => {
                self.phase = Phase::Killed;
                vec![kill_group(Cause::SecondSignal)]
            }
            Phase::Draining {
                code,
                killed: false,
                ..
            } if shutdown => {
                self.phase = Phase::Draining {
                    code,
                    deadline: now + KILL_GRACE,
                    killed: true,
                };
                vec![kill_group(Cause::SecondSignal)]
            }
            // The group is already dying, or the main child is gone and there is no
            // one left to forward to but stragglers that are being stopped anyway.
            Phase::Running | Phase::Delaying { .. } | Phase::Killed | Phase::Draining { .. } => {
                Vec::new()
            }
        }
    }

    /// The main child exited: remember its code and stop what is left of its group.
    fn on_main_exit(&mut self, status: Status, now: Instant) -> Vec<Action> {
        let code = status.code();
        let code = if self.policy.success_codes.contains(&code) {
            0
        } else {
            code
        };
        if self.phase == Phase::Killed {
            self.phase = Phase::Draining {
                code,
                deadline: now + KILL_GRACE,
                killed: true,
            };
            return Vec::new();
        }
        let deadline = now + self.policy.stop_timeout;
        self.phase = Phase::Draining {
            code,
            deadline,
            killed: false,
        };
        let stop = Action::Send {
            to: SignalTarget::Group,
            signal: Signal::TERM,
            cause: Cause::MainExited,
        };
        vec![stop]
    }

    /// Nothing left to reap: done once the main child has been reaped.
    fn on_no_children(&mut self) -> Vec<Action> {
        match self.phase {
            Phase::Draining { code, .. } => vec![Action::Exit(code)],
            // Unreachable while the main child is unreaped: it is our child.
            Phase::Running | Phase::Delaying { .. } | Phase::Stopping { .. } | Phase::Killed => {
                Vec::new()
            }
        }
    }

    /// A deadline passed: resend, escalate to SIGKILL, or give up waiting.
    fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        match self.phase {
            Phase::Delaying { deadline, .. } if now >= deadline => {
                self.phase = Phase::Killed;
                vec![kill_group(Cause::StopTimeout)]
            }
            Phase::Delaying {
                until,
                deadline,
                signal,
            } if now >= until => vec![self.stop(signal, deadline, now, Cause::DrainDelayOver)],
            Phase::Stopping { deadline, .. } if now >= deadline => {
                self.phase = Phase::Killed;
                vec![kill_group(Cause::StopTimeout)]
            }
            Phase::Stopping {
                deadline,
                resend: Some((at, signal)),
            } if now >= at => {
                self.phase = Phase::Stopping {
                    deadline,
                    resend: None,
                };
                vec![self.forward(signal, Cause::Resend)]
            }
            Phase::Draining {
                code,
                deadline,
                killed,
            } if now >= deadline => {
                if killed {
                    return vec![Action::Exit(code)];
                }
                self.phase = Phase::Draining {
                    code,
                    deadline: now + KILL_GRACE,
                    killed: true,
                };
                vec![kill_group(Cause::DrainTimeout)]
            }
            // Woken early (timers are not exact): wait again for the same deadline.
            Phase::Running
            | Phase::Delaying { .. }
            | Phase::Stopping { .. }
            | Phase::Killed
            | Phase::Draining { .. } => Vec::new(),
        }
    }

    /// Forwards the stop `signal` now, with SIGKILL at `deadline` and, for servers that
    /// need it, the same signal once more before that.
    fn stop(&mut self, signal: Signal, deadline: Instant, now: Instant, cause: Cause) -> Action {
        let resend = self
            .policy
            .table
            .resend_stop_after()
            .map(|after| (now + after, signal))
            .filter(|(at, _)| *at < deadline);
        self.phase = Phase::Stopping { deadline, resend };
        self.forward(signal, cause)
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

/// SIGKILL to the whole process group, whatever the forwarding target.
fn kill_group(cause: Cause) -> Action {
    Action::Send {
        to: SignalTarget::Group,
        signal: Signal::KILL,
        cause,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod drain_tests;

//! The entrypoint-replacement part of a plan: env_file, user, wait_for, before and the
//! drain delay (issue 6).

use super::*;

impl Resolver<'_> {
    /// `env_file`, read: its path and entries.
    pub(super) fn env_file(&self) -> anyhow::Result<Option<(PathBuf, Vec<crate::envfile::Entry>)>> {
        let Some(Text(file)) = &self.settings.env_file else {
            return Ok(None);
        };
        let path = self.base_dir("env_file")?.join(file);
        let shown = format!("env_file `{file}` (from {})", self.source("env_file"));
        let entries = crate::envfile::read(&path, &shown)?;
        Ok(Some((path, entries)))
    }

    /// `user`, resolved against the user database; warns when liftoff could not switch.
    pub(super) fn user(&self, warnings: &mut Vec<String>) -> anyhow::Result<Option<Credentials>> {
        let Some(Text(spec)) = &self.settings.user else {
            return Ok(None);
        };
        let creds = crate::user::resolve(spec).map_err(|e| {
            Failure::Config(format!("user `{spec}` (from {}): {e}", self.source("user")))
        })?;
        if let Err(e) = crate::user::switch(&creds, nix::unistd::geteuid().as_raw()) {
            warnings.push(format!("user `{spec}`: starting would fail: {e}"));
        }
        Ok(Some(creds))
    }

    /// The variables below the `env` table: the env file's (where the process environment
    /// does not set them, so `docker run -e` still wins), then the user's `HOME`.
    pub(super) fn env_below_table(
        &self,
        env_file: Option<&(PathBuf, Vec<crate::envfile::Entry>)>,
        user: Option<&Credentials>,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for entry in env_file.iter().flat_map(|(_, entries)| entries) {
            if crate::config::lookup(&self.layers.env, &entry.key).is_none() {
                env.insert(entry.key.clone(), entry.value.clone());
            }
        }
        if let Some(user) = user {
            env.insert("HOME".into(), user.home.to_string_lossy().into_owned());
        }
        env
    }

    /// `wait_for`, parsed.
    pub(super) fn wait_for(&self) -> anyhow::Result<Vec<WaitTarget>> {
        let items = self.settings.wait_for.iter().flat_map(|l| l.0.iter());
        items
            .map(|item| {
                WaitTarget::parse(item).map_err(|e| {
                    Failure::Config(format!("wait_for (from {}): {e}", self.source("wait_for")))
                        .into()
                })
            })
            .collect()
    }

    /// `before`, each step's program resolved like the server's.
    pub(super) fn before(
        &self,
        env: &[(OsString, OsString)],
        cwd: &Path,
    ) -> anyhow::Result<Vec<BeforeStep>> {
        let steps = self
            .settings
            .before
            .iter()
            .flat_map(|s| s.0.iter())
            .enumerate();
        steps
            .map(|(i, step)| {
                let n = i + 1;
                let Some(word) = step.0.first() else {
                    return Err(Failure::Config(format!(
                        "before step {n} (from {}) is empty; give at least the program",
                        self.source("before")
                    ))
                    .into());
                };
                let argv: Vec<OsString> = step.0.iter().map(OsString::from).collect();
                let program =
                    resolve_program(word, env, cwd, ServerKind::Command).map_err(|err| {
                        match err.downcast::<Failure>() {
                            Ok(Failure::NotFound(m)) => Failure::NotFound(format!(
                                "before step {n} ({}): {m}",
                                shell_quote(&argv)
                            ))
                            .into(),
                            Ok(Failure::NotExecutable(m)) => Failure::NotExecutable(format!(
                                "before step {n} ({}): {m}",
                                shell_quote(&argv)
                            ))
                            .into(),
                            Ok(other) => other.into(),
                            Err(err) => err,
                        }
                    })?;
                Ok(BeforeStep { program, argv })
            })
            .collect()
    }
}

/// Warns when the drain delay eats the stop budget: it counts inside the stop timeout,
/// so delay + gunicorn's graceful timeout (or the delay alone) must stay below it.
pub(super) fn drain_warning(
    drain: Duration,
    graceful: Option<Duration>,
    stop: Duration,
) -> Option<String> {
    if drain.is_zero() {
        return None;
    }
    match graceful {
        Some(graceful) if drain + graceful >= stop => Some(format!(
            "drain_delay ({}) + graceful_timeout ({}) is not below stop_timeout ({}): the delay counts inside the stop timeout, so gunicorn would be killed before it finishes draining; lower one or raise stop_timeout",
            Dur(drain),
            Dur(graceful),
            Dur(stop)
        )),
        None if drain >= stop => Some(format!(
            "drain_delay ({}) is not below stop_timeout ({}): the delay counts inside the stop timeout, so the program would be killed without ever getting the stop signal",
            Dur(drain),
            Dur(stop)
        )),
        _ => None,
    }
}

//! Command-line parsing: raw flags and the command word, nothing resolved yet.
//!
//! The command line is parsed twice at most. clap parses the global flags and either a
//! built-in command or an external word; whether that word names a profile from the config
//! file or a program is decided later ([`Word`]), and a profile's own flags are then parsed
//! with [`ProfileArgs`]. Nothing here reads the environment: environment variables belong to
//! the configuration layers, so that `config --explain` can say where each value came from.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What `--version` prints after the name: the version, the target triple and whether
/// the C runtime is static (`0.1.0 (x86_64-unknown-linux-musl, static)`).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("LIFTOFF_BUILD"), ")");

/// `liftoff [GLOBAL FLAGS] [COMMAND] [ARGS...]`.
#[derive(Debug, Parser)]
#[command(
    name = "liftoff",
    version = VERSION,
    about = "Entrypoint and PID 1 for Python web API containers",
    long_about = "Entrypoint and PID 1 for Python web API containers.\n\n\
        The profile comes only from the command: `liftoff prod` runs gunicorn (and is what \
        a bare `liftoff` means), `liftoff dev` runs the Flask dev server, `liftoff NAME` runs \
        the profile [NAME] of the config file, and any other word runs that program.",
    after_help = "Commands also accepted:\n  \
        <PROFILE> [FLAGS] [-- EXTRA...]  run a profile defined in the config file\n  \
        <PROGRAM> [ARGS...]              run any other program (same as `run -- PROGRAM ARGS...`)",
    disable_help_subcommand = true,
    subcommand_value_name = "COMMAND"
)]
pub struct Cli {
    /// Flags that apply to whatever runs.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to run; none means `prod`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands; an unknown word becomes [`Command::Word`].
///
/// `defer` builds a command's flags only when that command is given: every command
/// flattens the global flags, and building all of them on every start was a third of
/// liftoff's own start-up instructions (see docs/benchmarks.md).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Run the production server (gunicorn)
    Prod(ProdArgs),
    /// Run the development server (flask run)
    Dev(DevArgs),
    /// Run any program, with no profile: run -- PROGRAM [ARGS...]
    Run(RunArgs),
    /// Print what would run, and run nothing
    Plan(PlanArgs),
    /// Print the merged configuration of a profile
    Config(ConfigArgs),
    /// Validate every profile in the config file and resolve its program
    Check(CheckArgs),
    /// Probe the server over HTTP: exit 0 on a 2xx answer, 1 otherwise
    Health(HealthArgs),
    /// A profile name or a program, with its arguments.
    #[command(external_subcommand)]
    Word(Vec<OsString>),
}

/// Flags accepted before the command and after it (they are flattened into each command,
/// not clap globals, because a global repeated flag after the command would replace, not
/// extend, the values given before it).
#[derive(Debug, Default, Clone, Args)]
pub struct GlobalArgs {
    /// Config file (default: $LIFTOFF_CONFIG, else ./liftoff.toml if present)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// exec: become the program; supervise: stay as its parent; auto: supervise when PID 1
    /// or when drain_delay or success_codes need a parent
    #[arg(long, value_name = "MODE")]
    pub mode: Option<String>,

    /// Working directory of the program
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// Time between the stop signal and SIGKILL (e.g. 28s, 1m30s)
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub stop_timeout: Option<String>,

    /// Where forwarded signals go: the child alone, or its process group
    #[arg(long, value_name = "TARGET")]
    pub signal_target: Option<String>,

    /// Rewrite a forwarded signal, e.g. QUIT=TERM or HUP=ignore (repeatable)
    #[arg(long, value_name = "FROM=TO")]
    pub signal_map: Vec<String>,

    /// An exit code to report as 0 (repeatable)
    #[arg(long, value_name = "N")]
    pub success_code: Vec<i32>,

    /// Keep serving this long after the first stop signal before passing it on (e.g. 5s)
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub drain_delay: Option<String>,

    /// Wait until this answers before starting: tcp://host:port or http://host:port/path
    /// (repeatable, or comma-separated as in LIFTOFF_WAIT_FOR)
    #[arg(long, value_name = "URL", value_delimiter = ',')]
    pub wait_for: Vec<String>,

    /// How long to wait for the --wait-for dependencies (default 30s)
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub wait_timeout: Option<String>,

    /// Run this command before the server, e.g. 'flask db upgrade' (split into words, never
    /// run by a shell; repeatable)
    #[arg(long, value_name = "COMMAND")]
    pub before: Vec<String>,

    /// Run the program as this user when liftoff starts as root: NAME, UID, NAME:GROUP or
    /// UID:GID
    #[arg(long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,

    /// KEY=VALUE lines for the program's environment (below env and the process's own)
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// liftoff's own log level: error, warn, info, debug, trace
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// liftoff's own log format: text or json
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// More log output (-v debug, -vv trace)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Less log output (-q warnings only, -qq errors only)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub quiet: u8,
}

impl GlobalArgs {
    /// Lays `later` over `self`: flags given after the command win over those before it.
    pub fn overlay(&mut self, later: GlobalArgs) {
        macro_rules! take {
            ($($field:ident),*) => { $(if later.$field.is_some() { self.$field = later.$field; })* };
        }
        take!(
            config,
            mode,
            chdir,
            stop_timeout,
            signal_target,
            drain_delay,
            wait_timeout,
            user,
            env_file,
            log_level,
            log_format
        );
        self.signal_map.extend(later.signal_map);
        self.wait_for.extend(later.wait_for);
        self.before.extend(later.before);
        self.success_code.extend(later.success_code);
        self.verbose += later.verbose;
        self.quiet += later.quiet;
    }
}

// With `defer`, clap takes a command's about text from its arguments' struct, so each
// command's struct carries, as its doc comment, the text users read in `--help`.

/// Run the production server (gunicorn)
#[derive(Debug, Default, Clone, Args)]
pub struct ProdArgs {
    /// The server flags.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Run the development server (flask run)
#[derive(Debug, Default, Clone, Args)]
pub struct DevArgs {
    /// The server flags.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Flags of `prod` and `dev`.
#[derive(Debug, Default, Clone, Args)]
pub struct ServerArgs {
    /// Global flags given after the command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Address to bind
    #[arg(long)]
    pub host: Option<String>,

    /// Port to bind (1-65535)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// The application, e.g. 'app:create_app()'
    #[arg(long)]
    pub app: Option<String>,

    /// Number of gunicorn workers, or auto (fit the container's CPUs)
    #[arg(long, value_name = "N|auto")]
    pub workers: Option<String>,

    /// Threads per gunicorn worker
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,

    /// Reload on code changes
    #[arg(long, overrides_with = "no_reload")]
    pub reload: bool,

    /// Do not reload on code changes
    #[arg(long, overrides_with = "reload")]
    pub no_reload: bool,

    /// Debug mode (Flask's debugger; never on a public address)
    #[arg(long, overrides_with = "no_debug")]
    pub debug: bool,

    /// No debug mode
    #[arg(long, overrides_with = "debug")]
    pub no_debug: bool,

    /// Extra arguments appended to the server's argv
    #[arg(last = true, value_name = "EXTRA")]
    pub extra: Vec<OsString>,
}

impl ServerArgs {
    /// `--reload`/`--no-reload` as a tri-state: the last one given wins.
    pub fn reload(&self) -> Option<bool> {
        tri_state(self.reload, self.no_reload)
    }

    /// `--debug`/`--no-debug` as a tri-state: the last one given wins.
    pub fn debug(&self) -> Option<bool> {
        tri_state(self.debug, self.no_debug)
    }
}

/// Turns a `--flag`/`--no-flag` pair (clap keeps only the last) into an option.
fn tri_state(yes: bool, no: bool) -> Option<bool> {
    match (yes, no) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

/// Run any program, with no profile: run -- PROGRAM [ARGS...]
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Global flags given after the command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The program and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM"
    )]
    pub argv: Vec<OsString>,
}

/// Output formats of `plan`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Aligned text for people.
    #[default]
    Text,
    /// One JSON object for scripts.
    Json,
}

/// Print what would run, and run nothing
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// Global flags given after the command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,

    /// The command to plan, as it would be given to liftoff (default: prod)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

/// Output formats of `config`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    /// TOML, as it could be written in the config file.
    #[default]
    Toml,
    /// JSON.
    Json,
}

/// Print the merged configuration of a profile
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Global flags given after the command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The profile to show (default: prod)
    pub profile: Option<String>,

    /// Show where every value came from
    #[arg(long)]
    pub explain: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = ConfigFormat::Toml)]
    pub format: ConfigFormat,
}

/// Probe the server over HTTP: exit 0 on a 2xx answer, 1 otherwise
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// Global flags given after the command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// URL to GET (default: http://127.0.0.1:<port of the prod profile>/health)
    #[arg(long)]
    pub url: Option<String>,

    /// How long the whole request may take
    #[arg(
        long,
        value_name = "DUR",
        default_value = "5s",
        allow_hyphen_values = true
    )]
    pub timeout: String,
}

/// Validate every profile in the config file and resolve its program
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Global flags given after the command.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// What follows a profile word: global flags, then `-- EXTRA`.
#[derive(Debug, Parser)]
#[command(name = "liftoff PROFILE", disable_help_subcommand = true)]
pub struct ProfileArgs {
    /// Flags that apply to the profile.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Extra arguments appended to the profile's argv
    #[arg(last = true, value_name = "EXTRA")]
    pub extra: Vec<OsString>,
}

impl Cli {
    /// The global flags, those after the command laid over those before it.
    pub fn globals(&self) -> GlobalArgs {
        let mut global = self.global.clone();
        let later = match &self.command {
            Some(Command::Prod(ProdArgs { server: a }) | Command::Dev(DevArgs { server: a })) => {
                Some(&a.global)
            }
            Some(Command::Run(a)) => Some(&a.global),
            Some(Command::Plan(a)) => Some(&a.global),
            Some(Command::Config(a)) => Some(&a.global),
            Some(Command::Check(a)) => Some(&a.global),
            Some(Command::Health(a)) => Some(&a.global),
            Some(Command::Word(_)) | None => None,
        };
        if let Some(later) = later {
            global.overlay(later.clone());
        }
        global
    }
}

/// Parses liftoff's own command line (`args` includes argv[0]).
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(args)
}

/// Parses what follows a profile word, naming the profile in errors and help.
pub fn parse_profile_args(profile: &str, rest: &[OsString]) -> Result<ProfileArgs, clap::Error> {
    let name = OsString::from(format!("liftoff {profile}"));
    ProfileArgs::try_parse_from(std::iter::once(&name).chain(rest))
}

#[cfg(test)]
mod tests;

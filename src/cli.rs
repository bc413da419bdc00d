//! Command-line parsing: raw flags and the command word, nothing resolved yet. The
//! configuration keys' flags come from the key table (`plan/keys.rs`); whether a word is
//! a profile or a program is decided later. Nothing here reads the environment.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::plan::keys::{Form, KEYS, Key, KeyValues, Raw, Scope};

/// What `--version` prints: `0.1.0 (x86_64-unknown-linux-musl, static)`.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("BUILD_TARGET"), ")");

/// `liftoff [GLOBAL FLAGS] [COMMAND] [ARGS...]`.
#[derive(Debug, Parser)]
#[command(
    name = "liftoff",
    version = VERSION,
    about = "Entrypoint and PID 1 for Python web API containers",
    long_about = "Entrypoint and PID 1 for Python web API containers.\n\n\
        The profile comes only from the command: `liftoff prod` runs the production server \
        (gunicorn unless the config file's `server` says uvicorn, granian or django; a bare \
        `liftoff` means prod), `liftoff dev` the development server (flask run by default), \
        `liftoff NAME` the profile [NAME] of the config file, and any other word that program.",
    after_help = "Commands also accepted:\n  \
        <PROFILE> [FLAGS] [-- EXTRA...]  run a profile defined in the config file\n  \
        <PROGRAM> [ARGS...]              run any other program (same as `run -- PROGRAM ARGS...`)",
    disable_help_subcommand = true,
    subcommand_value_name = "COMMAND"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands; an unknown word becomes [`Command::Word`]. `defer` builds a command's
/// flags only when it is given (a third of start-up otherwise; docs/benchmarks.md).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Run the production server (gunicorn unless `server` says otherwise)
    Prod(ProdArgs),
    /// Run the development server (flask run unless `server` says otherwise)
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

/// Flags accepted before the command and after it (flattened, not clap globals: a global
/// repeated flag after the command would replace the values given before it).
#[derive(Debug, Default, Clone, Args)]
pub struct GlobalArgs {
    /// Config file (default: $LIFTOFF_CONFIG, else ./liftoff.toml if present)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub keys: GlobalKeys,

    /// More log output (-v debug, -vv trace)
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// Less log output (-q warnings only, -qq errors only)
    #[arg(short, long, action = ArgAction::Count)]
    pub quiet: u8,
}

impl GlobalArgs {
    /// Lays `later` over `self`: later flags win, repeatable ones add up.
    pub fn overlay(&mut self, later: GlobalArgs) {
        if later.config.is_some() {
            self.config = later.config;
        }
        self.keys.0.overlay(later.keys.0);
        self.verbose += later.verbose;
        self.quiet += later.quiet;
    }
}

/// The global flags of the key table.
#[derive(Debug, Default, Clone)]
pub struct GlobalKeys(pub KeyValues);

/// The flags of `prod` and `dev` from the key table.
#[derive(Debug, Default, Clone)]
pub struct ServerKeys(pub KeyValues);

/// Implements clap's traits for a wrapper of the key table's flags of one scope.
macro_rules! key_flags {
    ($name:ident, $scope:expr) => {
        impl FromArgMatches for $name {
            /// Reads the values of the scope's flags.
            fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
                Ok($name(read_keys(matches, $scope)))
            }

            /// Reads them again.
            fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
                *self = Self::from_arg_matches(matches)?;
                Ok(())
            }
        }

        impl Args for $name {
            /// Adds the scope's flags, in table order.
            fn augment_args(cmd: clap::Command) -> clap::Command {
                add_keys(cmd, $scope)
            }

            /// Adds the scope's flags, in table order.
            fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
                add_keys(cmd, $scope)
            }
        }
    };
}

key_flags!(GlobalKeys, Scope::Global);
key_flags!(ServerKeys, Scope::Server);

/// The keys whose flag has `scope`, with the flag.
fn keys_of(scope: Scope) -> impl Iterator<Item = (&'static Key, crate::plan::keys::Flag)> {
    KEYS.iter()
        .filter_map(move |k| k.flag.filter(|f| f.scope == scope).map(|f| (k, f)))
}

/// Adds the flags of `scope`'s keys to `cmd`: one argument per key (two for a switch).
fn add_keys(mut cmd: clap::Command, scope: Scope) -> clap::Command {
    for (key, flag) in keys_of(scope) {
        let arg = Arg::new(key.name).long(flag.long).help(key.help);
        let arg = match flag.form {
            Form::One => arg
                .value_name(flag.value)
                .allow_hyphen_values(flag.value == "DUR")
                .action(ArgAction::Set),
            Form::Many { comma } => {
                let arg = arg.value_name(flag.value).action(ArgAction::Append);
                if comma { arg.value_delimiter(',') } else { arg }
            }
            Form::Entries | Form::Command => arg.value_name(flag.value).action(ArgAction::Append),
            Form::Switch => arg
                .action(ArgAction::SetTrue)
                .overrides_with(format!("no-{}", flag.long)),
        };
        cmd = cmd.arg(arg);
        if flag.form == Form::Switch {
            let no = format!("no-{}", flag.long);
            cmd = cmd.arg(
                Arg::new(no.clone())
                    .long(no)
                    .help(flag.value)
                    .action(ArgAction::SetTrue)
                    .overrides_with(key.name),
            );
        }
    }
    cmd
}

/// Reads the values of `scope`'s key flags from `matches`.
fn read_keys(matches: &ArgMatches, scope: Scope) -> KeyValues {
    let mut values = Vec::new();
    for (key, flag) in keys_of(scope) {
        let raw = match flag.form {
            Form::One => matches.get_one::<String>(key.name).cloned().map(Raw::One),
            Form::Many { .. } | Form::Entries | Form::Command => matches
                .get_many::<String>(key.name)
                .map(|v| Raw::Many(v.cloned().collect())),
            Form::Switch => {
                let no = format!("no-{}", flag.long);
                match (matches.get_flag(key.name), matches.get_flag(&no)) {
                    (true, _) => Some(Raw::Switch(true)),
                    (_, true) => Some(Raw::Switch(false)),
                    _ => None,
                }
            }
        };
        if let Some(raw) = raw {
            values.push((key, raw));
        }
    }
    KeyValues(values)
}

// With `defer`, clap takes a command's about text from its arguments' struct's doc.

/// Run the production server (gunicorn unless `server` says otherwise)
#[derive(Debug, Default, Clone, Args)]
pub struct ProdArgs {
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Run the development server (flask run unless `server` says otherwise)
#[derive(Debug, Default, Clone, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Flags of `prod` and `dev`.
#[derive(Debug, Default, Clone, Args)]
pub struct ServerArgs {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(flatten)]
    pub keys: ServerKeys,

    /// Extra arguments appended to the server's argv
    #[arg(last = true, value_name = "EXTRA")]
    pub extra: Vec<OsString>,
}

/// Run any program, with no profile: run -- PROGRAM [ARGS...]
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
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
    #[command(flatten)]
    pub global: GlobalArgs,

    /// Output format (also accepted after the command words, before `--`)
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,

    /// Show environment values and other secrets as they are (do not paste the output)
    #[arg(long)]
    pub show_env: bool,

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

    /// Show environment values and other secrets as they are (do not paste the output)
    #[arg(long)]
    pub show_env: bool,
}

/// Probe the server over HTTP: exit 0 on a 2xx answer, 1 otherwise
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
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
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// What follows a profile word: global flags, then `-- EXTRA`.
#[derive(Debug, Parser)]
#[command(name = "liftoff PROFILE", disable_help_subcommand = true, version = VERSION)]
pub struct ProfileArgs {
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
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    Cli::try_parse_from(&args).or_else(|err| match err.kind() {
        clap::error::ErrorKind::InvalidUtf8 => program_word_not_utf8(&args).ok_or(err),
        _ => Err(err),
    })
}

/// A program word that is not UTF-8 is still a program: clap wants text, so such words
/// are parsed as stand-ins (a NUL, which no argument can hold) and put back.
fn program_word_not_utf8(args: &[OsString]) -> Option<Cli> {
    let stand_in = |i: usize| OsString::from(format!("\0{i}"));
    let swapped: Vec<OsString> = args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if a.to_str().is_some() {
                a.clone()
            } else {
                stand_in(i)
            }
        })
        .collect();
    let mut cli = Cli::try_parse_from(&swapped).ok()?;
    let Some(Command::Word(words)) = &mut cli.command else {
        return None;
    };
    let start = args.len().checked_sub(words.len())?;
    if words.first() != swapped.get(start) || args[..start].iter().any(|a| a.to_str().is_none()) {
        return None;
    }
    words.clone_from_slice(&args[start..]);
    Some(cli)
}

/// Parses what follows a profile word, naming the profile in errors and help.
pub fn parse_profile_args(profile: &str, rest: &[OsString]) -> Result<ProfileArgs, clap::Error> {
    let name = OsString::from(format!("liftoff {profile}"));
    ProfileArgs::try_parse_from(std::iter::once(&name).chain(rest))
}

#[cfg(test)]
mod tests;

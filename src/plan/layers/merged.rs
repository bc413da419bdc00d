//! The merged layers of one profile: each key's winning value (or its table's entries)
//! with its source, read into the key's type with every problem recorded.

use std::collections::BTreeMap;

use toml::Value;

use super::{Problem, Setting, Source, keys, toml_key};
use crate::plan::values::{FromEntry, FromValue, parse_scalar};

/// The merged layers of one profile: each key's winning value, or its table's entries.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    slots: BTreeMap<&'static str, Slot>,
}

/// Where a value came from, or each entry of a table: (entry name or `None`, source).
pub type Sources = Vec<(Option<String>, Source)>;

/// A key's merged value.
#[derive(Debug, Clone)]
enum Slot {
    One(Value, Source),
    /// A table key's entries, each with its source.
    Entries(BTreeMap<String, (Value, Source)>),
}

impl Merged {
    /// Lays `value` from `source` over key `key` (entry by entry for a table key).
    pub(super) fn set_value(&mut self, key: &'static str, value: &Value, source: &Source) {
        let table_key = keys::find(key).is_some_and(keys::Key::is_table);
        match (table_key, value) {
            (true, Value::Table(entries)) => {
                for (name, value) in entries {
                    self.set_entry(key, name, value.clone(), source.clone());
                }
            }
            _ => {
                self.slots
                    .insert(key, Slot::One(value.clone(), source.clone()));
            }
        }
    }

    /// Lays one setting of a variable or a flag over the rest.
    pub(super) fn set(&mut self, setting: &Setting) {
        match &setting.entry {
            Some(entry) => self.set_entry(
                setting.key,
                entry,
                setting.value.clone(),
                setting.source.clone(),
            ),
            None => self.set_value(setting.key, &setting.value, &setting.source),
        }
    }

    /// Lays one table entry over the rest.
    fn set_entry(&mut self, key: &'static str, name: &str, value: Value, source: Source) {
        let slot = self
            .slots
            .entry(key)
            .or_insert_with(|| Slot::Entries(BTreeMap::new()));
        if let Slot::One(..) = slot {
            *slot = Slot::Entries(BTreeMap::new());
        }
        if let Slot::Entries(entries) = slot {
            entries.insert(name.to_string(), (value, source));
        }
    }

    /// Puts a built-in default below key `key`, where no layer set it (a table's default
    /// entries go below the layers' entries). `text` is written as a variable would be.
    pub fn add_default(&mut self, key: &'static str, text: &str) {
        self.add_builtin(key, text, Source::Default);
    }

    /// [`Merged::add_default`] with the built-in source to name (`Default`, `DevDefault`).
    pub fn add_builtin(&mut self, key: &'static str, text: &str, source: Source) {
        let value = parse_scalar(text);
        match (self.slots.get_mut(key), value) {
            (Some(Slot::Entries(entries)), Value::Table(defaults)) => {
                for (name, value) in defaults {
                    entries.entry(name).or_insert((value, source.clone()));
                }
            }
            (Some(_), _) => {}
            (None, value) => self.set_value(key, &value, &source),
        }
    }

    /// The winning value of `key`, if a whole value (not a table).
    pub fn value(&self, key: &str) -> Option<&Value> {
        match self.slots.get(key)? {
            Slot::One(value, _) => Some(value),
            Slot::Entries(_) => None,
        }
    }

    /// Where `key`'s value came from (a table key: its highest entry's source).
    pub fn source(&self, key: &str) -> Option<&Source> {
        match self.slots.get(key)? {
            Slot::One(_, source) => Some(source),
            Slot::Entries(entries) => entries.values().map(|(_, s)| s).max_by_key(|s| rank(s)),
        }
    }

    /// `key`'s value as TOML and where it (or each entry) came from, for `config`.
    pub fn shown(&self, key: &str) -> Option<(Value, Sources)> {
        match self.slots.get(key)? {
            Slot::One(value, source) => Some((value.clone(), vec![(None, source.clone())])),
            Slot::Entries(entries) => Some((
                Value::Table(
                    entries
                        .iter()
                        .map(|(k, (v, _))| (k.clone(), v.clone()))
                        .collect(),
                ),
                entries
                    .iter()
                    .map(|(k, (_, s))| (Some(k.clone()), s.clone()))
                    .collect(),
            )),
        }
    }

    /// Reads a whole-value key into its type; a bad value is a problem naming the key,
    /// what was given, what is expected and where it came from.
    pub fn read_value<T: FromValue>(
        &self,
        key: &'static str,
        problems: &mut Vec<Problem>,
    ) -> Option<T> {
        let (value, source) = match self.slots.get(key)? {
            Slot::One(value, source) => (value, source),
            Slot::Entries(entries) => {
                let source = entries.values().map(|(_, s)| s).next()?;
                problems.push(Problem::at(
                    source,
                    format!("`{key}` is not a table, so it takes no entries; set it whole"),
                ));
                return None;
            }
        };
        match T::from_value(value) {
            Ok(v) => Some(v),
            Err(why) => {
                let why = why.unwrap_or_else(|| format!("expected {}", T::EXPECTED));
                problems.push(Problem::value(key, value, source, &why));
                None
            }
        }
    }

    /// Reads a table key entry by entry; each bad entry is a problem naming the entry
    /// (never its value: `env` holds secrets).
    pub fn read_table<E: FromEntry>(
        &self,
        key: &'static str,
        problems: &mut Vec<Problem>,
    ) -> Option<Vec<E>> {
        let entries = match self.slots.get(key)? {
            Slot::Entries(entries) => entries,
            Slot::One(value, source) => {
                let why = format!("expected a table of {}", E::EXPECTED);
                problems.push(Problem::value(key, value, source, &why));
                return None;
            }
        };
        let mut out = Vec::new();
        for (name, (value, source)) in entries {
            match E::from_entry(name, value) {
                Ok(entry) => out.push(entry),
                Err(why) => problems.push(Problem {
                    scope: source.scope(),
                    message: format!("`{key}.{}` (from {source}): {why}", toml_key(name)),
                }),
            }
        }
        Some(out)
    }

    /// Every key read into [`keys::Settings`], and every problem found on the way.
    pub fn settings(&self) -> (keys::Settings, Vec<Problem>) {
        /// The merged layers and the problems found so far.
        struct Reading<'a>(&'a Merged, Vec<Problem>);
        impl keys::Values for Reading<'_> {
            fn value<T: FromValue>(&mut self, key: &'static str) -> Option<T> {
                self.0.read_value(key, &mut self.1)
            }
            fn table<E: FromEntry>(&mut self, key: &'static str) -> Option<Vec<E>> {
                self.0.read_table(key, &mut self.1)
            }
        }
        let mut reading = Reading(self, Vec::new());
        let settings = keys::Settings::read(&mut reading);
        (settings, reading.1)
    }

    /// The keys some layer set, with their sources (built-in defaults left out).
    pub fn set_keys(&self) -> impl Iterator<Item = (&'static str, &Source)> {
        self.slots
            .keys()
            .filter_map(|key| Some((*key, self.source(key)?)))
            .filter(|(_, source)| !matches!(source, Source::Default | Source::DevDefault))
    }
}

/// How high a source's layer is, to name a table's winning layer.
fn rank(source: &Source) -> u8 {
    match source {
        Source::Default | Source::DevDefault => 0,
        Source::File { table, .. } if table == "default" => 1,
        Source::File { .. } => 2,
        Source::Variable(_) => 3,
        Source::Flag(_) => 4,
    }
}

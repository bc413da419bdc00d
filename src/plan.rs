//! The plan: everything resolved before anything is spawned, printable as text or JSON.

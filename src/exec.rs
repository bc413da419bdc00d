//! Exec mode: replace liftoff with the program.

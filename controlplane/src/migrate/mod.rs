//! Moving to Hecaton from the reference nodes: a Colossus node's command line and environment
//! become a `node.toml` ([`colossus`]), an Argus `config.yml` a `distributor.toml` ([`argus`]),
//! and the chain's declaration of every object a storage node must hold becomes the
//! expectations file its data plane checks adopted files against ([`expectations`]).
//! `hecaton storage-node migrate` puts these together (`cli/migrate.rs`); the control plane
//! never reads the files themselves.

pub mod argus;
pub mod colossus;

use std::fmt::Write;

use crate::node::obligations::Obligations;

/// Why settings could not be migrated.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A flag Colossus does not have.
    #[error("unknown Colossus flag {0}")]
    UnknownFlag(String),
    /// A flag without its value.
    #[error("Colossus flag --{0} needs a value")]
    MissingValue(String),
    /// A flag Colossus requires is missing.
    #[error("the Colossus command line has no {0} (Colossus requires it)")]
    Required(&'static str),
    /// A value of the wrong form.
    #[error("{0}: cannot use {1:?}")]
    BadValue(String, String),
    /// Argus's `config.yml` is not YAML of the expected shape.
    #[error("Argus config: {0}")]
    Yaml(String),
}

/// The expectations file for `ob` (`<id> <size> <content id>` per object of every bag the node
/// must hold, accepted or not): what `hecaton dataplane import --expect` checks files against.
/// Returns the text and the number of objects.
pub fn expectations(ob: &Obligations) -> (String, usize) {
    let mut text =
        String::from("# id size content_id (from the chain, by hecaton storage-node migrate)\n");
    let mut n = 0;
    for bag in ob.bags.values() {
        for o in &bag.objects {
            let _ = writeln!(text, "{} {} {}", o.id, o.size, o.content_id);
            n += 1;
        }
    }
    (text, n)
}

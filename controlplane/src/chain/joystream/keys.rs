//! Signing keys for a Joystream node: sr25519 pairs from a SURI (`//Alice`, a mnemonic with
//! optional `//hard/soft///password` derivation, or `0x` seed), or from a key file (a
//! polkadot-js / Joystream CLI JSON export, decrypted with its password, or a text file holding
//! a SURI). Secrets never reach a log or an error message: errors name the source, not its text.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use subxt_signer::sr25519::Keypair;
use subxt_signer::SecretUri;

use crate::account::AccountId;

/// Why a key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("key file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The SURI or mnemonic did not parse or derive (its text is not repeated here).
    #[error("{origin}: not a valid SURI or mnemonic")]
    BadSuri {
        /// Where it came from (a file, `--suri`, `HECATON_SURI`).
        origin: String,
    },
    /// A JSON key file that did not decrypt with the password given.
    #[error(
        "key file {path}: cannot decrypt it (wrong password, or not an sr25519 export): {reason}"
    )]
    Json {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
}

/// The keys a client may sign with, by account.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: Vec<(AccountId, Keypair)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Accounts only; never the secret halves.
        f.debug_list()
            .entries(self.keys.iter().map(|(a, _)| a.to_ss58()))
            .finish()
    }
}

impl Keyring {
    /// Adds the key of a SURI or mnemonic. `origin` names it in errors.
    pub fn add_suri(&mut self, suri: &str, origin: &str) -> Result<AccountId, KeyError> {
        let bad = || KeyError::BadSuri {
            origin: origin.to_string(),
        };
        let uri = SecretUri::from_str(suri.trim()).map_err(|_| bad())?;
        let pair = Keypair::from_uri(&uri).map_err(|_| bad())?;
        Ok(self.add(pair))
    }

    /// Adds the key in a file: polkadot-js JSON (with `password`) or a SURI/mnemonic as text.
    pub fn add_file(&mut self, path: &Path, password: Option<&str>) -> Result<AccountId, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        if text.trim_start().starts_with('{') {
            let pair =
                subxt_signer::polkadot_js_compat::decrypt_json(&text, password.unwrap_or(""))
                    .map_err(|e| KeyError::Json {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })?;
            Ok(self.add(pair))
        } else {
            self.add_suri(&text, &format!("key file {}", path.display()))
        }
    }

    fn add(&mut self, pair: Keypair) -> AccountId {
        let account = AccountId(pair.public_key().0);
        if !self.keys.iter().any(|(a, _)| *a == account) {
            self.keys.push((account, pair));
        }
        account
    }

    /// The key of an account.
    pub fn get(&self, account: &AccountId) -> Option<&Keypair> {
        self.keys.iter().find(|(a, _)| a == account).map(|(_, k)| k)
    }

    /// Every account a key is held for, in the order added.
    pub fn accounts(&self) -> Vec<AccountId> {
        self.keys.iter().map(|(a, _)| *a).collect()
    }

    /// The first key's account.
    pub fn first(&self) -> Option<AccountId> {
        self.keys.first().map(|(a, _)| *a)
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suri_mnemonic_and_files_give_the_substrate_accounts() {
        let mut ring = Keyring::default();
        // //Alice's well-known public key.
        let alice = ring.add_suri("//Alice", "test").unwrap();
        assert_eq!(
            hex::encode(alice.0),
            "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
        );
        let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
        let from_phrase = ring.add_suri(&format!("{phrase}//Alice"), "test").unwrap();
        assert_eq!(from_phrase, alice, "the dev phrase with //Alice is //Alice");
        assert!(ring.get(&alice).is_some());

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.txt");
        std::fs::write(&file, "//Bob\n").unwrap();
        let bob = ring.add_file(&file, None).unwrap();
        assert_ne!(bob, alice);
        assert_eq!(ring.first(), Some(alice));
    }

    #[test]
    fn errors_never_repeat_the_secret() {
        let mut ring = Keyring::default();
        let secret = "not a mnemonic at all sesame";
        let e = ring.add_suri(secret, "HECATON_SURI").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("HECATON_SURI"), "{text}");
        assert!(!text.contains("sesame"), "{text}");
        assert!(!format!("{ring:?}").contains("sesame"));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.json");
        std::fs::write(&file, r#"{"encoded":"AAAA","encoding":{"content":["pkcs8","sr25519"],"type":["scrypt","xsalsa20-poly1305"],"version":"3"},"address":"x"}"#).unwrap();
        let e = ring.add_file(&file, Some("pw")).unwrap_err();
        assert!(matches!(e, KeyError::Json { .. }), "{e}");
        assert!(ring.add_file(&dir.path().join("missing"), None).is_err());
    }
}

//! What the fake pool checks before it takes a transaction: decodable through the metadata, a
//! `Storage` call, signed by a plain `AccountId32`, the sr25519 signature valid over the payload
//! the runtime would check (call, extensions, spec and transaction versions, genesis, the
//! mortal era's birth block), and the next nonce of its account (pool included).

use hecaton_controlplane::account::AccountId;
use hecaton_controlplane::chain::joystream::decode::BagRepr;
use hecaton_emulator::runtime::call::StorageCall;
use hecaton_emulator::runtime::storage::types::Bytes;
use subxt::ext::scale_decode::DecodeAsType;
use subxt_signer::sr25519;

use super::super::metadata::TX_VERSION;
use super::FakeNode;

/// The outer call, of which the fake node takes `Storage` calls.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
enum RuntimeCall {
    Storage(Calls),
}

/// The calls the tests submit.
#[derive(Debug, DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
#[allow(non_camel_case_types)]
enum Calls {
    accept_pending_data_objects {
        worker_id: u64,
        storage_bucket_id: u64,
        bag_id: BagRepr,
        data_objects: Vec<u64>,
    },
    storage_operator_remark {
        worker_id: u64,
        storage_bucket_id: u64,
        msg: Vec<u8>,
    },
}

/// The birth block of a mortal era given the current block (`sp_runtime::generic::Era`).
fn birth(era: &[u8], current: u64) -> Option<u64> {
    if era.first() == Some(&0) {
        return None;
    }
    let encoded = u16::from_le_bytes([era[0], era[1]]) as u64;
    let period = 2u64 << (encoded % (1 << 4));
    let quantize = (period >> 12).max(1);
    let phase = (encoded >> 4) * quantize;
    Some((current.max(phase) - phase) / period * period + phase)
}

impl FakeNode {
    pub(super) async fn check(
        &self,
        bytes: &[u8],
    ) -> Result<(AccountId, u64, StorageCall), String> {
        let at = &self.shared.offline;
        let extrinsics = at.extrinsics().from_bytes(vec![bytes.to_vec()]).await;
        let ext = extrinsics
            .iter()
            .next()
            .ok_or("no extrinsic")?
            .map_err(|e| format!("undecodable: {e}"))?;
        if !ext.is_signed() {
            return Err("unsigned".into());
        }
        let signer: [u8; 32] = ext
            .address_bytes()
            .ok_or("no address")?
            .try_into()
            .map_err(|_| "the address is not a plain AccountId32")?;
        let signature = ext.signature_bytes().ok_or("no signature")?;
        if signature.len() != 65 || signature[0] != 1 {
            return Err("not an sr25519 MultiSignature".into());
        }
        let extensions = ext.transaction_extensions().ok_or("no extensions")?;
        let nonce = extensions.nonce().ok_or("no nonce")?;
        let era = extensions
            .iter()
            .find(|e| e.name() == "CheckMortality")
            .map(|e| e.bytes().to_vec())
            .ok_or("no era")?;
        let call = match ext.decode_call_data_as::<RuntimeCall>() {
            Ok(RuntimeCall::Storage(Calls::accept_pending_data_objects {
                worker_id,
                storage_bucket_id,
                bag_id,
                data_objects,
            })) => StorageCall::AcceptPendingDataObjects {
                worker_id,
                storage_bucket_id,
                bag_id: bag_id.into(),
                data_objects: data_objects.into_iter().collect(),
            },
            Ok(RuntimeCall::Storage(Calls::storage_operator_remark {
                worker_id,
                storage_bucket_id,
                msg,
            })) => StorageCall::StorageOperatorRemark {
                worker_id,
                storage_bucket_id,
                msg: Bytes(msg),
            },
            Err(e) => return Err(format!("not a call this node takes: {e}")),
        };

        let st = self.state();
        let current = st.blocks.len() as u64 - 1;
        let checkpoint = match birth(&era, current) {
            None => st.blocks[0].hash,
            Some(n) => {
                st.blocks
                    .get(n as usize)
                    .ok_or("era born in the future")?
                    .hash
            }
        };
        let mut payload = ext.call_data_bytes().to_vec();
        payload.extend_from_slice(ext.transaction_extensions_bytes().unwrap_or_default());
        payload.extend_from_slice(
            &st.blocks
                .last()
                .expect("genesis")
                .spec_version
                .to_le_bytes(),
        );
        payload.extend_from_slice(&TX_VERSION.to_le_bytes());
        payload.extend_from_slice(&st.blocks[0].hash.0);
        payload.extend_from_slice(&checkpoint.0);
        if payload.len() > 256 {
            payload = sp_crypto_hashing::blake2_256(&payload).to_vec();
        }
        let signature = sr25519::Signature(signature[1..].try_into().expect("64 bytes"));
        if !sr25519::verify(&signature, &payload, &sr25519::PublicKey(signer)) {
            return Err("bad signature".into());
        }
        let account = AccountId(signer);
        let expected = st.nonces.get(&account).copied().unwrap_or(0)
            + st.pool.iter().filter(|p| p.signer == account).count() as u64;
        if nonce != expected {
            return Err(format!(
                "stale or future nonce {nonce} (expected {expected})"
            ));
        }
        Ok((account, nonce, call))
    }
}

//! Signed calls: the model's `Storage` call becomes a dynamic call (arguments positional, as the
//! metadata lists them), signed with the origin's sr25519 key and a nonce this client tracks
//! per account (the node's nonce at the finalized block does not count transactions still in
//! the pool, so two batches signed back to back would otherwise collide), mortal for 64 blocks,
//! then waited for until finalized. A failed dispatch comes back with the pallet's error name.

use subxt::config::substrate::AccountId32;
use subxt::config::DefaultExtrinsicParamsBuilder;
use subxt::dynamic;
use subxt::error::DispatchError as SubxtDispatchError;

use super::encode::{call_arguments, call_name};
use super::events::storage_events;
use super::JoystreamClient;
use crate::chain::ChainError;
use hecaton_vocabulary::block::BlockHash;
use hecaton_vocabulary::block::Inclusion;
use hecaton_vocabulary::call::{Call, Origin};
use hecaton_vocabulary::error::DispatchError;
use hecaton_vocabulary::error::StorageError;
use hecaton_vocabulary::event::Event;

/// How long a signed call stays valid, in blocks.
const MORTALITY: u64 = 64;
/// The longest wait for a submitted call to be finalized: its mortality (64 blocks of 6 s)
/// plus finality's usual lag, after which the call can no longer be included anyway.
const FINALITY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(64 * 6 + 120);

pub(super) async fn submit(
    client: &JoystreamClient,
    origin: Origin,
    call: Call,
) -> Result<Inclusion, ChainError> {
    let Origin::Signed(account) = origin else {
        return Err(
            client.unsupported("Root and unsigned calls (they go through governance or sudo)")
        );
    };
    let Call::Storage(call) = call else {
        return Err(client.unsupported("calls outside the Storage pallet"));
    };
    let key = client
        .inner
        .keys
        .get(&account)
        .ok_or_else(|| ChainError::NoKey {
            account: account.to_ss58(),
        })?;
    let name = call_name(&call);
    let payload = dynamic::tx("Storage", name.as_str(), call_arguments(&call));

    let progress = {
        // One submission per account at a time, so that nonces are handed out in order.
        let mut nonces = client.inner.nonces.lock().await;
        let api = client.api().await?;
        let at = api
            .at_current_block()
            .await
            .map_err(|e| client.transport(e))?;
        let mut tx = at.tx();
        let on_chain = tx
            .account_nonce(&AccountId32(account.0))
            .await
            .map_err(|e| client.transport(format!("nonce: {e}")))?;
        let nonce = nonces.get(&account).copied().unwrap_or(0).max(on_chain);
        let params = DefaultExtrinsicParamsBuilder::new()
            .nonce(nonce)
            .mortal(MORTALITY)
            .build();
        match tx.sign_and_submit_then_watch(&payload, key, params).await {
            Ok(progress) => {
                nonces.insert(account, nonce + 1);
                progress
            }
            Err(e) => {
                nonces.remove(&account);
                return Err(rejected(client, e));
            }
        }
    };

    let in_block = match tokio::time::timeout(FINALITY_TIMEOUT, progress.wait_for_finalized()).await
    {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            client.inner.nonces.lock().await.remove(&account);
            return Err(rejected(client, e));
        }
        Err(_) => {
            client.inner.nonces.lock().await.remove(&account);
            return Err(client.transport(format!(
                "the call was not finalized within {FINALITY_TIMEOUT:?}"
            )));
        }
    };
    let at = in_block.at().await.map_err(|e| client.transport(e))?;
    let block = at.block_number();
    let block_hash = BlockHash(in_block.block_hash().0);
    let events = in_block
        .fetch_events()
        .await
        .map_err(|e| client.transport(format!("events of the call: {e}")))?;
    for event in events.iter() {
        let event = event.map_err(|e| client.transport(e))?;
        if event.pallet_name() == "System" && event.event_name() == "ExtrinsicFailed" {
            let error = SubxtDispatchError::decode_from(event.field_bytes(), at.metadata())
                .map_err(|e| client.transport(format!("undecodable dispatch error: {e}")))?;
            return Err(dispatch_error(block, &error));
        }
    }
    let decoded = storage_events(events.iter()).map_err(|e| client.transport(e))?;
    Ok(Inclusion {
        block,
        block_hash,
        index: events.extrinsic_index(),
        error: None,
        events: decoded.into_iter().map(Event::Storage).collect(),
    })
}

/// A transaction the node or its pool refused (bad signature, stale nonce, dropped).
fn rejected(client: &JoystreamClient, e: impl std::fmt::Display) -> ChainError {
    let message = e.to_string();
    if message.contains("connection")
        || message.contains("Connection")
        || message.contains("restart")
    {
        return client.transport(message);
    }
    ChainError::Rejected { message }
}

/// The model's error where it names it (`Storage.*`), else the chain's pallet and error names.
fn dispatch_error(block: u64, error: &SubxtDispatchError) -> ChainError {
    let (pallet, name) = match error {
        SubxtDispatchError::Module(module) => match module.details() {
            Ok(details) => (
                details.pallet.name().to_string(),
                details.variant.name.clone(),
            ),
            Err(_) => ("Unknown".to_string(), module.to_string()),
        },
        other => ("System".to_string(), format!("{other:?}")),
    };
    if pallet == "Storage" {
        if let Some(e) = StorageError::ALL.iter().find(|e| e.name() == name) {
            return ChainError::Dispatch {
                block,
                error: DispatchError::Storage(*e),
            };
        }
    }
    ChainError::Failed {
        block,
        pallet,
        error: name,
    }
}

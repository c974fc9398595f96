//! The periodic sweep (start-up has its own, in `Store::open`): temp files no writer owns (a
//! removal that failed, a task that died) and resumable uploads that expired or whose object
//! no longer needs them (deleted on chain, no longer this node's, or stored meanwhile) are
//! removed, each logged with its reason.
//!
//! Directory listings go through glommio's `sync_read_dir`, which blocks; they run here, on the
//! control executor, never on a shard.

use std::path::Path;
use std::rc::Rc;

use tracing::{info, warn};

use super::Ctx;
use crate::store::{list_names, temp, unix_now, UploadName};

/// Runs the sweep every `sweep_interval` until the stop.
pub(super) async fn run(ctx: Rc<Ctx>) {
    let tmp = ctx.config.store.join("tmp");
    let uploads = ctx.config.store.join("uploads");
    while !ctx.stopping() {
        glommio::timer::sleep(ctx.config.sweep_interval).await;
        if ctx.stopping() {
            break;
        }
        match sweep_temps(&ctx, &tmp).await {
            Ok(0) => {}
            Ok(n) => info!(count = n, "swept temp files no transfer owns"),
            Err(e) => warn!("sweeping {}: {e}", tmp.display()),
        }
        if let Err(e) = sweep_uploads(&ctx, &uploads).await {
            warn!("sweeping {}: {e}", uploads.display());
        }
    }
}

async fn sweep_temps(ctx: &Ctx, dir: &Path) -> Result<usize, crate::store::StoreError> {
    let mut removed = 0;
    for name in list_names(dir).await? {
        let path = dir.join(&name);
        if !ctx.views.temps.owns(&path) {
            info!(file = %name, reason = "leftover", "temp file removed");
            temp::remove(&path).await;
            removed += 1;
        }
    }
    Ok(removed)
}

async fn sweep_uploads(ctx: &Ctx, dir: &Path) -> Result<(), crate::store::StoreError> {
    let placement = ctx.views.placement();
    let catalog = ctx.views.catalog();
    let names = list_names(dir).await?;
    let now = unix_now();
    for name in &names {
        if name.ends_with(".lock") {
            continue;
        }
        // A PATCH is writing it.
        if names.iter().any(|n| *n == format!("{name}.lock")) {
            continue;
        }
        let Some(upload) = UploadName::parse(name) else {
            // Not a name this node gives (an upload from before tokens, a stray file).
            info!(file = %name, reason = "not an upload name", "resumable upload removed");
            temp::remove(&dir.join(name)).await;
            continue;
        };
        let id = upload.id;
        let reason = if upload.expired(now, ctx.config.tus_expiry.as_secs()) {
            "expired"
        } else if catalog.contains(id) {
            "object stored"
        } else if placement.as_ref().is_some_and(|p| p.object(id).is_none()) {
            "object no longer placed here"
        } else {
            continue;
        };
        info!(%id, reason, "resumable upload removed");
        temp::remove(&dir.join(name)).await;
    }
    Ok(())
}

//! The periodic sweep (start-up has its own, in `Store::open`): temp files no writer owns (a
//! removal that failed, a task that died) and resumable uploads whose object no longer needs
//! them (deleted on chain, no longer this node's, or stored meanwhile) are removed, each logged
//! with its reason.
//!
//! Directory listings go through glommio's `sync_read_dir`, which blocks; they run here, on the
//! control executor, never on a shard.

use std::path::Path;
use std::rc::Rc;

use tracing::{info, warn};

use super::Ctx;
use crate::store::{id_of_file_name, list_names, temp};

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
    let Some(placement) = ctx.views.placement() else {
        return Ok(());
    };
    let catalog = ctx.views.catalog();
    let names = list_names(dir).await?;
    for name in &names {
        let Some(id) = id_of_file_name(name) else {
            continue;
        };
        // A PATCH is writing it.
        if names.iter().any(|n| *n == format!("{name}.lock")) {
            continue;
        }
        let reason = if catalog.contains(id) {
            "object stored"
        } else if placement.object(id).is_none() {
            "object no longer placed here"
        } else {
            continue;
        };
        info!(%id, reason, "resumable upload removed");
        temp::remove(&dir.join(name)).await;
    }
    Ok(())
}

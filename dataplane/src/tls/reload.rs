//! Loading the TLS material at start, and watching the listener's certificate for a renewal
//! (on the control executor: file reads never run on a shard).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{read_file, ClientTls, ServerTls, ServerTlsFiles, TlsError, TlsSettings};

/// How often the SIGHUP flag is looked at.
const SIGNAL_POLL: Duration = Duration::from_millis(500);

/// Reads the CA file and the listener's certificate and key.
pub async fn load(settings: &TlsSettings) -> Result<(ClientTls, Option<ServerTls>), TlsError> {
    let client = match &settings.ca_file {
        Some(path) => {
            let pem = read_file(path).await?;
            ClientTls::new(Some((&path.display().to_string(), &pem)))?
        }
        None => ClientTls::new(None)?,
    };
    let server = match &settings.server {
        Some(files) => {
            let (cert, key) = (read_file(&files.cert).await?, read_file(&files.key).await?);
            Some(ServerTls::new(files, &cert, &key)?)
        }
        None => None,
    };
    Ok((client, server))
}

/// Reads the certificate and key again on SIGHUP (`hup` set) and every `files.check_every`,
/// and serves them to new handshakes when they changed and make a pair. Runs until the process
/// ends.
pub async fn watch(server: ServerTls, files: ServerTlsFiles, hup: Arc<AtomicBool>) {
    let mut checked = Instant::now();
    loop {
        glommio::timer::sleep(SIGNAL_POLL).await;
        let signalled = hup.swap(false, Ordering::Relaxed);
        if !signalled && checked.elapsed() < files.check_every {
            continue;
        }
        checked = Instant::now();
        let read = async {
            Ok::<_, TlsError>((read_file(&files.cert).await?, read_file(&files.key).await?))
        };
        let outcome = match read.await {
            Ok((cert, key)) => server.reload(&files, &cert, &key),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(true) => info!(cert = %files.cert.display(), "TLS certificate reloaded"),
            Ok(false) if signalled => info!("SIGHUP: the TLS certificate is unchanged"),
            Ok(false) => {}
            // A renewal caught between writing the certificate and the key fails here once and
            // is taken at the next check.
            Err(e) => warn!("TLS certificate not reloaded, the current one still serves: {e}"),
        }
    }
}

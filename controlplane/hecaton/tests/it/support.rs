//! Starting `hecaton chain` and talking to it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running `hecaton chain`.
pub struct ChainProcess {
    pub child: Child,
    pub url: String,
}

impl ChainProcess {
    /// Starts the chain in instant mode on a free port, with extra flags.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hecaton"))
            .args(["chain", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn hecaton chain");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self {
            url: format!("http://{addr}"),
            child,
        }
    }

    /// The dev network in instant mode (playground profile).
    pub fn dev(data_dir: &Path) -> Self {
        Self::start(
            data_dir,
            &["--instant", "--profile", "playground", "--bootstrap", "dev"],
        )
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        // SAFETY: kill(2) with a pid we own; no memory is involved.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(rc, 0);
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "chain exited with {status}");
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.url)
    }
}

impl Drop for ChainProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client for the nodes under test; it trusts the test network's CA (`pki::shared_ca`).
pub fn client() -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(crate::pki::shared_ca().pem().as_bytes()).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// GET → (status, JSON).
pub async fn get(url: &str) -> (u16, Value) {
    let response = client().get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// POST a JSON body to the extrinsics endpoint → (status, JSON).
pub async fn submit(chain: &ChainProcess, body: &Value) -> (u16, Value) {
    let response = client()
        .post(chain.api("extrinsics"))
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Runs the `hecaton` CLI against a chain; returns (success, stdout, stderr).
pub fn cli(chain: &ChainProcess, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hecaton"))
        .args(args)
        .env("HECATON_CHAIN", &chain.url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hecaton");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

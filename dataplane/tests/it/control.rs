//! A stand-in control plane for data plane tests: the real socket protocol (shared codec) over a
//! std Unix stream, driven step by step by the test.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use hecaton_shared::socket::{
    encode, BagPlacement, Change, FrameDecoder, FromDataPlane, Globals, HeldObject,
    ObjectPlacement, Report, Role, StoredObject, ToDataPlane, PROTOCOL_VERSION,
};
use hecaton_shared::{ContentId, DataObjectId, StorageBucketId};

pub struct FakeControl {
    stream: UnixStream,
    decoder: FrameDecoder,
    pub welcome: FromDataPlane,
}

impl FakeControl {
    /// Connects (retrying while the socket appears) and shakes hands.
    pub fn connect(socket: &Path) -> FakeControl {
        Self::connect_as(socket, Role::Storage)
    }

    /// Connects as a control plane of `role`.
    pub fn connect_as(socket: &Path, role: Role) -> FakeControl {
        let mut hello = Vec::new();
        encode(
            &ToDataPlane::Hello {
                version: PROTOCOL_VERSION,
                role,
            },
            &mut hello,
        );
        Self::connect_with(socket, &hello)
    }

    /// Connects and sends `hello` (whole frames) as the first bytes.
    pub fn connect_with(socket: &Path, hello: &[u8]) -> FakeControl {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match UnixStream::connect(socket) {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => panic!("control socket: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut c = FakeControl {
            stream,
            decoder: FrameDecoder::new(),
            welcome: FromDataPlane::Applied { block: 0 },
        };
        // A refused connection may be closed before the hello is written; its answer is read
        // all the same.
        let _ = c.stream.write_all(hello);
        c.welcome = c.recv();
        c
    }

    pub fn send(&mut self, m: &ToDataPlane) {
        let mut out = Vec::new();
        encode(m, &mut out);
        self.stream.write_all(&out).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn recv(&mut self) -> FromDataPlane {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(m) = self.decoder.decode().unwrap() {
                return m;
            }
            let n = self
                .stream
                .read(&mut buf)
                .expect("a message from the data plane");
            assert!(n > 0, "data plane closed the session");
            self.decoder.extend(&buf[..n]);
        }
    }

    /// Whether the data plane closed the session.
    pub fn closed(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            }
        }
    }

    /// Waits for `Applied { block }`, skipping reports.
    pub fn applied(&mut self, block: u64) {
        loop {
            match self.recv() {
                FromDataPlane::Applied { block: b } if b == block => return,
                FromDataPlane::Report(_) => {}
                other => panic!("expected Applied({block}), got {other:?}"),
            }
        }
    }

    /// The next `Stored` report's ids, skipping other messages.
    pub fn stored(&mut self) -> Vec<DataObjectId> {
        self.stored_objects().iter().map(|o| o.id).collect()
    }

    /// The next `Stored` report, skipping other messages.
    pub fn stored_objects(&mut self) -> Vec<StoredObject> {
        loop {
            if let FromDataPlane::Report(Report::Stored { objects }) = self.recv() {
                return objects;
            }
        }
    }

    /// The inventory reported after a snapshot: every object held, with its bag.
    pub fn inventory(&mut self) -> Vec<HeldObject> {
        let mut all = Vec::new();
        loop {
            if let FromDataPlane::Report(Report::Inventory { objects, last }) = self.recv() {
                all.extend(objects);
                if last {
                    return all;
                }
            }
        }
    }

    pub fn snapshot(&mut self, block: u64, globals: Globals, bags: Vec<BagPlacement>) {
        self.send(&ToDataPlane::SnapshotBegin {
            block,
            globals,
            existing: None,
        });
        self.send(&ToDataPlane::SnapshotBags { block, bags });
        self.send(&ToDataPlane::SnapshotEnd { block });
        self.applied(block);
    }

    /// A snapshot in which bucket 0 (accepting uploads) stores `bag` with `objects`.
    pub fn place_bag(&mut self, block: u64, bag: &str, objects: Vec<ObjectPlacement>) {
        self.snapshot(
            block,
            Globals {
                buckets: buckets(&[0]),
                ..Globals::default()
            },
            vec![BagPlacement {
                bag: bag.parse().unwrap(),
                buckets: buckets(&[0]),
                peers: vec![],
                objects,
            }],
        );
    }

    pub fn delta(&mut self, block: u64, changes: Vec<Change>) {
        self.send(&ToDataPlane::Delta { block, changes });
    }
}

pub fn object(id: u64, bytes: &[u8]) -> ObjectPlacement {
    ObjectPlacement {
        id: DataObjectId(id),
        size: bytes.len() as u64,
        content_id: ContentId::of(bytes).to_string(),
        accepted: false,
    }
}

pub fn buckets(ids: &[u64]) -> Vec<StorageBucketId> {
    ids.iter().copied().map(StorageBucketId).collect()
}

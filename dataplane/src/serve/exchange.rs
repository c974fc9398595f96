//! One request being answered: the request, its connection, the shard and the response head
//! travel together from the connection loop through a router to the route that answers.

use std::io;

use crate::http::request::{Method, Request};
use crate::http::response::{error_body, ResponseHead};
use crate::serve::reaper::Slot;
use crate::serve::respond;
use crate::serve::shard::Shard;
use crate::tls::Stream;

/// Bytes read past the request head (the start of a body, or pipelined requests), and the
/// connection's deadline slot, for routes that read a body.
#[derive(Debug)]
pub struct Pending<'a> {
    /// The connection's read buffer.
    pub buf: &'a mut Vec<u8>,
    /// How much of it holds unread bytes.
    pub filled: &'a mut usize,
    /// The connection's deadlines.
    pub slot: &'a Slot,
}

/// A request and everything needed to answer it.
#[derive(Debug)]
pub struct Exchange<'a> {
    /// The client's connection.
    pub stream: &'a mut Stream,
    /// The request.
    pub req: &'a Request,
    /// The shard serving it.
    pub shard: &'a Shard,
    /// The response head, reused across the connection's requests; the connection loop reads
    /// its status and length afterwards for metrics and the access log.
    pub head: &'a mut ResponseHead,
    /// Bytes read past the head.
    pub pending: Pending<'a>,
    /// Whether the connection may stay open after this answer: the client asked for it, the
    /// shard is not draining, and the request has no body (a body a route does not read would
    /// be taken for the next request; routes that read it whole set this again).
    pub keep: bool,
}

impl<'a> Exchange<'a> {
    /// The path after `/api/v1/`, without a trailing slash; `None` outside the API.
    pub fn api_path(&self) -> Option<&'a str> {
        let req = self.req;
        let path = req
            .path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(&req.path);
        path.strip_prefix("/api/v1/")
    }

    /// A GET or a HEAD.
    pub fn readable(&self) -> bool {
        matches!(self.req.method, Method::Get | Method::Head)
    }

    /// A HEAD request: the same head as GET, no body.
    pub fn head_only(&self) -> bool {
        self.req.method == Method::Head
    }

    /// Answers with a JSON body; `Ok(true)` when the connection stays open.
    pub async fn json(&mut self, status: u16, body: &[u8]) -> io::Result<bool> {
        self.json_with(status, &[], body).await
    }

    /// A JSON response of `len` bytes written a piece at a time: `piece` appends the next one
    /// and returns false after the last.
    pub async fn json_streamed(
        &mut self,
        status: u16,
        len: u64,
        piece: impl FnMut(&mut Vec<u8>) -> bool,
    ) -> io::Result<bool> {
        let head_only = self.head_only();
        respond::send_json_streamed(
            self.stream,
            self.head,
            status,
            len,
            piece,
            self.keep,
            self.req.http10,
            head_only,
        )
        .await
    }

    /// [`Exchange::json`] with extra header lines.
    pub async fn json_with(
        &mut self,
        status: u16,
        extra: &[(&str, &[u8])],
        body: &[u8],
    ) -> io::Result<bool> {
        let head_only = self.head_only();
        respond::send_json_with(
            self.stream,
            self.head,
            status,
            extra,
            body,
            self.keep,
            self.req.http10,
            head_only,
        )
        .await
    }

    /// Answers with a body of any type.
    pub async fn body(&mut self, status: u16, typed: respond::Typed<'_>) -> io::Result<bool> {
        let head_only = self.head_only();
        respond::send_body_with(
            self.stream,
            self.head,
            status,
            typed,
            self.keep,
            self.req.http10,
            head_only,
        )
        .await
    }

    /// 404 in Colossus's error shape.
    pub async fn not_found(&mut self) -> io::Result<bool> {
        let body = error_body("request_exception", "not found");
        self.json(404, &body).await
    }

    /// 405 with the methods the path takes.
    pub async fn not_allowed(&mut self, allow: &[u8]) -> io::Result<bool> {
        let body = error_body(
            "request_exception",
            &format!("{} method not allowed", self.req.method.as_str()),
        );
        self.json_with(405, &[("Allow", allow)], &body).await
    }

    /// The CORS preflight.
    pub async fn preflight(&mut self) -> io::Result<bool> {
        respond::preflight(self.stream, self.req, self.head, self.keep).await
    }
}

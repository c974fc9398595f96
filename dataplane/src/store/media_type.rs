//! Media type sniffing from magic bytes, for `Content-Type`.
//!
//! Colossus answers with what the `file-type` 16.5.3 package sniffs from the first 4100 bytes,
//! falling back to `application/octet-stream`, and clients (the network tests assert
//! `image/bmp`) see those exact strings. General-purpose sniffing crates disagree with it at the
//! edges (ISO-BMFF brands, EBML doc types, Ogg codecs), so this is a small table that follows
//! `file-type`'s decisions for the formats the network carries. The result is computed once, at
//! publish time, and stored in the index as a one-byte code.

/// Bytes the sniffer looks at.
pub const SNIFF_LEN: usize = 4100;

macro_rules! media_types {
    ($($variant:ident = $code:literal => $mime:literal,)*) => {
        /// A sniffed media type. The discriminant is the code stored in the index: never renumber.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum MediaType {
            $(
                #[doc = $mime]
                $variant = $code,
            )*
        }

        impl MediaType {
            /// The `Content-Type` value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(MediaType::$variant => $mime,)*
                }
            }

            /// The type for an index code; unknown codes (from a newer version) fall back to
            /// octet-stream rather than failing the record.
            pub fn from_code(code: u8) -> Self {
                match code {
                    $($code => MediaType::$variant,)*
                    _ => MediaType::OctetStream,
                }
            }
        }
    };
}

media_types! {
    OctetStream = 0 => "application/octet-stream",
    Mp4 = 1 => "video/mp4",
    QuickTime = 2 => "video/quicktime",
    M4v = 3 => "video/x-m4v",
    M4a = 4 => "audio/x-m4a",
    AudioMp4 = 5 => "audio/mp4",
    ThreeGpp = 6 => "video/3gpp",
    ThreeGpp2 = 7 => "video/3gpp2",
    Avif = 8 => "image/avif",
    Heic = 9 => "image/heic",
    HeicSequence = 10 => "image/heic-sequence",
    Heif = 11 => "image/heif",
    HeifSequence = 12 => "image/heif-sequence",
    Webm = 13 => "video/webm",
    Matroska = 14 => "video/x-matroska",
    Mpeg = 15 => "audio/mpeg",
    Aac = 16 => "audio/aac",
    Opus = 17 => "audio/opus",
    OggVideo = 18 => "video/ogg",
    OggAudio = 19 => "audio/ogg",
    Ogg = 20 => "application/ogg",
    Flac = 21 => "audio/x-flac",
    Wav = 22 => "audio/vnd.wave",
    Avi = 23 => "video/vnd.avi",
    Jpeg = 24 => "image/jpeg",
    Png = 25 => "image/png",
    Gif = 26 => "image/gif",
    Webp = 27 => "image/webp",
    Bmp = 28 => "image/bmp",
    Pdf = 29 => "application/pdf",
    Ico = 30 => "image/x-icon",
    Vtt = 31 => "text/vtt",
    Text = 32 => "text/plain",
}

/// Sniffs the media type from the first bytes of an object (up to [`SNIFF_LEN`]).
pub fn sniff(b: &[u8]) -> MediaType {
    let at = |offset: usize, sig: &[u8]| {
        b.len() >= offset + sig.len() && &b[offset..offset + sig.len()] == sig
    };
    if at(0, &[0xFF, 0xD8, 0xFF]) {
        return MediaType::Jpeg;
    }
    if at(0, &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return MediaType::Png;
    }
    if at(0, b"GIF") {
        return MediaType::Gif;
    }
    if at(0, b"RIFF") {
        if at(8, b"WEBP") {
            return MediaType::Webp;
        }
        if at(8, b"WAVE") {
            return MediaType::Wav;
        }
        if at(8, b"AVI") {
            return MediaType::Avi;
        }
    }
    if at(4, b"ftyp") && b.len() >= 12 && (b[8] & 0x60) != 0 {
        return iso_bmff_brand(&b[8..12]);
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return ebml_doc_type(b);
    }
    if at(0, b"OggS") {
        return ogg_codec(b);
    }
    if at(0, b"fLaC") {
        return MediaType::Flac;
    }
    if at(0, b"%PDF") {
        return MediaType::Pdf;
    }
    if at(0, b"ID3") {
        return MediaType::Mpeg;
    }
    if b.len() >= 2 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0 {
        // MPEG audio frame sync: layer bits 00 are ADTS (AAC), anything else MPEG audio.
        return if (b[1] & 0x06) == 0 {
            MediaType::Aac
        } else {
            MediaType::Mpeg
        };
    }
    if at(0, b"BM") {
        return MediaType::Bmp;
    }
    if at(0, &[0x00, 0x00, 0x01, 0x00]) {
        return MediaType::Ico;
    }
    text(b).unwrap_or(MediaType::OctetStream)
}

/// Subtitles and other text assets, which Argus serves with the type their video's metadata
/// gives (`text/vtt`, `text/plain`; the network tests expect `text/plain` for a subtitle):
/// WebVTT by its signature, other UTF-8 text without control bytes (SRT among them) as plain
/// text. Markup (a first byte `<`: HTML, SVG, XML) stays octet-stream, as Colossus answers it,
/// so that no browser is handed a document to render.
fn text(b: &[u8]) -> Option<MediaType> {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let sample = &b[..b.len().min(SNIFF_LEN)];
    if sample.is_empty() || sample[0] == b'<' {
        return None;
    }
    // The sample may end inside a character: up to three bytes of it are forgiven.
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && sample.len() - e.valid_up_to() < 4,
    };
    let control = |c: &u8| *c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0C);
    if !valid || sample.iter().any(control) || sample.contains(&0x7F) {
        return None;
    }
    let vtt = sample.starts_with(b"WEBVTT")
        && sample
            .get(6)
            .is_none_or(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'));
    Some(if vtt { MediaType::Vtt } else { MediaType::Text })
}

fn iso_bmff_brand(raw: &[u8]) -> MediaType {
    let brand: String = raw
        .iter()
        .map(|&c| if c == 0 { ' ' } else { c as char })
        .collect();
    match brand.trim() {
        "avif" | "avis" => MediaType::Avif,
        "mif1" => MediaType::Heif,
        "msf1" => MediaType::HeifSequence,
        "heic" | "heix" => MediaType::Heic,
        "hevc" | "hevx" => MediaType::HeicSequence,
        "qt" => MediaType::QuickTime,
        "M4V" | "M4VH" | "M4VP" => MediaType::M4v,
        "M4A" => MediaType::M4a,
        "M4B" | "F4A" | "F4B" => MediaType::AudioMp4,
        b if b.starts_with("3g2") => MediaType::ThreeGpp2,
        b if b.starts_with("3g") => MediaType::ThreeGpp,
        _ => MediaType::Mp4,
    }
}

fn ebml_doc_type(b: &[u8]) -> MediaType {
    // The DocType element (id 0x4282) sits in the EBML header; its size is a 1-byte vint here
    // in every file muxers write.
    let window = &b[..b.len().min(SNIFF_LEN)];
    if let Some(pos) = window.windows(2).position(|w| w == [0x42, 0x82]) {
        let size_pos = pos + 2;
        if let Some(&size) = window.get(size_pos) {
            if size & 0x80 != 0 {
                let len = (size & 0x7F) as usize;
                if let Some(doc) = window.get(size_pos + 1..size_pos + 1 + len) {
                    let doc: Vec<u8> = doc.iter().copied().filter(|&c| c != 0).collect();
                    match doc.as_slice() {
                        b"webm" => return MediaType::Webm,
                        b"matroska" => return MediaType::Matroska,
                        _ => {}
                    }
                }
            }
        }
    }
    MediaType::OctetStream
}

fn ogg_codec(b: &[u8]) -> MediaType {
    let at = |sig: &[u8]| b.len() >= 28 + sig.len() && &b[28..28 + sig.len()] == sig;
    if at(b"OpusHead") {
        MediaType::Opus
    } else if at(b"\x80theora") || at(b"\x01video\0") {
        MediaType::OggVideo
    } else if at(b"\x7fFLAC") || at(b"Speex  ") || at(b"\x01vorbis") {
        MediaType::OggAudio
    } else {
        MediaType::Ogg
    }
}

/// The media type to pass on from a peer: audio, video and raster images as the peer named
/// them (Colossus sniffs them from the bytes), subtitles and plain text; anything else
/// (markup, scripts, SVG, parameters with quotes or controls) becomes octet-stream.
pub fn safe_media_type(peer: Option<&str>) -> &str {
    const FALLBACK: &str = "application/octet-stream";
    let Some(t) = peer else { return FALLBACK };
    let essence = t
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let tidy = t
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/+-.;= ".contains(&b));
    let media = essence.starts_with("video/")
        || essence.starts_with("audio/")
        || (essence.starts_with("image/") && !essence.contains("svg"))
        || matches!(
            essence.as_str(),
            "application/octet-stream" | "text/vtt" | "text/plain" | "application/x-subrip"
        );
    if tidy && media && t.len() <= 100 {
        t
    } else {
        FALLBACK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_player_media_types_pass() {
        for kept in [
            "video/mp4",
            "audio/ogg; codecs=opus",
            "image/webp",
            "text/vtt",
        ] {
            assert_eq!(safe_media_type(Some(kept)), kept);
        }
        for dropped in [
            "text/html",
            "application/javascript",
            "image/svg+xml",
            "video/mp4\r\nSet-Cookie: a=b",
            "video/mp4; x=\"<script>\"",
        ] {
            assert_eq!(safe_media_type(Some(dropped)), "application/octet-stream");
        }
        assert_eq!(safe_media_type(None), "application/octet-stream");
    }

    fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x18];
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(brand);
        v.extend_from_slice(&[0; 12]);
        v
    }

    fn ebml(doc: &[u8]) -> Vec<u8> {
        let mut v = vec![
            0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82,
        ];
        v.push(0x80 | doc.len() as u8);
        v.extend_from_slice(doc);
        v
    }

    fn ogg(codec: &[u8]) -> Vec<u8> {
        let mut v = b"OggS".to_vec();
        v.resize(28, 0);
        v.extend_from_slice(codec);
        v
    }

    #[test]
    fn text_cut_inside_a_character_by_the_sniff_window_is_still_text() {
        let mut long = "é".repeat(SNIFF_LEN).into_bytes();
        assert_eq!(sniff(&long[..SNIFF_LEN + 1]).as_str(), "text/plain");
        long.truncate(SNIFF_LEN - 1);
        assert_eq!(sniff(&long).as_str(), "text/plain");
    }

    #[test]
    fn the_formats_the_network_carries() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (ftyp(b"isom"), "video/mp4"),
            (ftyp(b"mp42"), "video/mp4"),
            (ftyp(b"qt  "), "video/quicktime"),
            (ftyp(b"M4V "), "video/x-m4v"),
            (ftyp(b"M4A "), "audio/x-m4a"),
            (ftyp(b"3gp5"), "video/3gpp"),
            (ftyp(b"avif"), "image/avif"),
            (ftyp(b"heic"), "image/heic"),
            (ebml(b"webm"), "video/webm"),
            (ebml(b"matroska"), "video/x-matroska"),
            (b"ID3\x04\x00".to_vec(), "audio/mpeg"),
            (vec![0xFF, 0xFB, 0x90, 0x00], "audio/mpeg"),
            (vec![0xFF, 0xF1, 0x50, 0x80], "audio/aac"),
            (ogg(b"OpusHead"), "audio/opus"),
            (ogg(b"\x01vorbis"), "audio/ogg"),
            (ogg(b"\x80theora"), "video/ogg"),
            (ogg(b"????"), "application/ogg"),
            (vec![0xFF, 0xD8, 0xFF, 0xE0], "image/jpeg"),
            (b"\x89PNG\r\n\x1a\n\0\0".to_vec(), "image/png"),
            (b"GIF89a".to_vec(), "image/gif"),
            (b"RIFF\0\0\0\0WEBPVP8 ".to_vec(), "image/webp"),
            (b"RIFF\0\0\0\0WAVEfmt ".to_vec(), "audio/vnd.wave"),
            (b"BM\x36\x00\x0c\x00".to_vec(), "image/bmp"),
            (b"%PDF-1.7".to_vec(), "application/pdf"),
            (b"fLaC\0".to_vec(), "audio/x-flac"),
            (b"<svg xmlns=".to_vec(), "application/octet-stream"),
            (
                b"WEBVTT\n\n00:01.000 --> 00:04.000\nHello".to_vec(),
                "text/vtt",
            ),
            (b"\xEF\xBB\xBFWEBVTT - a title\n".to_vec(), "text/vtt"),
            (
                b"1\n00:00:01,000 --> 00:00:04,000\nHello\n".to_vec(),
                "text/plain",
            ),
            ("Grüße, une légende".as_bytes().to_vec(), "text/plain"),
            (b"WEBVTTX".to_vec(), "text/plain"),
            (b"text\0with a NUL".to_vec(), "application/octet-stream"),
            (
                b"\xC3\x28 invalid UTF-8".to_vec(),
                "application/octet-stream",
            ),
            (Vec::new(), "application/octet-stream"),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                sniff(&bytes).as_str(),
                want,
                "{:02x?}",
                &bytes[..bytes.len().min(12)]
            );
        }
    }

    #[test]
    fn a_brand_starting_with_a_non_letter_is_not_iso_bmff() {
        // file-type requires bit 0x60 set in the brand's first byte.
        assert_eq!(
            sniff(&ftyp(&[0x01, b'a', b'b', b'c'])),
            MediaType::OctetStream
        );
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_fall_back() {
        for code in 0..=30u8 {
            assert_eq!(MediaType::from_code(code) as u8, code);
        }
        assert_eq!(MediaType::from_code(200), MediaType::OctetStream);
    }
}
